"""The street plan of the city twins: Bishkek and Osh laid out as arterial grids, superblocks,
local streets and street blocks, in a local metric frame aligned with each city's grid.

Work happens in a per-city "grid frame": metres, origin at the city centre, `u` towards the
east and `v` towards the north, streets along the axes. The frame is UTM 43N turned by the
meridian convergence (and by the city's own street bearing), so Bishkek's streets run truly
north-south and east-west, as the real ones nearly do. `CityPlan.utm` maps grid-frame
geometry to UTM 43N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from demo.city.names import (
    CityNames,
    StreetNamer,
    city_names,
)
from demo.context import UTM_43N, Context

ZONES = ("centre", "micro", "newbuild", "private", "industrial", "campus")
"""Superblock zones: historic centre, Soviet microdistricts (микрорайоны), new high-rise
quarters, private houses (частный сектор), industrial zones, institutional campuses."""

BLOCK_KINDS = ("courtyard", "micro", "highrise", "private", "industrial", "campus", "park")
"""Street blocks: perimeter blocks, microdistrict yards, high-rise quarters, house lots,
plants, institutions, parks (left unbuilt)."""


@dataclass(frozen=True)
class CitySpec:
    """What differs between the two cities."""

    name: str
    centre_lonlat: tuple[float, float]
    street_bearing_deg: float
    """Rotation of the street grid from true north, anticlockwise."""
    arterial_spacing_m: tuple[float, float]
    arterial_width_m: float
    radius_m: float | None
    """Osh: the city polygon is the urban area within this radius of the centre."""
    district_seeds: dict[str, list[tuple[float, float]]]
    """Per district (English key of `city_names`), seed points (lon, lat) of its sectors."""
    exclusions: tuple[tuple[float, float, float, float, float], ...] = ()
    """Unbuilt areas inside the city: ellipses (lon, lat, semi-axis u m, semi-axis v m,
    rotation deg)."""


SPECS: tuple[CitySpec, ...] = (
    CitySpec(
        name="Bishkek",
        centre_lonlat=(74.6037, 42.8765),  # Ala-Too square
        street_bearing_deg=0.0,
        arterial_spacing_m=(650.0, 1050.0),
        arterial_width_m=36.0,
        radius_m=None,
        district_seeds={
            "Lenin": [(74.545, 42.865), (74.520, 42.840), (74.560, 42.825), (74.585, 42.800)],
            "Oktyabr": [(74.625, 42.840), (74.660, 42.825), (74.690, 42.845), (74.620, 42.805)],
            "Sverdlov": [(74.650, 42.885), (74.690, 42.880), (74.645, 42.915), (74.700, 42.905)],
            "Birinchi Mai": [
                (74.598, 42.872),
                (74.590, 42.900),
                (74.585, 42.930),
                (74.610, 42.950),
                (74.560, 42.960),
            ],
        },
    ),
    CitySpec(
        name="Osh",
        centre_lonlat=(72.7985, 40.5283),  # GeoNames Osh
        street_bearing_deg=-8.0,
        arterial_spacing_m=(600.0, 950.0),
        arterial_width_m=30.0,
        radius_m=8_000.0,
        district_seeds={
            "Central": [(72.800, 40.530)],
            "Amir-Timur": [(72.790, 40.575), (72.830, 40.585), (72.760, 40.565)],
            "Kyzyl-Kyshtak": [(72.845, 40.535), (72.860, 40.560), (72.850, 40.505)],
            "Ak-Buura": [(72.805, 40.485), (72.780, 40.470), (72.830, 40.475)],
            "Japalak": [(72.750, 40.525), (72.745, 40.500), (72.760, 40.545)],
        },
        exclusions=((72.7830, 40.5305, 850.0, 280.0, 8.0),),  # Sulaiman-Too
    ),
)

LOCAL_WIDTH_M = {
    "centre": 20.0,
    "micro": 22.0,
    "newbuild": 20.0,
    "private": 12.0,
    "industrial": 18.0,
    "campus": 20.0,
}
"""Width of the local streets (carriageway, sidewalks, aryks) in a superblock of each zone."""

LOCAL_SPACING_M = {  # (between north-south streets, between east-west streets)
    "centre": (230.0, 180.0),
    "micro": (520.0, 480.0),
    "newbuild": (240.0, 200.0),
    "private": (280.0, 82.0),
    "industrial": (420.0, 320.0),
    "campus": (300.0, 260.0),
}


@dataclass(frozen=True)
class CityPlan:
    """One city's plan. Geometries in the grid frame (metres) unless named `_utm`."""

    spec: CitySpec
    names: CityNames
    to_utm: tuple[float, float, float, float, float, float]
    """shapely affine matrix [a, b, d, e, xoff, yoff]: grid frame -> UTM 43N."""
    area: BaseGeometry
    """The city polygon."""
    buildable: BaseGeometry
    """The city polygon without the unbuilt areas (Sulaiman-Too)."""
    superblocks: pd.DataFrame
    """u0, v0, u1, v1 (between arterial centrelines), zone, district."""
    streets: pd.DataFrame
    """street_id, name_ru, kind (arterial/local), width_m, zone, geometry (unclipped line)."""
    blocks: pd.DataFrame
    """superblock, zone, kind, district, u0..v1 (the block inside its streets), street ids
    of its s/n/w/e sides, inside (box wholly in the city), geometry (clipped polygon)."""

    def utm(self, geoms: np.ndarray) -> np.ndarray:
        """Grid-frame geometries in UTM 43N."""
        a, b, d, e, x0, y0 = self.to_utm
        return shapely.transform(
            geoms,
            lambda xy: np.column_stack(
                [a * xy[:, 0] + b * xy[:, 1] + x0, d * xy[:, 0] + e * xy[:, 1] + y0]
            ),
        )

    def grid(self, geoms: np.ndarray) -> np.ndarray:
        """UTM 43N geometries in the grid frame."""
        a, b, d, e, x0, y0 = self.to_utm
        return shapely.transform(
            geoms,
            lambda xy: np.column_stack(
                [
                    a * (xy[:, 0] - x0) + d * (xy[:, 1] - y0),
                    b * (xy[:, 0] - x0) + e * (xy[:, 1] - y0),
                ]
            ),
        )


