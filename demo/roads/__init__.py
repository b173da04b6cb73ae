"""The digital road map: road segments, bridges and road works on the real relief.

Trunk roads run between the real towns, passes and border posts along least-cost paths over
the GEBCO elevation model (see `roads_paths` and `roads_routes`); local roads join every
GeoNames settlement (and, at national scale, synthetic villages in the valleys) to the
network; Bishkek and Osh get a street grid. Roads are cut into segments of 0.3-2 km so the
layer reaches the scale's count, and their attributes follow class, altitude and traffic
(`roads_attributes`). Bridges are the crossings with the streams derived from the DEM;
works are runs of segments dated around 2026-06-30.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from demo.context import UTM_43N, Context
from demo.roads.attributes import (
    admin_names,
    choose_surface,
    choose_width,
    condition_from_iri,
    population_pull,
    roughness,
    survey_dates,
    traffic,
)
from demo.roads.bridges import find_bridges
from demo.roads.local import (
    add_local_roads,
    add_village_links,
    settlement_places,
    synthetic_villages,
)
from demo.roads.network import (
    MIN_SEGMENT_M,
    Network,
    add_trunk_roads,
    piece_lines,
    piece_positions,
    segment_count,
    split_lines,
)
from demo.roads.paths import road_cost_surface
from demo.roads.routes import OBLAST_CODES
from demo.roads.urban import urban_streets
from demo.roads.works import apply_completed_works, plan_works

VILLAGES = {"small": 150, "national": 2500}
STREET_SPACING_M = {"small": 650.0, "national": 340.0}
WORKS_PER_FACTOR = 250
CHAINAGE_STEP = 100_000
"""Segments of one piece (stretch) between two route positions: fewer than this."""
ROAD_FIELDS = [
    "road_number",
    "name",
    "road_class",
    "surface",
    "width_m",
    "lanes",
    "iri_m_per_km",
    "condition",
    "aadt",
    "last_survey",
    "oblast",
    "rayon",
    "length_km",
]
BRIDGE_FIELDS = [
    "bridge_code",
    "road_id",
    "road_number",
    "river_name",
    "length_m",
    "width_m",
    "material",
    "year_built",
    "condition",
    "load_limit_t",
    "last_inspection",
]
WORK_FIELDS = [
    "road_id",
    "road_number",
    "work_type",
    "start_date",
    "end_date",
    "contractor",
    "budget_kgs",
    "status",
    "acceptance_date",
    "acceptance_iri_m_per_km",
    "length_km",
]


def build_network(ctx: Context, rng: np.random.Generator) -> Network:
    """Trunk roads, then local roads to the settlements and villages, then village links."""
    surface = road_cost_surface(ctx)
    network = Network(surface)
    add_trunk_roads(network)
    places = settlement_places(ctx)
    add_local_roads(network, places)
    villages = synthetic_villages(ctx, surface, places, VILLAGES[ctx.scale.name], rng)
    add_local_roads(network, villages)
    add_village_links(network, pd.concat([places, villages], ignore_index=True), ctx.dem[0])
    return network


def number_local_roads(network: Network, owners: set[int]) -> list[str]:
    """Road numbers: the register's for trunk roads; ЭЛ-<oblast>-<nnn> for the local roads
    that own a stretch, numbered per oblast in the order they were built."""
    counters: dict[str, int] = {}
    numbers = []
    for index, road in enumerate(network.roads):
        if road.number or index not in owners:
            numbers.append(road.number)
            continue
        code = OBLAST_CODES[road.oblast]
        counters[code] = counters.get(code, 0) + 1
        numbers.append(f"ЭЛ-{code}-{counters[code]:03d}")
    return numbers


def segment_target_m(lengths_m: np.ndarray, count: int) -> float:
    """The segment length at which lines of `lengths_m` give about `count` segments."""
    target = float(np.clip(lengths_m.sum() / max(count, 1), MIN_SEGMENT_M, 2000.0))
    for _ in range(6):
        made = sum(segment_count(float(length), target) for length in lengths_m)
        if made >= count or target <= MIN_SEGMENT_M:
            break
        target = max(MIN_SEGMENT_M, target * made / count * 0.98)
    return target


def rural_segments(ctx: Context, count: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Segments (UTM 43N) of the rural network: `road_number`, `name`, `road_class`,
    `stretch` (the piece between junctions it was cut from)."""
    network = build_network(ctx, rng)
    pieces = network.pieces()
    lines = piece_lines(network, pieces)
    numbers = number_local_roads(network, {road for road, _ in pieces})
    lengths = np.array([line.length for line in lines])
    segments, origin = split_lines(lines, segment_target_m(lengths, count), rng)
    road = np.array([pieces[i][0] for i in origin])
    position, backwards = piece_positions(network, pieces)
    within = pd.Series(origin).groupby(origin).cumcount().to_numpy()
    size = np.bincount(origin, minlength=len(pieces))[origin]
    against = backwards[origin]
    within = np.where(against, size - 1 - within, within)
    segments = np.where(against, shapely.reverse(segments), segments)  # run with the chainage
    return gpd.GeoDataFrame(
        {
            "road_number": [numbers[r] for r in road],
            "name": [network.roads[r].name for r in road],
            "road_class": [network.roads[r].road_class for r in road],
            "stretch": origin,
            "main": False,
            "centre_km": 0.0,
            "along": position[origin] * CHAINAGE_STEP + within,
        },
        geometry=list(segments),
        crs=UTM_43N,
    )


