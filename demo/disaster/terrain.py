"""Terrain derived from the elevation model for the hazard zones: slope, aspect, local relief,
and the turning of a raster of hazard levels into smooth, non-overlapping polygons.

The GEBCO grid has 30 arc-second pixels (about 700 m x 925 m here), so slopes come out gentler
than on the ground: a 20° pixel is a very steep mountainside. Grids are resampled (bilinear) by
a small factor before classes are drawn, which makes zone outlines follow the terrain instead of
the pixel staircase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio.features
import rasterio.warp
import shapely
from affine import Affine
from scipy import ndimage

from imagery.terrain import slope_and_aspect


@dataclass(frozen=True)
class Terrain:
    """Resampled terrain grids (EPSG:4326 pixels) over the country's bounding box."""

    elevation_m: np.ndarray
    slope_deg: np.ndarray
    aspect_deg: np.ndarray
    """Direction the slope faces, clockwise from north (0 = north-facing)."""
    relief_m: np.ndarray
    """Highest elevation within about 10 km, minus the elevation of the pixel."""
    broad_slope_deg: np.ndarray
    """Mean slope within about 3 km: low on plains and valley floors, high in mountains."""
    land: np.ndarray
    """True inside the country and outside the lakes."""
    transform: Affine

    def sample(self, grid: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Values of `grid` at points (nearest pixel, clamped to the grid)."""
        cols, rows = ~self.transform * (np.asarray(lon), np.asarray(lat))
        rows = np.clip(np.floor(rows).astype(int), 0, grid.shape[0] - 1)
        cols = np.clip(np.floor(cols).astype(int), 0, grid.shape[1] - 1)
        return grid[rows, cols]

    def mask_of(self, geometry: shapely.Geometry) -> np.ndarray:
        """True on the pixels whose centre lies in `geometry` (EPSG:4326)."""
        if geometry.is_empty:
            return np.zeros(self.elevation_m.shape, dtype=bool)
        return rasterio.features.geometry_mask(
            [geometry], self.elevation_m.shape, self.transform, invert=True
        )


def upsample(grid: np.ndarray, transform: Affine, factor: int) -> tuple[np.ndarray, Affine]:
    """A grid resampled `factor` times finer (bilinear, pixel centres aligned) and its
    transform."""
    fine = transform * Affine.scale(1 / factor)
    out = np.empty((grid.shape[0] * factor, grid.shape[1] * factor), dtype="float32")
    rasterio.warp.reproject(
        grid.astype("float32"),
        out,
        src_transform=transform,
        src_crs="EPSG:4326",
        dst_transform=fine,
        dst_crs="EPSG:4326",
        resampling=rasterio.warp.Resampling.bilinear,
    )
    return out, fine


def build_terrain(
    dem: tuple[np.ndarray, Affine, object], land: shapely.Geometry, factor: int
) -> Terrain:
    """Terrain grids from the DEM, resampled `factor` times finer (bilinear)."""
    values, transform, _ = dem
    slope, aspect = slope_and_aspect(values, transform)
    relief = ndimage.maximum_filter(values, size=25) - values
    broad = ndimage.uniform_filter(slope, size=5)
    east, north = np.sin(np.radians(aspect)), np.cos(np.radians(aspect))
    grids = [upsample(g, transform, factor)[0] for g in (values, slope, relief, broad, east, north)]
    fine = transform * Affine.scale(1 / factor)
    fine_aspect = (np.degrees(np.arctan2(grids[4], grids[5])) % 360.0).astype("float32")
    land_mask = rasterio.features.geometry_mask([land], grids[0].shape, fine, invert=True)
    return Terrain(grids[0], grids[1], fine_aspect, grids[2], grids[3], land_mask, fine)


def drop_specks(classes: np.ndarray, min_pixels: int) -> np.ndarray:
    """Levels smoothed (3 x 3 median: levels are ordinal) and connected patches smaller than
    `min_pixels` removed, so zones read as areas rather than noise."""
    out = ndimage.median_filter(classes, size=3)
    labels, count = ndimage.label(out > 0)
    if count:
        sizes = np.bincount(labels.ravel())
        out[(sizes[labels] < min_pixels) & (labels > 0)] = 0
    return out


def polygons_by_class(
    classes: np.ndarray, transform: Affine, tolerance_px: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """Polygons (EPSG:4326) of the 4-connected patches of each non-zero class, and their class.

    The patches are traced in pixel coordinates, where every corner is a whole number, and
    simplified together as a coverage (Visvalingam-Whyatt, `tolerance_px` pixels): the pixel
    staircase goes, and neighbouring patches keep sharing their edges, so no two overlap.
    """
    traced = rasterio.features.shapes(
        classes.astype("uint8"), mask=classes > 0, transform=Affine.identity(), connectivity=4
    )
    pairs = [(shapely.geometry.shape(geojson), int(value)) for geojson, value in traced]
    if not pairs:
        return np.array([], dtype=object), np.array([], dtype=int)
    polygons = np.array([p for p, _ in pairs], dtype=object)
    values = np.array([v for _, v in pairs], dtype=int)
    polygons = shapely.coverage_simplify(shapely.segmentize(polygons, 1.0), tolerance_px)
    a, b, c, d, e, f = transform[:6]
    geographic = shapely.transform(
        polygons,
        lambda xy: np.stack(
            [a * xy[:, 0] + b * xy[:, 1] + c, d * xy[:, 0] + e * xy[:, 1] + f], axis=1
        ),
    )
    return geographic, values


def disjoint_levels(levels: dict[int, shapely.Geometry]) -> dict[int, shapely.Geometry]:
    """Each level minus every higher level: the zones of one hazard never overlap."""
    out: dict[int, shapely.Geometry] = {}
    higher = shapely.Polygon()
    for level in sorted(levels, reverse=True):
        geometry = (
            shapely.difference(levels[level], higher) if not higher.is_empty else levels[level]
        )
        out[level] = polygonal(geometry)
        higher = shapely.union(higher, levels[level])
    return dict(sorted(out.items()))


def polygonal(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry as one valid (multi)polygon: intersections and
    differences can leave lines and points behind."""
    polygons: list[shapely.Geometry] = []
    stack = [geometry]
    while stack:
        item = stack.pop()
        if item.geom_type == "Polygon" and not item.is_empty:
            polygons.append(item)
        elif item.geom_type in ("MultiPolygon", "GeometryCollection"):
            stack.extend(shapely.get_parts(item).tolist()[::-1])
    if not polygons:
        return shapely.MultiPolygon()
    collected = shapely.MultiPolygon(polygons)
    return collected if collected.is_valid else shapely.union_all(polygons)