def grid_frame(
    centre_lonlat: tuple[float, float], bearing_deg: float
) -> tuple[float, float, float, float, float, float]:
    """The affine matrix from a city's grid frame to UTM 43N: origin at the centre, `v`
    pointing to true north turned by `bearing_deg` (anticlockwise)."""
    to_utm = Transformer.from_crs(4326, UTM_43N, always_xy=True)
    lon, lat = centre_lonlat
    x0, y0 = to_utm.transform(lon, lat)
    x1, y1 = to_utm.transform(lon, lat + 0.01)
    alpha = np.arctan2(-(x1 - x0), y1 - y0) + np.radians(bearing_deg)
    cos, sin = float(np.cos(alpha)), float(np.sin(alpha))
    return (cos, -sin, sin, cos, float(x0), float(y0))


def city_area_utm(ctx: Context, spec: CitySpec) -> BaseGeometry:
    """The city polygon in UTM 43N: Bishkek's OSM boundary; for Osh (no open boundary) the
    Natural Earth urban area around Osh within `radius_m` of the centre."""
    country = ctx.to_metric(ctx.country).geometry.union_all()
    if spec.radius_m is None:
        area = ctx.to_metric(ctx.bishkek_boundary).geometry.union_all()
    else:
        to_utm = Transformer.from_crs(4326, UTM_43N, always_xy=True)
        centre = shapely.Point(*to_utm.transform(*spec.centre_lonlat))
        urban = ctx.to_metric(ctx.urban_areas).geometry
        around = urban[urban.intersects(centre.buffer(spec.radius_m))].union_all()
        area = around.intersection(centre.buffer(spec.radius_m, quad_segs=32))
    # 2 m inside the country outline, so that nothing built touches the border.
    return shapely.make_valid(area.intersection(country.buffer(-2.0)))


