"""Russian descriptions of the hazard zones, as the Ministry of Emergency Situations writes
them: what the hazard is, where (river, road, fault, nearest settlement) and how often."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from demo.context import UTM_43N
from demo.disaster.places import (
    FAULT_NAMES_RU,
    FAULTS,
    LANDSLIDE_HOTSPOTS,
    MOUNTAIN_ROADS,
    OBLAST_RU,
    RIVER_NAMES_RU,
    WALNUT_FORESTS,
)

BEARINGS = (
    "к северу",
    "к северо-востоку",
    "к востоку",
    "к юго-востоку",
    "к югу",
    "к юго-западу",
    "к западу",
    "к северо-западу",
)

FREQUENCY = {
    "flood": {
        "very_high": "затапливается ежегодно в половодье",
        "high": "затопление раз в 10-20 лет (паводки 5-10% обеспеченности)",
        "moderate": "затопление при паводках 1% обеспеченности",
        "low": "затопление возможно при катастрофических паводках",
    },
    "mudflow": {
        "very_high": "в зоне поражения жилая застройка, необходимы защитные дамбы",
        "high": "сели формируются почти ежегодно при ливнях и таянии снега",
        "moderate": "сели возможны при интенсивных ливнях",
    },
    "landslide": {
        "very_high": "активные оползни, угроза жилым домам",
        "high": "оползни активизируются весной при переувлажнении склонов",
        "moderate": "оползни возможны при переувлажнении и землетрясениях",
        "low": "устойчивость склона снижена",
    },
    "avalanche": {
        "very_high": "лавины сходят ежегодно, перекрывая дорогу",
        "high": "лавины сходят в многоснежные зимы",
        "moderate": "лавины возможны после сильных снегопадов",
        "low": "сход лавин маловероятен, но возможен",
    },
    "fire": {
        "very_high": "высокая горимость в сухой сезон",
        "high": "пожары возможны в жаркие сухие периоды",
        "moderate": "пожары сухой травы весной и осенью",
        "low": "палы сухой травы",
    },
}


def settlement_labels(settlements: gpd.GeoDataFrame) -> list[str]:
    """'г. Токмак' for towns, 'с. Кемин' for villages."""
    return [
        ("г. " if town else "с. ") + name
        for town, name in zip(settlements["is_town"], settlements["name_ru"], strict=True)
    ]


def locations(points_m: np.ndarray, settlements: gpd.GeoDataFrame) -> list[str]:
    """'у г. Токмак', or 'в 23 км к югу от с. Ат-Баши' farther than 8 km (UTM 43N points)."""
    nearest = shapely.STRtree(settlements.geometry.values).nearest(points_m)
    labels = np.array(settlement_labels(settlements), dtype=object)[nearest]
    dx = shapely.get_x(points_m) - settlements.geometry.x.to_numpy()[nearest]
    dy = shapely.get_y(points_m) - settlements.geometry.y.to_numpy()[nearest]
    distance_km = np.hypot(dx, dy) / 1000
    bearing = (((np.degrees(np.arctan2(dx, dy)) + 22.5) % 360) // 45).astype(int)
    return [
        f"у {label}" if d <= 8 else f"в {d:.0f} км {BEARINGS[b]} от {label}"
        for label, d, b in zip(labels, distance_km, bearing, strict=True)
    ]


def _nearest_named(
    points_m: np.ndarray, names: list[str], lines_4326: list[shapely.Geometry], within_m: float
) -> list[str | None]:
    lines = gpd.GeoSeries(lines_4326, crs=4326).to_crs(UTM_43N).values
    tree = shapely.STRtree(lines)
    found, distance = tree.query_nearest(points_m, return_distance=True, all_matches=False)
    out: list[str | None] = [None] * len(points_m)
    for (point, line), d in zip(found.T, distance, strict=True):
        out[int(point)] = names[int(line)] if d <= within_m else None
    return out


def describe(
    hazard: str,
    levels: list[str],
    points_m: np.ndarray,
    elevation_m: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    settlements: gpd.GeoDataFrame,
    rivers: list[str | None],
    oblasts: list[str],
) -> list[str]:
    """One description per zone of a hazard type, from a point inside each zone."""
    where = locations(points_m, settlements)
    if hazard == "avalanche":
        roads = _nearest_named(
            points_m,
            list(MOUNTAIN_ROADS),
            [shapely.LineString(p) for p in MOUNTAIN_ROADS.values()],
            1e9,
        )
    out = []
    for i, level in enumerate(levels):
        often = FREQUENCY.get(hazard, {}).get(level, "")
        river = RIVER_NAMES_RU.get(rivers[i] or "")
        match hazard:
            case "flood":
                text = f"Пойма {'р. ' + river if river else 'реки'} {where[i]}"
            case "mudflow":
                text = (
                    f"Селеопасное русло{' р. ' + river if river else ''} и конус выноса {where[i]}"
                )
            case "landslide":
                hotspot = _hotspot(lon[i], lat[i])
                text = f"Оползнеопасные склоны {where[i]}" + (
                    f", оползневой район {hotspot}" if hotspot else ""
                )
            case "avalanche":
                text = f"Лавиноопасные склоны вдоль автодороги {roads[i]}, {where[i]}"
            case _:
                text = f"{_vegetation(elevation_m[i], lon[i], lat[i], level)} {where[i]}"
        out.append(f"{text}; {OBLAST_RU[oblasts[i]][0]}. {often[0].upper()}{often[1:]}.")
    return out


def seismic_descriptions(
    intensities: list[str], points_m: np.ndarray, oblasts: list[str]
) -> list[str]:
    """'Зона сейсмичности 9 баллов по шкале MSK-64, ...' with the nearest active fault."""
    faults = _nearest_named(
        points_m, list(FAULTS), [shapely.LineString(p) for p in FAULTS.values()], 1e9
    )
    out = []
    for intensity, fault, oblast in zip(intensities, faults, oblasts, strict=True):
        points = "9 баллов и более" if intensity == ">=9" else f"{intensity} баллов"
        out.append(
            f"Зона сейсмичности {points} по шкале MSK-64; {OBLAST_RU[oblast][0]}. "
            f"Ближайшая активная структура: {FAULT_NAMES_RU[str(fault)]}."
        )
    return out


def _hotspot(lon: float, lat: float) -> str | None:
    for name, (x, y) in LANDSLIDE_HOTSPOTS.items():
        if np.hypot((lon - x) * 82.0, (lat - y) * 110.6) < 28.0:
            return name
    return None


def _vegetation(elevation_m: float, lon: float, lat: float, level: str) -> str:
    near_walnut = any(
        np.hypot((lon - x) * 83.0, (lat - y) * 110.6) < 22.0 for x, y in WALNUT_FORESTS.values()
    )
    if near_walnut and elevation_m >= 1100 and level == "very_high":
        return "Орехово-плодовые леса"
    if elevation_m >= 1800 and lat >= 41.2 and level in ("high", "very_high"):
        return "Еловые леса (ель Шренка) на северных склонах"
    if elevation_m >= 2000 and lat < 40.4:
        return "Арчовые (можжевеловые) редколесья"
    return "Сухие предгорные степи и адыры"
