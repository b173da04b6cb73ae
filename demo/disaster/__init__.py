"""Natural hazard zones and early warning areas, drawn from the real terrain of Kyrgyzstan.

Floods follow the streams derived from the DEM where the valley floor is flat and low;
mudflows run down steep valleys from the high ranges and spread on fans at the mountain front
(south of Bishkek, the Issyk-Kul shores, the Fergana rim); landslides are steep mid-mountain
slopes of the south; avalanches steep slopes above 2,300 m along the mountain roads; wildfire
zones forests and dry foothills; the seismic zonation tiles the whole country with MSK-64 bands.
The zones of one hazard type never overlap: a place has one level per hazard. Early warning
areas cover the settlements exposed to mudflows and floods.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from demo.context import UTM_43N, Context
from demo.disaster.hazards import (
    LEVELS,
    avalanche_classes,
    classes_to_levels,
    fire_classes,
    flood_levels,
    landslide_classes,
    mudflow_levels,
    road_corridor_m,
    seismic_bands,
    stream_segments,
)
from demo.disaster.places import OBLAST_RU, SOUTH_OBLASTS
from demo.disaster.terrain import Terrain, build_terrain, polygonal
from demo.disaster.text import describe, seismic_descriptions
from demo.sports import settlement_table

UPSAMPLE = 2
"""Terrain grids are resampled twice finer than the DEM (about 350 m x 460 m pixels)."""

SOURCES = {
    "flood": ("MES hazard mapping 2024 (synthetic)", (2022, 2024)),
    "mudflow": ("MES mudflow hazard survey (synthetic)", (2021, 2024)),
    "landslide": ("DEM slope analysis; MES landslide monitoring (synthetic)", (2020, 2024)),
    "avalanche": ("DEM slope analysis along mountain roads (synthetic)", (2019, 2024)),
    "fire": ("Forest and pasture fire risk assessment (synthetic)", (2021, 2024)),
    "seismic": ("Seismic zoning map of the Kyrgyz Republic, MSK-64 (synthetic)", (2018, 2018)),
}
MIN_AREA_KM2 = {"flood": 0.05, "mudflow": 0.05, "landslide": 1.0, "avalanche": 0.5, "fire": 1.0}
SEISMIC_LEVEL = {"7": "moderate", "8": "high", "9": "very_high", ">=9": "very_high"}
EXPOSING = ("mudflow", "flood")
PRECISION_DEG = 1e-7
HAZARD_WORDS_RU = {"mudflow": "сели", "flood": "паводки"}


def hazard_levels(
    ctx: Context, terrain: Terrain, settlements: gpd.GeoDataFrame, segments: gpd.GeoDataFrame
) -> dict[str, dict[int, shapely.Geometry]]:
    """`{hazard type: {level code: geometry}}` in UTM 43N, levels disjoint per type."""
    land_m = _metric(ctx.country.geometry.iloc[0].difference(ctx.lakes.union_all()))
    oblasts = ctx.oblasts
    south_outline = oblasts[oblasts["name"].isin(SOUTH_OBLASTS)].union_all()
    south = terrain.mask_of(south_outline)
    south_m = shapely.intersection(land_m, _metric(south_outline))
    corridor = terrain.mask_of(gpd.GeoSeries([road_corridor_m()], crs=UTM_43N).to_crs(4326).iloc[0])
    urban = terrain.mask_of(ctx.urban_areas.union_all())
    return {
        "flood": flood_levels(segments, land_m),
        "mudflow": mudflow_levels(segments, settlements, land_m),
        "landslide": classes_to_levels(landslide_classes(terrain, south), terrain, south_m),
        "avalanche": classes_to_levels(avalanche_classes(terrain, corridor), terrain, land_m),
        "fire": classes_to_levels(fire_classes(terrain, south, urban), terrain, land_m),
    }


def _metric(geometry: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([geometry], crs=4326).to_crs(UTM_43N).iloc[0]


def zone_parts(
    levels: dict[int, shapely.Geometry], min_area_km2: float, touching: np.ndarray | None = None
) -> tuple[np.ndarray, list[str]]:
    """The connected parts of every level (UTM 43N) above a size, with their level name; with
    `touching`, only the parts that touch one of those geometries (the streams)."""
    parts, names = [], []
    tree = shapely.STRtree(touching) if touching is not None else None
    for code, geometry in sorted(levels.items()):
        pieces = shapely.get_parts(geometry)
        keep = shapely.area(pieces) >= min_area_km2 * 1e6
        if tree is not None:
            hit = np.zeros(len(pieces), dtype=bool)
            hit[np.unique(tree.query(pieces, "intersects")[0])] = True
            keep &= hit
        parts += pieces[keep].tolist()
        names += [LEVELS[code - 1]] * int(keep.sum())
    return np.array(parts, dtype=object), names


def _to_4326_within(parts_m: np.ndarray, country: shapely.Geometry) -> np.ndarray:
    """Parts in EPSG:4326 clipped to the country outline, as valid multipolygons."""
    geographic = shapely.make_valid(gpd.GeoSeries(parts_m, crs=UTM_43N).to_crs(4326).values)
    shapely.prepare(country)
    clipped = geographic.copy()
    crossing = ~shapely.within(geographic, country)
    clipped[crossing] = shapely.intersection(geographic[crossing], country)
    return snapped(np.array([polygonal(shapely.make_valid(g)) for g in clipped], dtype=object))


def snapped(parts: np.ndarray) -> np.ndarray:
    """Multipolygons with coordinates on a 1e-7° (about 1 cm) grid: overlays leave vertices a
    hair's breadth from edges, which turn into self-intersections once reprojected."""
    fixed = shapely.set_precision(parts, PRECISION_DEG)
    return np.array(
        [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in fixed],
        dtype=object,
    )