def _lines(
    low: float, high: float, spacing: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """Arterial positions through 0 covering [low, high], spacing drawn in `spacing`."""
    up, down = [0.0], [0.0]
    while up[-1] < high:
        up.append(up[-1] + rng.uniform(*spacing))
    while down[-1] > low:
        down.append(down[-1] - rng.uniform(*spacing))
    return np.array(sorted(set(down) | set(up)))


def _zone_weights(city: str, du_km: np.ndarray, dv_km: np.ndarray) -> np.ndarray:
    """Relative weight of each zone (columns in `ZONES` order) at superblock centres."""
    d = np.hypot(du_km, dv_km)
    if city == "Bishkek":
        centre = np.where(d < 1.7, 30.0, 0.0)
        micro = np.where((d > 1.2) & (d < 6.5), 1.0, 0.05) * np.where(dv_km < 0.5, 1.6, 0.6)
        new = np.where((dv_km < -1.0) & (d < 7.5), 1.0, 0.005) + np.where(
            (d < 3.5) & (dv_km < 1.0), 0.4, 0.0
        )
        private = np.where(d < 2.5, 0.05, 0.5 + 0.3 * (d - 2.5))
        industrial = np.where(
            (dv_km > 1.5) & (dv_km < 4.5) & (np.abs(du_km) < 6), 1.3, 0.03
        ) + np.where((du_km > 4.5) & (np.abs(dv_km) < 2.0), 0.5, 0.0)
        campus = np.where((d > 1.0) & (d < 4.0), 0.25, 0.0)
    else:
        centre = np.where(d < 1.3, 30.0, 0.0)
        micro = np.where((d > 1.0) & (d < 4.5), 0.9, 0.03)
        new = np.where((d > 0.8) & (d < 3.5) & (dv_km < 0.0), 0.35, 0.005)
        private = np.where(d < 1.5, 0.05, 1.0 + 0.3 * (d - 1.5))
        industrial = np.where((dv_km > 2.5) & (np.abs(du_km) < 5), 0.8, 0.03)
        campus = np.where((d > 0.8) & (d < 3.5), 0.15, 0.0)
    weights = np.column_stack([centre, micro, new, private, industrial, campus]) + 1e-6
    return weights / weights.sum(axis=1, keepdims=True)


def _superblocks(
    plan_area: BaseGeometry,
    spec: CitySpec,
    names: CityNames,
    seeds_grid: dict[str, np.ndarray],
    rng: np.random.Generator,
    namer: StreetNamer,
) -> tuple[pd.DataFrame, list[dict]]:
    """The arterial grid's cells that touch the city, with zone and district, and the
    arterial street segments (one per cell side)."""
    minx, miny, maxx, maxy = plan_area.bounds
    us = _lines(minx - 50, maxx + 50, spec.arterial_spacing_m, rng)
    vs = _lines(miny - 50, maxy + 50, spec.arterial_spacing_m, rng)
    grid_u, grid_v = np.meshgrid(np.arange(len(us) - 1), np.arange(len(vs) - 1), indexing="ij")
    iu, iv = grid_u.ravel(), grid_v.ravel()
    cells = shapely.box(us[iu], vs[iv], us[iu + 1], vs[iv + 1])
    keep = shapely.intersects(cells, plan_area)
    iu, iv = iu[keep], iv[keep]
    frame = pd.DataFrame(
        {"iu": iu, "iv": iv, "u0": us[iu], "v0": vs[iv], "u1": us[iu + 1], "v1": vs[iv + 1]}
    )
    cu, cv = (frame.u0 + frame.u1) / 2, (frame.v0 + frame.v1) / 2
    weights = _zone_weights(spec.name, cu.to_numpy() / 1000, cv.to_numpy() / 1000)
    draws = rng.random(len(frame))
    frame["zone"] = np.array(ZONES)[(weights.cumsum(axis=1) < draws[:, None]).sum(axis=1)]
    districts = list(seeds_grid)
    distance = np.stack(
        [
            np.min(
                np.hypot(
                    cu.to_numpy()[:, None] - s[None, :, 0], cv.to_numpy()[:, None] - s[None, :, 1]
                ),
                axis=1,
            )
            for s in seeds_grid.values()
        ],
        axis=1,
    )
    frame["district"] = np.array(districts)[distance.argmin(axis=1)]
    frame["geometry"] = shapely.box(frame.u0, frame.v0, frame.u1, frame.v1)
    arterials = []
    ns_names, ew_names = names.arterials_ns, names.arterials_ew
    for k, u in enumerate(us):  # west to east
        name = ns_names[k] if k < len(ns_names) else namer.next()
        arterials.append(
            {"name_ru": name, "axis": "u", "pos": u, "low": vs[0], "high": vs[-1], "cuts": vs}
        )
    north_to_south = vs[::-1]
    shift = 0  # the name of the centre's arterial on the line nearest the origin
    if names.centre_ew in ew_names:
        shift = ew_names.index(names.centre_ew) - int(np.argmin(np.abs(north_to_south)))
    for k, v in enumerate(north_to_south):
        name = ew_names[k + shift] if 0 <= k + shift < len(ew_names) else namer.next()
        arterials.append(
            {"name_ru": name, "axis": "v", "pos": v, "low": us[0], "high": us[-1], "cuts": us}
        )
    return frame.reset_index(drop=True), arterials


def _local_positions(
    low: float, high: float, spacing: float, rng: np.random.Generator
) -> np.ndarray:
    """Evenly spread local street positions strictly between two arterials."""
    count = max(1, int(round((high - low) / spacing)))
    positions = low + (high - low) * np.arange(1, count) / count
    return positions + rng.uniform(-0.06, 0.06, len(positions)) * (high - low) / count


def _block_kind(zone: str, count: int, rng: np.random.Generator) -> np.ndarray:
    """Kinds of the blocks of a superblock of a zone."""
    table = {
        "centre": (["courtyard", "highrise", "park", "campus"], [0.66, 0.18, 0.09, 0.07]),
        "micro": (["micro", "park"], [0.95, 0.05]),
        "newbuild": (["highrise", "private", "courtyard"], [0.78, 0.14, 0.08]),
        "private": (["private", "park"], [0.985, 0.015]),
        "industrial": (["industrial", "private"], [0.88, 0.12]),
        "campus": (["campus", "park", "courtyard"], [0.7, 0.15, 0.15]),
    }
    kinds, weights = table[zone]
    return rng.choice(kinds, size=count, p=weights)


def _subdivide(
    sb: Any,
    spec: CitySpec,
    rng: np.random.Generator,
    namer: StreetNamer,
    art_ids: tuple[int, int, int, int],
    next_id: int,
) -> tuple[list[dict], list[dict]]:
    """Local streets and blocks of one superblock (a row of `CityPlan.superblocks` as a
    named tuple). `art_ids`: street ids of its s/n/w/e arterials; local streets are
    numbered from `next_id`."""
    zone = str(sb.zone)
    sp_u, sp_v = LOCAL_SPACING_M[zone]
    width = LOCAL_WIDTH_M[zone]
    upos = _local_positions(sb.u0, sb.u1, sp_u, rng)
    vpos = _local_positions(sb.v0, sb.v1, sp_v, rng)
    streets = []
    for axis, positions in (("u", upos), ("v", vpos)):
        row, run = (sb.iu, sb.iv // 4) if axis == "u" else (sb.iv, sb.iu // 4)
        for k, pos in enumerate(positions):
            line = (
                shapely.LineString([(pos, sb.v0), (pos, sb.v1)])
                if axis == "u"
                else shapely.LineString([(sb.u0, pos), (sb.u1, pos)])
            )
            # A local street continues (same name) into the next superblocks of its row, up
            # to four, when they have as many streets: the k-th of n in each.
            name = namer.next((axis, row, run, k, len(positions)))
            streets.append(
                {
                    "street_id": next_id,
                    "name_ru": name,
                    "kind": "local",
                    "width_m": width,
                    "zone": zone,
                    "geometry": line,
                    "axis": axis,
                }
            )
            next_id += 1
    half_a = spec.arterial_width_m / 2
    s_id, n_id, w_id, e_id = art_ids
    u_ids = [w_id] + [s["street_id"] for s in streets if s["axis"] == "u"] + [e_id]
    v_ids = [s_id] + [s["street_id"] for s in streets if s["axis"] == "v"] + [n_id]
    u_edges = np.concatenate(
        [
            [sb.u0 + half_a],
            np.repeat(upos, 2) + np.tile([-width / 2, width / 2], len(upos)),
            [sb.u1 - half_a],
        ]
    ).reshape(-1, 2)
    v_edges = np.concatenate(
        [
            [sb.v0 + half_a],
            np.repeat(vpos, 2) + np.tile([-width / 2, width / 2], len(vpos)),
            [sb.v1 - half_a],
        ]
    ).reshape(-1, 2)
    kinds = _block_kind(zone, len(u_edges) * len(v_edges), rng)
    blocks = []
    for i, (bu0, bu1) in enumerate(u_edges):
        for j, (bv0, bv1) in enumerate(v_edges):
            blocks.append(
                {
                    "zone": zone,
                    "kind": kinds[i * len(v_edges) + j],
                    "district": sb.district,
                    "u0": bu0,
                    "v0": bv0,
                    "u1": bu1,
                    "v1": bv1,
                    "s_street": v_ids[j],
                    "n_street": v_ids[j + 1],
                    "w_street": u_ids[i],
                    "e_street": u_ids[i + 1],
                }
            )
    return streets, blocks


def _arterial_segments(
    arterials: list[dict], width: float
) -> tuple[pd.DataFrame, dict[tuple[str, float], int]]:
    """Arterial street segments between consecutive cross arterials (one street id per
    arterial; a segment row per cell side), and the street id of each arterial."""
    rows, ids = [], {}
    for street_id, art in enumerate(arterials, start=1):
        ids[(art["axis"], art["pos"])] = street_id
        cuts = art["cuts"]
        for k in range(len(cuts) - 1):
            a, b = cuts[k], cuts[k + 1]
            line = (
                shapely.LineString([(art["pos"], a), (art["pos"], b)])
                if art["axis"] == "u"
                else shapely.LineString([(a, art["pos"]), (b, art["pos"])])
            )
            rows.append(
                {
                    "street_id": street_id,
                    "name_ru": art["name_ru"],
                    "kind": "arterial",
                    "width_m": width,
                    "axis": art["axis"],
                    "pos": art["pos"],
                    "k": k,
                    "geometry": line,
                }
            )
    return pd.DataFrame(rows), ids


def build_plan(ctx: Context, spec: CitySpec, rng: np.random.Generator) -> CityPlan:
    """Lay out one city: arterial grid, zones, districts, local streets and blocks."""
    names = city_names(spec.name)
    namer = StreetNamer(names.locals_ru, rng)
    to_utm = grid_frame(spec.centre_lonlat, spec.street_bearing_deg)
    plan = CityPlan(
        spec,
        names,
        to_utm,
        shapely.Point(),
        shapely.Point(),
        pd.DataFrame(),
        pd.DataFrame(),
        pd.DataFrame(),
    )
    area = plan.grid(np.array([city_area_utm(ctx, spec)]))[0]
    buildable = area
    to_grid = Transformer.from_crs(4326, UTM_43N, always_xy=True)
    for lon, lat, su, sv, rot in spec.exclusions:
        centre = plan.grid(np.array([shapely.Point(*to_grid.transform(lon, lat))]))[0]
        ellipse = affinity.rotate(affinity.scale(centre.buffer(1.0, quad_segs=24), su, sv), rot)
        buildable = buildable.difference(ellipse)
    seeds = {}
    for district, points in spec.district_seeds.items():
        utm = [shapely.Point(*to_grid.transform(lon, lat)) for lon, lat in points]
        seeds[district] = shapely.get_coordinates(plan.grid(np.array(utm)))
    superblocks, arterials = _superblocks(area, spec, names, seeds, rng, namer)
    art_frame, art_ids = _arterial_segments(arterials, spec.arterial_width_m)
    streets: list[pd.DataFrame] = [art_frame]
    blocks: list[dict] = []
    next_id = len(arterials) + 1
    for sb in superblocks.itertuples():
        ids = (
            art_ids[("v", sb.v0)],
            art_ids[("v", sb.v1)],
            art_ids[("u", sb.u0)],
            art_ids[("u", sb.u1)],
        )
        local, sb_blocks = _subdivide(sb, spec, rng, namer, ids, next_id)
        next_id += len(local)
        streets.append(pd.DataFrame(local))
        blocks.extend(dict(b, superblock=sb.Index) for b in sb_blocks)
    # An arterial segment takes the zone of the superblock on its east (north) side.
    art_zone = {(("u", r.u0), r.iv): r.zone for r in superblocks.itertuples()}
    art_zone |= {(("v", r.v0), r.iu): r.zone for r in superblocks.itertuples()}
    art_frame["zone"] = [
        art_zone.get(((a, p), k), "private")
        for a, p, k in zip(art_frame.axis, art_frame.pos, art_frame.k, strict=True)
    ]
    streets_frame = pd.concat(streets, ignore_index=True)[
        ["street_id", "name_ru", "kind", "width_m", "zone", "geometry"]
    ]
    blocks_frame = _clip_blocks(pd.DataFrame(blocks), buildable)
    return CityPlan(spec, names, to_utm, area, buildable, superblocks, streets_frame, blocks_frame)


def _clip_blocks(blocks: pd.DataFrame, buildable: BaseGeometry) -> pd.DataFrame:
    """Blocks cut to the buildable city; blocks left with less than 400 m² are dropped."""
    boxes = shapely.box(blocks.u0, blocks.v0, blocks.u1, blocks.v1)
    shapely.prepare(buildable)
    inside = shapely.contains(buildable, boxes)
    geoms = boxes.copy()
    cut = shapely.intersection(boxes[~inside], buildable)
    geoms[~inside] = [_polygonal(g) for g in cut]
    blocks = blocks.assign(inside=inside, geometry=geoms)
    blocks = blocks[~shapely.is_empty(geoms) & (shapely.area(geoms) >= 400)]
    return blocks.reset_index(drop=True)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of an intersection (drops stray lines and points)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 1.0]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def district_polygons(plan: CityPlan) -> gpd.GeoSeries:
    """Each district's polygon (grid frame): its superblocks cut to the city, so district
    boundaries run along arterial centrelines."""
    cells = plan.superblocks.groupby("district").geometry.apply(
        lambda g: shapely.union_all(g.to_numpy())
    )
    return gpd.GeoSeries(
        [_polygonal(shapely.intersection(c, plan.area)) for c in cells], index=cells.index
    )
