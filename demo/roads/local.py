"""Local roads: every real settlement, and at national scale synthetic villages in the
valleys, joined to the network by the least-cost path to its nearest road."""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from demo.context import UTM_43N, Context
from demo.roads.network import Network, Road
from demo.roads.paths import (
    CostSurface,
    connect_to_network,
    line_cells,
    rasterize_mask,
    route,
    slope_grid,
)
from ingestion.vector import field_values
from layers.catalogue import declarations_dir
from layers.model import Layer

NAME_FIXES = {"Nookat": "Ноокат", "Talas": "Талас", "Kerben": "Кербен", "Tokmok": "Токмок"}
"""Russian names GeoNames lacks or gives in an old form (Kerben as Караван)."""

PREFIXES = [
    "Ак",
    "Кара",
    "Кызыл",
    "Сары",
    "Кок",
    "Жаны",
    "Чон",
    "Кичи",
    "Орто",
    "Таш",
    "Беш",
    "Уч",
    "Боз",
    "Алтын",
    "Кум",
    "Тогуз",
    "Жер",
    "Кен",
    "Эски",
    "Бал",
]
ROOTS = [
    "Суу",
    "Булак",
    "Таш",
    "Жар",
    "Тоо",
    "Бел",
    "Дёбё",
    "Кия",
    "Арык",
    "Талаа",
    "Сай",
    "Терек",
    "Озёк",
    "Кол",
    "Кайын",
    "Арча",
    "Жыгач",
    "Тал",
    "Коргон",
    "Кыштак",
    "Чек",
    "Тюбё",
    "Кунгей",
    "Кудук",
    "Мазар",
    "Кыр",
    "Токой",
    "Копуро",
    "Жол",
    "Алма",
    "Урюк",
    "Адыр",
    "Жайлоо",
    "Кашат",
]
SOVIET_NAMES = [
    "Садовое",
    "Первомайское",
    "Октябрьское",
    "Новороссийка",
    "Комсомольское",
    "Ленинское",
    "Красная Речка",
    "Полевое",
    "Дружба",
    "Степное",
]


@functools.cache
def settlements_declaration() -> Layer:
    """The declaration of the base `settlements` layer (read alone, with the C YAML parser:
    the whole catalogue takes a second to parse)."""
    text = (declarations_dir() / "00_base.yaml").read_text(encoding="utf-8")
    document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return Layer.model_validate(next(i for i in document["layers"] if i["id"] == "settlements"))


def settlement_places(ctx: Context) -> pd.DataFrame:
    """The 111 GeoNames places: `name` (Russian, as the settlements layer loads it),
    `population` (0 when unknown), `oblast` (English, nearest oblast), `lon`, `lat`."""
    places = ctx.settlements
    layer = settlements_declaration()
    names = field_values(layer, layer.field("name_ru"), places, "settlements")
    english = field_values(layer, layer.field("name_en"), places, "settlements")
    names = [NAME_FIXES.get(en, ru or en) for ru, en in zip(names, english, strict=True)]
    return pd.DataFrame(
        {
            "name": names,
            "population": places["population"].fillna(0).astype(int).to_numpy(),
            "oblast": nearest_oblast(
                ctx, places.geometry.x.to_numpy(), places.geometry.y.to_numpy()
            ),
            "lon": places.geometry.x.to_numpy(),
            "lat": places.geometry.y.to_numpy(),
        }
    )