def _dates(rng: np.random.Generator, years: tuple[int, int], n: int) -> list[dt.date]:
    start = dt.date(years[0], 1, 1).toordinal()
    end = dt.date(years[1], 12, 31).toordinal() if years[0] != years[1] else start + 180
    return [dt.date.fromordinal(int(d)) for d in rng.integers(start, end + 1, size=n)]


def _oblasts_at(points_m: np.ndarray, oblasts_m: gpd.GeoDataFrame) -> list[str]:
    joined = gpd.sjoin_nearest(
        gpd.GeoDataFrame(geometry=points_m, crs=UTM_43N), oblasts_m[["name", "geometry"]]
    )
    return joined[~joined.index.duplicated()].sort_index()["name"].tolist()


def hazard_frame(
    rng: np.random.Generator,
    ctx: Context,
    levels: dict[str, dict],
    seismic: dict[str, shapely.Geometry],
    settlements: gpd.GeoDataFrame,
    segments: gpd.GeoDataFrame,
    terrain: Terrain,
) -> gpd.GeoDataFrame:
    """The `hazard_zones` rows: one per connected zone of a hazard type and level."""
    oblasts_m = ctx.to_metric(ctx.oblasts)
    country = ctx.country.geometry.iloc[0]
    frames = []
    for hazard, by_level in levels.items():
        touching = segments.geometry.values if hazard in EXPOSING else None
        parts, names = zone_parts(by_level, MIN_AREA_KM2[hazard], touching)
        if not len(parts):
            continue
        inside = shapely.point_on_surface(parts)
        lonlat = shapely.get_coordinates(gpd.GeoSeries(inside, crs=UTM_43N).to_crs(4326).values)
        elevation = terrain.sample(terrain.elevation_m, lonlat[:, 0], lonlat[:, 1])
        nearest = shapely.STRtree(segments.geometry.values).nearest(inside)
        rivers = segments["name"].to_numpy()[nearest].tolist()
        text = describe(
            hazard,
            names,
            inside,
            elevation,
            lonlat[:, 0],
            lonlat[:, 1],
            settlements,
            rivers,
            _oblasts_at(inside, oblasts_m),
        )
        frames.append(
            _rows(rng, hazard, names, [None] * len(parts), text, _to_4326_within(parts, country))
        )
    bands = [(k, part) for k, band in seismic.items() for part in shapely.get_parts(band)]
    intensities = [k for k, _ in bands]
    parts = snapped(np.array([part for _, part in bands], dtype=object))
    inside = gpd.GeoSeries(shapely.point_on_surface(parts), crs=4326).to_crs(UTM_43N).values
    text = seismic_descriptions(intensities, inside, _oblasts_at(inside, oblasts_m))
    frames.append(
        _rows(rng, "seismic", [SEISMIC_LEVEL[k] for k in intensities], intensities, text, parts)
    )
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)


def _rows(
    rng: np.random.Generator,
    hazard: str,
    levels: list[str],
    intensities: list[str | None],
    descriptions: list[str],
    parts: np.ndarray,
) -> pd.DataFrame:
    source, years = SOURCES[hazard]
    return pd.DataFrame(
        {
            "hazard_type": hazard,
            "hazard_level": levels,
            "seismic_intensity_msk64": intensities,
            "source": source,
            "assessed_on": _dates(rng, years, len(levels)),
            "description": descriptions,
            "area_km2": np.round(gpd.GeoSeries(parts, crs=4326).to_crs(UTM_43N).area / 1e6, 3),
            "geometry": parts,
        }
    )


