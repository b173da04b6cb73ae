"""Where farming is possible: the cultivable valleys of Kyrgyzstan on a 250 m grid in UTM 43N.

Shared by the agriculture and irrigation generators. Cultivable land is the country minus the
lakes (with a shore strip), the urban areas and the city of Bishkek, below an elevation limit
per oblast (the Fergana side to 1,600 m, the Chui valley to 1,800 m, Talas and the Issyk-Kul
shore to 2,000 m, the Naryn and At-Bashy valleys to 2,250 m), on slopes under 3.5° of the
GEBCO elevation model. Stream beds, villages and the strips of the main canals are cut out
of it as vector buffers.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import rasterio.features
import rasterio.warp
import shapely
from affine import Affine
from scipy import ndimage

from demo.context import UTM_43N, Context

RAYON_NAMES = {"City of Tomok": "City of Tokmok", "Issyk Kul": "Issyk-Kul"}
"""Corrections the base `rayons` layer applies to geoBoundaries names."""

RESOLUTION_M = 250.0
SLOPE_LIMIT_DEG = 3.5
ELEVATION_LIMIT_M = {
    "Bishkek": 0.0,
    "Chuy": 1800.0,
    "Issyk-Kul": 2000.0,
    "Naryn": 2250.0,
    "Batken": 1600.0,
    "Jalal-Abad": 1600.0,
    "Talas": 2000.0,
    "Osh": 1600.0,
}
"""Upper limit of cultivation by oblast (`name_en` of `ctx.oblasts`)."""
TILE_M = 10_000.0
"""Side of the square tiles the cultivable polygon is cut into, so that clipping a field
against it only touches a few hundred vertices."""


@dataclass(frozen=True)
class Terrain:
    """The elevation and the cultivable land on a regular UTM 43N grid."""

    elevation: np.ndarray
    """Bilinear elevation (m), NaN outside the DEM."""
    transform: Affine
    oblast: np.ndarray
    """Row of `ctx.oblasts` for every cell, -1 outside the country."""
    cultivable: np.ndarray
    """True where fields may be laid out."""
    aspect: np.ndarray
    """Downslope direction (radians, counter-clockwise from east) of the smoothed terrain."""
    blocked: np.ndarray
    """True on lakes (with their shore strip), urban areas and Bishkek."""

    def cell_centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """UTM coordinates of the centres of cells."""
        t = self.transform
        return t.c + (np.asarray(cols) + 0.5) * t.a, t.f + (np.asarray(rows) + 0.5) * t.e

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (clamped to the grid) of UTM coordinates."""
        cols, rows = ~self.transform * (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        rows = np.clip(np.floor(rows).astype(np.int64), 0, self.elevation.shape[0] - 1)
        cols = np.clip(np.floor(cols).astype(np.int64), 0, self.elevation.shape[1] - 1)
        return rows, cols

    def elevation_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear elevation (m) at UTM coordinates."""
        cols, rows = ~self.transform * (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return ndimage.map_coordinates(
            self.elevation, [rows - 0.5, cols - 0.5], order=1, mode="nearest"
        )

    def lookup(self, grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The value of a grid of this terrain's shape at UTM coordinates (nearest cell)."""
        rows, cols = self.cell_of(x, y)
        return grid[rows, cols]


_CACHE: dict[tuple[int, str], tuple[weakref.ref[Context], Any]] = {}


def cached[T](ctx: Context, key: str, build: Callable[[], T]) -> T:
    """`build()` once per context: the irrigation generator reuses what the agriculture
    generator computed from the same geography (the context holds no generator state)."""
    entry = _CACHE.get((id(ctx), key))
    if entry is not None and entry[0]() is ctx:
        return cast(T, entry[1])
    for stale in [k for k, (ref, _) in _CACHE.items() if ref() is None]:
        del _CACHE[stale]
    value = build()
    _CACHE[(id(ctx), key)] = (weakref.ref(ctx), value)
    return value


def get_terrain(ctx: Context) -> Terrain:
    """The terrain of a context, computed once per context."""
    return cached(ctx, "terrain", lambda: _build_terrain(ctx))


def _build_terrain(ctx: Context) -> Terrain:
    values, dem_transform, _ = ctx.dem
    country = ctx.to_metric(ctx.country)
    x0, y0, x1, y1 = country.total_bounds
    shape = (int((y1 - y0) / RESOLUTION_M) + 2, int((x1 - x0) / RESOLUTION_M) + 2)
    transform = Affine(RESOLUTION_M, 0.0, x0 - RESOLUTION_M, 0.0, -RESOLUTION_M, y1 + RESOLUTION_M)
    elevation = np.full(shape, np.nan, dtype="float32")
    rasterio.warp.reproject(
        values,
        elevation,
        src_transform=dem_transform,
        src_crs="EPSG:4326",
        dst_transform=transform,
        dst_crs=f"EPSG:{UTM_43N}",
        resampling=rasterio.warp.Resampling.bilinear,
        dst_nodata=np.nan,
    )
    elevation = np.where(np.isnan(elevation), np.nanmax(elevation), elevation)
    oblasts = ctx.to_metric(ctx.oblasts)
    oblast = rasterio.features.rasterize(
        zip(oblasts.geometry, range(len(oblasts)), strict=True),
        out_shape=shape,
        transform=transform,
        fill=-1,
        dtype="int16",
    )
    limits = np.array([ELEVATION_LIMIT_M[name] for name in oblasts["name_en"]] + [0.0])
    smooth = ndimage.gaussian_filter(elevation, 2.0)
    grad_y, grad_x = np.gradient(smooth, RESOLUTION_M)
    slope = np.degrees(np.arctan(np.hypot(grad_x, grad_y)))
    # rows grow southwards, so the northward gradient is -grad_y; downslope is minus gradient
    aspect = np.arctan2(grad_y, -grad_x).astype("float32")
    suitability = np.minimum((limits[oblast] - elevation) / 100.0, SLOPE_LIMIT_DEG - slope)
    cultivable = ndimage.gaussian_filter(suitability, 1.0) > 0
    blocked = _excluded(ctx, shape, transform)
    cultivable &= (oblast >= 0) & ~blocked
    disk = ndimage.generate_binary_structure(2, 1)
    cultivable = ndimage.binary_closing(ndimage.binary_opening(cultivable, disk, 2), disk, 1)
    labels, count = ndimage.label(cultivable)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    min_cells = 5e6 / RESOLUTION_M**2  # valleys under 5 km² are left to pasture
    cultivable = (sizes >= min_cells)[labels] & (labels > 0)
    return Terrain(
        elevation=elevation,
        transform=transform,
        oblast=oblast,
        cultivable=cultivable,
        aspect=aspect,
        blocked=blocked,
    )


def _excluded(ctx: Context, shape: tuple[int, int], transform: Affine) -> np.ndarray:
    """Cells of lakes (with a 500 m shore strip), urban areas and Bishkek."""
    lakes = ctx.to_metric(ctx.lakes).geometry.buffer(500.0)
    towns = list(ctx.to_metric(ctx.urban_areas).geometry)
    towns += list(ctx.to_metric(ctx.bishkek_boundary).geometry)
    return rasterio.features.rasterize(
        [*lakes, *towns], out_shape=shape, transform=transform, fill=0, dtype="uint8"
    ).astype(bool)


def exclusion_zones(ctx: Context) -> np.ndarray:
    """Stream beds and villages (UTM 43N polygons) that fields keep clear of.

    Stream beds widen with the upstream area (80 m across for a stream of 150 km², about
    560 m for the Chu); villages are discs growing with the square root of the population.
    """
    streams = ctx.to_metric(ctx.streams)
    half_width = 40.0 + 12.0 * np.sqrt(streams["upstream_area_km2"].to_numpy() / 100.0)
    beds = shapely.buffer(streams.geometry.to_numpy(), half_width, quad_segs=2)
    places = ctx.to_metric(ctx.settlements)
    radius = 200.0 + 7.0 * np.sqrt(places["population"].to_numpy(dtype=float))
    villages = shapely.buffer(places.geometry.to_numpy(), radius, quad_segs=8)
    return np.concatenate([beds, villages])


def _chaikin(ring: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Corner cutting of a closed ring (first point not repeated): rounds the cell staircase."""
    for _ in range(iterations):
        following = np.roll(ring, -1, axis=0)
        ring = np.stack(
            [0.75 * ring + 0.25 * following, 0.25 * ring + 0.75 * following], axis=1
        ).reshape(-1, 2)
    return ring


def _smooth(polygon: shapely.Polygon) -> shapely.Geometry:
    rings = [
        np.asarray(polygon.exterior.coords)[:-1],
        *(np.asarray(r.coords)[:-1] for r in polygon.interiors),
    ]
    smooth = [_chaikin(r) for r in rings if len(r) >= 3]
    return shapely.Polygon(smooth[0], smooth[1:])


def cultivable_tiles(ctx: Context, terrain: Terrain, extra: np.ndarray) -> np.ndarray:
    """The cultivable land as polygons (UTM 43N) cut into tiles of `TILE_M`, stream beds,
    villages and the `extra` polygons (canal strips) removed: the pieces fields are clipped
    to."""
    mask = terrain.cultivable.astype("uint8")
    shapes = [
        shapely.geometry.shape(geom)
        for geom, _ in rasterio.features.shapes(mask, mask=mask > 0, transform=terrain.transform)
    ]
    land = shapely.simplify(np.array(shapes, dtype=object), RESOLUTION_M * 0.4)
    land = shapely.make_valid(np.array([_smooth(p) for p in land], dtype=object))
    land = shapely.get_parts(land)
    land = land[shapely.get_type_id(land) == 3]
    country = ctx.to_metric(ctx.country).geometry.iloc[0].buffer(-30.0)
    x0, y0, x1, y1 = shapely.total_bounds(land)
    xs = np.arange(np.floor(x0 / TILE_M) * TILE_M, x1, TILE_M)
    ys = np.arange(np.floor(y0 / TILE_M) * TILE_M, y1, TILE_M)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    tile_index, land_index = shapely.STRtree(land).query(
        shapely.box(gx, gy, gx + TILE_M, gy + TILE_M)
    )
    boxes = shapely.box(
        gx[tile_index], gy[tile_index], gx[tile_index] + TILE_M, gy[tile_index] + TILE_M
    )
    pieces = shapely.intersection(land[land_index], boxes)
    pieces = shapely.make_valid(pieces)
    excluded = np.concatenate([exclusion_zones(ctx), extra])
    pair_piece, pair_zone = shapely.STRtree(excluded).query(pieces)
    if len(pair_piece):
        order = np.argsort(pair_piece, kind="stable")
        groups = np.split(pair_zone[order], np.flatnonzero(np.diff(pair_piece[order])) + 1)
        owners = np.unique(pair_piece[order])
        cuts = np.array([shapely.union_all(excluded[g]) for g in groups], dtype=object)
        pieces[owners] = shapely.difference(pieces[owners], cuts)
    outside = ~shapely.contains_properly(country, pieces)
    pieces[outside] = shapely.intersection(pieces[outside], country)
    pieces = shapely.make_valid(pieces)
    pieces = pieces[~shapely.is_empty(pieces) & (shapely.area(pieces) > 1e4)]
    return pieces


def locate(ctx: Context, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rayon name (as in the `rayons` layer), oblast name (its `oblast` field) and number
    of the rayon within its oblast (alphabetical) of UTM 43N points."""
    rayons = ctx.to_metric(ctx.rayons).reset_index(drop=True)
    tree = shapely.STRtree(rayons.geometry.to_numpy())
    found, index = tree.query(points, predicate="within")
    owner = np.full(len(points), -1)
    owner[found] = index
    lost = owner < 0
    if lost.any():  # rayon outlines do not quite meet the country outline
        owner[lost] = tree.query_nearest(points[lost], all_matches=False)[1]
    names = rayons["shapeName"].replace(RAYON_NAMES)
    number = names.groupby(rayons["adm1_name"]).rank(method="first").astype(int)
    return (
        names.to_numpy()[owner],
        rayons["adm1_name"].to_numpy()[owner],
        number.to_numpy()[owner],
    )


def rayon_shapes(ctx: Context) -> dict[str, shapely.Geometry]:
    """Rayon outlines (UTM 43N) by their name in the `rayons` layer."""
    rayons = ctx.to_metric(ctx.rayons)
    return dict(zip(rayons["shapeName"].replace(RAYON_NAMES), rayons.geometry, strict=True))