def nearest_oblast(ctx: Context, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """English name (as in the oblasts layer) of the oblast each point lies in or is nearest."""
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(UTM_43N)
    return polygon_names(points, ctx.to_metric(ctx.oblasts), "name")


def polygon_names(
    points: gpd.GeoSeries,
    polygons: gpd.GeoDataFrame,
    column: str,
    max_distance: float | None = None,
) -> np.ndarray:
    """`column` of the polygon containing each point, else of the nearest one (within
    `max_distance` when given; None beyond). Same metric CRS for both; the polygons are
    simplified to 100 m first (the source boundaries are not more precise than that)."""
    points = points.reset_index(drop=True)
    tree = shapely.STRtree(shapely.simplify(polygons.geometry.values, 100.0))
    point_idx, poly_idx = tree.query(points.values, predicate="within")
    found = np.full(len(points), -1)
    found[point_idx[::-1]] = poly_idx[::-1]  # the first polygon wins on shared edges
    missing = np.flatnonzero(found < 0)
    if len(missing):
        near_point, near_poly = tree.query_nearest(
            points.values[missing], max_distance=max_distance
        )
        found[missing[near_point[::-1]]] = near_poly[::-1]
    values = polygons[column].to_numpy()
    return np.array([values[i] if i >= 0 else None for i in found], dtype=object)


def village_names(count: int, rng: np.random.Generator) -> list[str]:
    """Plausible Kyrgyz village names (two stems, as Ак-Суу or Кара-Булак; a few Soviet-era
    Russian ones). Names repeat across the country, as real ones do."""
    prefixes = rng.choice(PREFIXES, count)
    roots = rng.choice(ROOTS, count)
    soviet = rng.random(count) < 0.06
    old = rng.choice(SOVIET_NAMES, count)
    return [
        str(o) if s else f"{p}-{r}" for p, r, s, o in zip(prefixes, roots, soviet, old, strict=True)
    ]


def synthetic_villages(
    ctx: Context, surface: CostSurface, real: pd.DataFrame, count: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Villages where people live in Kyrgyzstan: valley floors (slope under 12 %, 500-2,500 m),
    preferably low and beside streams, at least 2 km apart and from the `real` places."""
    if count == 0:
        return pd.DataFrame(columns=["name", "population", "oblast", "lon", "lat"])
    dem, transform, _ = ctx.dem
    slope = slope_grid(dem, transform)
    streams = rasterize_mask(list(ctx.streams.geometry), dem.shape, transform)
    from scipy import ndimage

    near_stream = ndimage.binary_dilation(streams, np.ones((5, 5), bool))
    urban = rasterize_mask(list(ctx.urban_areas.geometry), dem.shape, transform)
    ok = ((slope < 0.12) & (dem > 500) & (dem < 2500) & ~urban & np.isfinite(surface.cost)).ravel()
    cells = np.flatnonzero(ok)
    lon, lat = surface.lonlat(cells)
    inside = shapely.contains_xy(ctx.country.geometry.iloc[0], lon, lat)
    cells, lon, lat = cells[inside], lon[inside], lat[inside]
    weight = np.exp(-(dem.ravel()[cells] - 600.0) / 1000.0) * np.where(
        near_stream.ravel()[cells], 2.0, 1.0
    )
    pick = rng.choice(
        len(cells), size=min(len(cells), 3 * count), replace=False, p=weight / weight.sum()
    )
    jitter = rng.uniform(-0.45, 0.45, (len(pick), 2)) * abs(transform.a)
    lon, lat = lon[pick] + jitter[:, 0], lat[pick] + jitter[:, 1]
    keep = _spaced(np.r_[real["lon"], lon], np.r_[real["lat"], lat], len(real), 2000.0)
    lon, lat = lon[keep][:count], lat[keep][:count]
    population = np.clip(rng.lognormal(np.log(1200), 0.7, len(lon)), 150, 9000).round(-1)
    return pd.DataFrame(
        {
            "name": village_names(len(lon), rng),
            "population": population.astype(int),
            "oblast": nearest_oblast(ctx, lon, lat),
            "lon": lon,
            "lat": lat,
        }
    )


def _spaced(lon: np.ndarray, lat: np.ndarray, fixed: int, spacing_m: float) -> np.ndarray:
    """Mask over the points after the first `fixed`: kept when no earlier kept point (the
    fixed ones included) lies within `spacing_m`. Greedy, in the given order."""
    x = lon * 111_320.0 * np.cos(np.radians(41.3))
    y = lat * 111_320.0
    buckets: dict[tuple[int, int], list[int]] = {}
    kept = np.zeros(len(lon), bool)
    for i in range(len(lon)):
        key = (int(x[i] // spacing_m), int(y[i] // spacing_m))
        near = [
            j
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for j in buckets.get((key[0] + dx, key[1] + dy), [])
        ]
        if i < fixed or all(np.hypot(x[i] - x[j], y[i] - y[j]) >= spacing_m for j in near):
            buckets.setdefault(key, []).append(i)
            kept[i] = True
    return kept[fixed:]


def add_local_roads(network: Network, places: pd.DataFrame) -> None:
    """Join every place to the network; the farthest first, so a road shared by several
    villages up a valley bears the name of the last one."""
    surface = network.surface
    lon, lat = places["lon"].to_numpy(), places["lat"].to_numpy()
    targets = surface.cells_at(lon, lat)
    paths, costs = connect_to_network(surface, network.network_cells(), targets)
    exact = surface.raw_cells_at(lon, lat)
    network.anchors[targets] = True
    network.anchors[exact] = True
    order = np.argsort(-np.where(np.isfinite(costs), costs, -1.0), kind="stable")
    for i in order.tolist():
        if exact[i] != targets[i]:  # on land the generalised lake outline covers
            paths[i] = np.concatenate([paths[i], line_cells(surface, targets[i], exact[i])[1:]])
        if len(paths[i]) < 2:
            continue
        row = places.iloc[i]
        kind = "г." if row["population"] >= 15_000 else "с."
        network.add(Road("", f"Подъезд к {kind} {row['name']}", "local", row["oblast"]), paths[i])


def add_village_links(
    network: Network,
    places: pd.DataFrame,
    elevation: np.ndarray,
    max_link_m: float = 12_000.0,
    min_new_share: float = 0.6,
) -> None:
    """Roads between neighbouring places (edges of their Delaunay triangulation shorter than
    `max_link_m`), the shortest first, where the network has no such road yet: a link is
    kept when at least `min_new_share` of its path is new road and it stays below 3,000 m."""
    from scipy.spatial import Delaunay

    surface = network.surface
    dem = elevation.ravel()
    xy = np.column_stack(
        [places["lon"] * 111_320.0 * np.cos(np.radians(41.3)), places["lat"] * 111_320.0]
    )
    triangles = Delaunay(xy).simplices
    pairs = np.unique(
        np.sort(
            np.vstack([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [0, 2]]]), axis=1
        ),
        axis=0,
    )
    length = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    keep = (length < max_link_m) & (length > 2_000.0)
    pairs, length = pairs[keep], length[keep]
    cells = surface.cells_at(places["lon"].to_numpy(), places["lat"].to_numpy())
    for a, b in pairs[np.argsort(length, kind="stable")].tolist():
        path = route(
            surface,
            cells[[a, b]],
            preferred=network.on_network,
            preferred_factor=0.5,
            margin_cells=8,
        )
        new = ~network.on_network[path]
        if new.mean() < min_new_share or dem[path].max() > 3000.0:
            continue
        name = f"{places['name'].iat[a]} – {places['name'].iat[b]}"
        network.add(Road("", name, "local", places["oblast"].iat[a]), path)