def early_warning_frame(
    rng: np.random.Generator,
    levels: dict[str, dict],
    settlements: gpd.GeoDataFrame,
    country_m: shapely.Geometry,
    country: shapely.Geometry,
) -> gpd.GeoDataFrame:
    """The `early_warning_areas` rows: for each settlement with mudflow or flood zones (of
    moderate level or above) in its surroundings, those zones plus the settlement itself."""
    exposed = {
        h: shapely.union_all([g for code, g in levels[h].items() if code >= 2]) for h in EXPOSING
    }
    for geometry in exposed.values():
        shapely.prepare(geometry)
    rows = []
    for place in settlements.itertuples():
        surroundings = place.geometry.buffer(2000 + 8 * np.sqrt(place.people), quad_segs=16)
        hit = {h: shapely.intersection(surroundings, g) for h, g in exposed.items()}
        hit = {h: polygonal(g) for h, g in hit.items() if g.area >= 0.05e6}
        if not hit:
            continue
        core = place.geometry.buffer(400 + 3 * np.sqrt(place.people), quad_segs=16)
        area = polygonal(shapely.intersection(shapely.union_all([core, *hit.values()]), country_m))
        built = place.geometry.buffer(place.radius_m)
        share = shapely.intersection(built, shapely.union_all(list(hit.values()))).area
        covered = np.clip(1.5 * share / built.area + 0.2, 0.2, 1.0) * place.people
        rows.append(
            {
                "place": place,
                "hazards": [h for h in EXPOSING if h in hit],
                "area": area,
                "population_covered": int(round(covered, -1)),
            }
        )
    return _warning_rows(rng, rows, country)


def _warning_rows(
    rng: np.random.Generator, rows: list[dict], country: shapely.Geometry
) -> gpd.GeoDataFrame:
    systems = []
    for row in rows:
        people = row["place"].people
        options, odds = (
            (["mixed"], [1.0])
            if people >= 100_000
            else (["mixed", "siren"], [0.5, 0.5])
            if people >= 15_000
            else (["siren", "sms", "radio", "mixed"], [0.45, 0.25, 0.2, 0.1])
        )
        systems.append(str(rng.choice(options, p=odds)))
    labels = [("г. " if r["place"].is_town else "с. ") + r["place"].name_ru for r in rows]
    units = [
        f"Управление МЧС КР по г. {r['place'].name_ru}"
        if r["place"].name_en == "Osh"
        else OBLAST_RU[r["place"].oblast][1]
        for r in rows
    ]
    parts = np.array([r["area"] for r in rows], dtype=object)
    return gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(rows) + 1),
            "area_name": [
                f"Зона раннего оповещения {label} "
                f"({', '.join(HAZARD_WORDS_RU[h] for h in r['hazards'])})"
                for label, r in zip(labels, rows, strict=True)
            ],
            "hazard_types": [", ".join(r["hazards"]) for r in rows],
            "warning_system": systems,
            "responsible_unit": units,
            "population_covered": [r["population_covered"] for r in rows],
            "settlement": [r["place"].name_en for r in rows],
            "oblast": [r["place"].oblast for r in rows],
            "established": _dates(rng, (2008, 2024), len(rows)),
            "area_km2": np.round(shapely.area(parts) / 1e6, 3),
        },
        geometry=_to_4326_within(parts, country),
        crs=4326,
    )


def generate(ctx: Context) -> dict[str, pd.DataFrame]:
    """The `hazard_zones` and `early_warning_areas` layers (MultiPolygon, EPSG:4326)."""
    rng = ctx.rng("disaster")
    country = ctx.country.geometry.iloc[0]
    terrain = build_terrain(ctx.dem, country.difference(ctx.lakes.union_all()), UPSAMPLE)
    settlements = settlement_table(ctx)
    segments = stream_segments(ctx.streams, terrain)
    levels = hazard_levels(ctx, terrain, settlements, segments)
    country_m = _metric(country)
    zones = hazard_frame(rng, ctx, levels, seismic_bands(country), settlements, segments, terrain)
    warnings = early_warning_frame(rng, levels, settlements, country_m, country)
    return {"hazard_zones": zones, "early_warning_areas": warnings}