def chainage_km(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Each segment's km_start: the length (metres, UTM 43N) of the segments of its road
    number that come before it in `along` order, in km rounded to the metre.

    >>> lines = [shapely.LineString([(0, 0), (0, d)]) for d in (500, 1500, 700)]
    >>> frame = gpd.GeoDataFrame({"road_number": ["A", "A", "B"], "along": [1, 0, 0]},
    ...                          geometry=lines)
    >>> chainage_km(frame).tolist()
    [1.5, 0.0, 0.0]
    """
    parts = pd.DataFrame(
        {"number": frame["road_number"].to_numpy(), "along": frame["along"].to_numpy()}
    )
    parts["metres"] = frame.geometry.length.to_numpy()
    ordered = parts.sort_values(["number", "along"], kind="stable")
    before = ordered.groupby("number", sort=False)["metres"].cumsum() - ordered["metres"]
    return np.round(before.reindex(parts.index).to_numpy() / 1000.0, 3)


def stretch_attributes(
    frame: gpd.GeoDataFrame, elevation: np.ndarray, pull: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Surface, width, lanes and roughness deviation of every stretch (index: `stretch`)."""
    stretch = frame.groupby("stretch", sort=True).agg(
        road_class=("road_class", "first"), main=("main", "first"), centre_km=("centre_km", "mean")
    )
    stretch["elevation"] = pd.Series(elevation).groupby(frame["stretch"]).mean()
    stretch["pull"] = pd.Series(pull).groupby(frame["stretch"]).max()
    near_city = (stretch["road_class"] == "international") & (stretch["pull"] > 250)
    cls, main = stretch["road_class"].to_numpy(), stretch["main"].to_numpy()
    stretch["surface"] = choose_surface(
        cls, stretch["elevation"].to_numpy(), main, stretch["centre_km"].to_numpy(), rng
    )
    stretch["width_m"], stretch["lanes"] = choose_width(
        cls, stretch["surface"].to_numpy(), main, near_city.to_numpy(), rng
    )
    stretch["effect"] = rng.lognormal(0.0, 0.35, len(stretch))
    return stretch


def with_attributes(
    ctx: Context, segments: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """The declared attributes of every segment (stretch attributes shared along it)."""
    frame = segments.reset_index(drop=True)
    middle = frame.geometry.interpolate(0.5, normalized=True)
    lonlat = middle.to_crs(4326)
    elevation = np.nan_to_num(
        ctx.elevation_at(lonlat.x.to_numpy(), lonlat.y.to_numpy()), nan=1000.0
    )
    pull = population_pull(ctx, middle)
    shared = stretch_attributes(frame, elevation, pull, rng).loc[frame["stretch"]]
    for column in ("surface", "width_m", "lanes"):
        frame[column] = shared[column].to_numpy()
    surface, road_class = frame["surface"].to_numpy(), frame["road_class"].to_numpy()
    frame["iri_m_per_km"] = roughness(
        surface, road_class, elevation, shared["effect"].to_numpy(), rng
    )
    frame["condition"] = condition_from_iri(frame["iri_m_per_km"].to_numpy(), surface)
    frame["aadt"] = traffic(road_class, pull, frame["main"].to_numpy(), rng)
    per_road = pd.Series(survey_dates(road_class, rng))
    frame["last_survey"] = per_road.groupby(frame["road_number"]).transform("first").to_numpy()
    frame["oblast"], frame["rayon"] = admin_names(ctx, middle)
    urban = road_class == "urban"  # Bishkek and Osh are cities of republican significance
    frame.loc[urban, "oblast"] = frame.loc[urban, "city_oblast"]
    frame.loc[urban, "rayon"] = None
    frame["length_km"] = np.round(frame.length.to_numpy() / 1000.0, 3)
    return frame


def _no_osm_ids(count: int) -> pd.arrays.IntegerArray:
    """The `osm_id` of generated roads: none (the column is filled by `import-osm`)."""
    return pd.array([pd.NA] * count, dtype="Int64")


def generate(ctx: Context) -> dict[str, pd.DataFrame]:
    """The `roads`, `bridges` and `road_works` layers (EPSG:4326)."""
    rng = ctx.rng("roads")
    streets = urban_streets(ctx, STREET_SPACING_M[ctx.scale.name], rng)
    streets["road_number"], streets["road_class"] = streets["number"], "urban"
    streets["city_oblast"] = streets["oblast"]
    streets["stretch"] = pd.factorize(streets["number"])[0] + 10_000_000
    streets["along"] = streets.groupby("number").cumcount()  # blocks in order along a street
    rural = rural_segments(ctx, ctx.scale.road_segments - len(streets), rng)
    rural["city_oblast"] = None
    columns = [
        "road_number",
        "name",
        "road_class",
        "stretch",
        "main",
        "centre_km",
        "city_oblast",
        "along",
        "geometry",
    ]
    segments = gpd.GeoDataFrame(
        pd.concat([rural[columns], streets[columns]], ignore_index=True), crs=UTM_43N
    )
    roads = with_attributes(ctx, segments, rng)
    roads["km_start"] = chainage_km(roads)
    roads.insert(0, "id", np.arange(1, len(roads) + 1))
    count = int(round(WORKS_PER_FACTOR * ctx.scale.factor))
    works = plan_works(roads, count, rng)
    apply_completed_works(roads, works, rng)
    works.insert(0, "id", np.arange(1, len(works) + 1))
    bridges = find_bridges(ctx, roads, rng)
    bridges.insert(0, "id", np.arange(1, len(bridges) + 1))
    return {
        "roads": roads.assign(osm_id=_no_osm_ids(len(roads)))[
            ["id", *ROAD_FIELDS, "osm_id", "km_start", "geometry"]
        ].to_crs(4326),
        "bridges": bridges[["id", *BRIDGE_FIELDS, "geometry"]].to_crs(4326),
        "road_works": works[["id", *WORK_FIELDS, "geometry"]].to_crs(4326),
    }
