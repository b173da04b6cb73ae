"""Urban streets: a street grid inside Bishkek (its OpenStreetMap boundary) and Osh (the
Natural Earth urban area around the city centre), cut into blocks at every crossing."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import affinity

from demo.context import UTM_43N, Context

STREET_STEMS = [
    "Ала-Тоо",
    "Достук",
    "Эркиндик",
    "Ынтымак",
    "Жаштык",
    "Мурас",
    "Береке",
    "Тулпар",
    "Шумкар",
    "Асман",
    "Чолпон",
    "Сейил",
    "Арча",
    "Алма",
    "Бакыт",
    "Айкол",
    "Жайыл",
    "Нур",
    "Булак",
    "Көк-Жар",
    "Кызыл-Аскер",
    "Тянь-Шанская",
    "Памирская",
    "Алайская",
    "Чаткальская",
    "Кеминская",
    "Суусамырская",
    "Сон-Кульская",
    "Таласская",
    "Нарынская",
    "Ошская",
    "Баткенская",
    "Иссык-Кульская",
    "Чуйская",
    "Садовая",
    "Солнечная",
    "Луговая",
    "Тополиная",
    "Каштановая",
    "Строителей",
    "Энергетиков",
    "Учителей",
    "Студенческая",
    "Молодёжная",
    "Школьная",
    "Степная",
    "Речная",
    "Нагорная",
    "Ореховая",
    "Виноградная",
    "Абрикосовая",
    "Жибек-Жолу",
    "Манас-Ордо",
    "Курманжан-Датка",
    "Бейшеке",
    "Кайыңды",
    "Сары-Озёк",
    "Ак-Буура",
    "Туз-Бел",
    "Кен-Сай",
]

AVENUE_STEMS = [
    "Ала-Тоо",
    "Эркиндик",
    "Достук",
    "Тулпар",
    "Шумкар",
    "Жибек-Жолу",
    "Манас-Ордо",
    "Чолпон",
    "Айкол",
    "Асман",
    "Береке",
    "Ынтымак",
]


@dataclass(frozen=True)
class City:
    """A city whose streets are generated."""

    name: str
    code: str
    oblast: str
    centre: tuple[float, float]
    angle_deg: float
    radius_m: float


CITIES = (
    City("Бишкек", "БШК", "Bishkek", (74.590, 42.870), 0.0, 12_000.0),
    City("Ош", "ОШК", "Osh", (72.798, 40.528), 18.0, 7_500.0),
)


def city_polygon(ctx: Context, city: City) -> shapely.Geometry:
    """The city's area in UTM 43N: Bishkek's OSM boundary; for Osh, the urban-area polygon
    that contains the centre, clipped to `radius_m` around it (it also covers Kara-Suu)."""
    centre = gpd.GeoSeries(gpd.points_from_xy([city.centre[0]], [city.centre[1]]), crs=4326)
    centre_m = centre.to_crs(UTM_43N).iloc[0]
    source = ctx.bishkek_boundary if city.code == "БШК" else ctx.urban_areas
    areas = ctx.to_metric(source).geometry
    polygon = areas[areas.distance(centre_m) < 2_000].union_all()
    polygon = polygon.intersection(centre_m.buffer(city.radius_m))
    return polygon.intersection(ctx.to_metric(ctx.country).geometry.iloc[0])


def _lines(
    bounds: tuple[float, float, float, float], spacing_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Jittered positions of the north-south (x) and east-west (y) streets."""
    minx, miny, maxx, maxy = bounds
    xs = np.arange(minx + spacing_m / 2, maxx, spacing_m)
    ys = np.arange(miny + spacing_m / 2, maxy, spacing_m)
    jitter = 0.05 * spacing_m
    return xs + rng.uniform(-jitter, jitter, len(xs)), ys + rng.uniform(-jitter, jitter, len(ys))


def _blocks(
    polygon: shapely.Geometry,
    position: float,
    crossings: np.ndarray,
    vertical: bool,
    min_block_m: float,
) -> list[shapely.LineString]:
    """The block-long pieces of one street (inside the polygon, cut at every crossing)."""
    lo, hi = crossings.min() - 1e4, crossings.max() + 1e4
    ends = [(position, lo), (position, hi)] if vertical else [(lo, position), (hi, position)]
    inside = shapely.get_parts(polygon.intersection(shapely.LineString(ends)))
    blocks = []
    for part in inside:
        if part.geom_type != "LineString":
            continue
        coords = shapely.get_coordinates(part)[:, 1 if vertical else 0]
        start, end = sorted(coords[[0, -1]])
        cuts = np.concatenate([[start], crossings[(crossings > start) & (crossings < end)], [end]])
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            if b - a >= min_block_m:
                pts = [(position, a), (position, b)] if vertical else [(a, position), (b, position)]
                blocks.append(shapely.LineString(pts))
    return blocks


def street_names(count: int, rng: np.random.Generator) -> list[str]:
    """Distinct street names: every fourth street an avenue (проспект), the others streets,
    lanes (переулок) and drives (проезд) once the plain stems run out."""
    kinds = ["улица", "переулок", "проезд", "2-й переулок", "3-й переулок"]
    names = []
    stems = list(rng.permutation(STREET_STEMS))
    avenues = list(rng.permutation(AVENUE_STEMS))
    for i in range(count):
        if i % 4 == 0 and avenues:
            names.append(f"проспект {avenues.pop()}")
        else:
            k = len(names) // len(stems)
            names.append(f"{kinds[min(k, len(kinds) - 1)]} {stems[len(names) % len(stems)]}")
    return names


def city_streets(
    ctx: Context, city: City, spacing_m: float, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Street blocks of one city (UTM 43N) with `number`, `name`, `main` (an avenue) and
    `centre_km` (distance of the block's middle from the city centre)."""
    polygon = city_polygon(ctx, city)
    origin = polygon.centroid
    rotated = affinity.rotate(polygon, -city.angle_deg, origin=origin)
    xs, ys = _lines(rotated.bounds, spacing_m, rng)
    streets = [(x, True) for x in xs] + [(y, False) for y in ys]
    names = street_names(len(streets), rng)
    rows = []
    for k, (position, vertical) in enumerate(streets):
        main = names[k].startswith("проспект")
        blocks = _blocks(
            rotated, position, ys if vertical else xs, vertical, max(0.5 * spacing_m, 300.0)
        )
        if not main:  # some blocks are missing: parks, markets, closed yards
            blocks = [b for b in blocks if rng.random() > 0.08]
        for block in blocks:
            rows.append(
                {
                    "number": f"{city.code}-{k + 1:04d}",
                    "name": f"{names[k]}",
                    "main": main,
                    "geometry": block,
                }
            )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM_43N)
    frame["geometry"] = frame.geometry.rotate(city.angle_deg, origin=origin)
    centre = gpd.GeoSeries(gpd.points_from_xy([city.centre[0]], [city.centre[1]]), crs=4326)
    frame["centre_km"] = frame.geometry.centroid.distance(centre.to_crs(UTM_43N).iloc[0]) / 1e3
    frame["city"] = city.name
    frame["oblast"] = city.oblast
    return frame


def urban_streets(ctx: Context, spacing_m: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The streets of Bishkek and Osh, blocks of about `spacing_m`."""
    return gpd.GeoDataFrame(
        pd.concat([city_streets(ctx, city, spacing_m, rng) for city in CITIES], ignore_index=True),
        crs=UTM_43N,
    )
