"""Bridges: wherever a road crosses a stream of the DEM network or a Natural Earth river."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from demo.context import UTM_43N, Context
from demo.roads.attributes import REFERENCE_DATE

RIVER_NAMES = {
    "Chu": "Чу",
    "Talas": "Талас",
    "Naryn": "Нарын",
    "Kara-Darya": "Кара-Дарья",
    "Chatkal": "Чаткал",
    "Kökömeren": "Кокомерен",
    "Chong-Kemin": "Чон-Кемин",
    "Kyzyl-Suu": "Кызыл-Суу",
    "Ak-Buura": "Ак-Буура",
    "Isfayram-Say": "Исфайрам-Сай",
    "Toxkan": "Таушкан",
}
"""Russian names of the named streams and Natural Earth rivers."""

MATERIALS = [
    "reinforced_concrete",
    "prestressed_concrete",
    "steel",
    "steel_concrete_composite",
    "masonry",
    "timber",
]
CONDITIONS = ["good", "fair", "poor", "critical"]
MERGE_M = 300.0
"""Crossings of the same road closer than this are one bridge."""


def _crossings(segments: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame) -> pd.DataFrame:
    """Points where segments cross river lines: segment index, river index, point."""
    tree = shapely.STRtree(rivers.geometry.values)
    seg_idx, river_idx = tree.query(segments.geometry.values, predicate="crosses")
    points = shapely.intersection(
        segments.geometry.values[seg_idx], rivers.geometry.values[river_idx]
    )
    parts, owner = shapely.get_parts(points, return_index=True)
    is_point = shapely.get_type_id(parts) == 0
    return pd.DataFrame(
        {
            "segment": seg_idx[owner[is_point]],
            "river": river_idx[owner[is_point]],
            "geometry": parts[is_point],
        }
    )


def _dedupe(
    found: pd.DataFrame, numbers: np.ndarray, others: pd.DataFrame | None, distance_m: float
) -> pd.DataFrame:
    """Drop crossings within `distance_m` of an earlier one of the same road (and of any in
    `others` on the same road)."""
    keep = np.ones(len(found), bool)
    kept: dict[str, list[shapely.Point]] = {}
    if others is not None:
        for seg, point in zip(others["segment"], others["geometry"], strict=True):
            kept.setdefault(numbers[seg], []).append(point)
    for i, (seg, point) in enumerate(zip(found["segment"], found["geometry"], strict=True)):
        near = kept.setdefault(numbers[seg], [])
        if any(point.distance(p) < distance_m for p in near):
            keep[i] = False
        else:
            near.append(point)
    return found[keep].reset_index(drop=True)


def _span_m(area_km2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bridge length from the river's upstream area (a 150 km² torrent: ~17 m; the Naryn
    at Naryn town: ~80 m)."""
    length = 2.5 * np.clip(area_km2, 50.0, None) ** 0.38 * rng.lognormal(0.0, 0.2, len(area_km2))
    return np.round(np.clip(length, 6.0, 400.0), 1)


def _years(road_class: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Year built: most bridges are Soviet (1950-1990), trunk roads have many rebuilt since."""
    modern = rng.random(len(road_class)) < np.select(
        [road_class == "international", road_class == "national"], [0.45, 0.25], 0.2
    )
    return np.where(
        modern, rng.integers(1995, 2026, len(road_class)), rng.integers(1940, 1991, len(road_class))
    )


def _material(
    year: np.ndarray, span: np.ndarray, road_class: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Main material: timber and masonry on small old spans, composite and prestressed
    concrete on long ones, reinforced concrete for most."""
    u = rng.random(len(year))
    long_span = span > 60
    choices = {
        "timber": (road_class == "local") & (span < 25) & (u < 0.15),
        "masonry": (year < 1960) & (span < 25) & (u < 0.3),
        "steel_concrete_composite": long_span & (year >= 1995) & (u < 0.5),
        "prestressed_concrete": long_span & (u < 0.6),
        "steel": u < 0.05,
    }
    return np.select(list(choices.values()), list(choices), "reinforced_concrete")


def _condition(year: np.ndarray, material: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    age = (REFERENCE_DATE.year - year) / 80.0
    wear = age + np.isin(material, ["timber", "steel"]) * 0.25 + rng.normal(0.0, 0.2, len(year))
    return np.select([wear < 0.4, wear < 0.75, wear < 1.0], CONDITIONS[:3], "critical")


def _load_limit(
    road_class: np.ndarray, condition: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    design = np.select(
        [road_class == "international", road_class == "national", road_class == "urban"],
        [80.0, 60.0, 40.0],
        30.0,
    )
    factor = np.select(
        [condition == "good", condition == "fair", condition == "poor"], [1.0, 0.8, 0.55], 0.25
    ) * rng.uniform(0.85, 1.0, len(design))
    return np.clip(np.round(design * factor / 5.0) * 5.0, 5.0, 80.0)


def find_bridges(
    ctx: Context, roads: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Bridges (UTM 43N) where road segments cross the DEM streams or the Natural Earth
    rivers; a Natural Earth crossing within 2 km of a stream bridge of the same road is the
    same bridge. `roads` needs `id`, `road_number`, `road_class` and `width_m`."""
    streams = ctx.to_metric(ctx.streams).reset_index(drop=True)
    rivers = ctx.to_metric(ctx.rivers).explode(index_parts=False).reset_index(drop=True)
    numbers = roads["road_number"].to_numpy()
    on_streams = _dedupe(_crossings(roads, streams), numbers, None, MERGE_M)
    on_rivers = _dedupe(_crossings(roads, rivers), numbers, on_streams, 2_000.0)
    on_streams["name"] = streams["name"].to_numpy()[on_streams["river"]]
    on_streams["area"] = streams["upstream_area_km2"].to_numpy()[on_streams["river"]]
    on_rivers["name"] = rivers["name"].to_numpy()[on_rivers["river"]]
    on_rivers["area"] = 5_000.0
    found = pd.concat([on_streams, on_rivers], ignore_index=True)
    found = found.sort_values(["segment", "area"], kind="stable").reset_index(drop=True)
    seg = found["segment"].to_numpy()
    road_class = roads["road_class"].to_numpy()[seg]
    span = _span_m(found["area"].to_numpy(), rng)
    year = _years(road_class, rng)
    material = _material(year, span, road_class, rng)
    condition = _condition(year, material, rng)
    recent = np.where(road_class == "international", 1.5, 5.0)
    days = np.floor(rng.random(len(seg)) * recent * 365.0).astype(int)
    serial = pd.Series(numbers[seg]).groupby(numbers[seg]).cumcount().to_numpy() + 1
    return gpd.GeoDataFrame(
        {
            "bridge_code": [f"{n}-М{k:03d}" for n, k in zip(numbers[seg], serial, strict=True)],
            "road_id": roads["id"].to_numpy()[seg],
            "road_number": numbers[seg],
            "river_name": [
                RIVER_NAMES.get(n) if isinstance(n, str) else None for n in found["name"]
            ],
            "length_m": span,
            "width_m": np.round(
                roads["width_m"].to_numpy()[seg] + rng.uniform(1.5, 3.0, len(seg)), 1
            ),
            "material": material,
            "year_built": year,
            "condition": condition,
            "load_limit_t": _load_limit(road_class, condition, rng),
            "last_inspection": [REFERENCE_DATE - dt.timedelta(days=int(d)) for d in days],
        },
        geometry=list(found["geometry"]),
        crs=UTM_43N,
    )
