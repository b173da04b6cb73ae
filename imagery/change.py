"""Change between two dates: burned areas from dNBR, vegetation loss from an NDVI drop,
both vectorised into polygons with a minimum area.

dNBR = NBR(before) - NBR(after) (Key and Benson 2006); a pixel is burned from `dnbr_min`
(0.27, the USGS lower bound of moderate-low severity) and its NBR after the fire at most
`NBR_AFTER_MAX` (-0.1), which keeps harvested fields out. A pixel has lost vegetation when its
NDVI fell by at least `ndvi_drop` (0.2). Pixels masked on either date are never changed.
The change is computed chunk by chunk; tracing the polygons needs the whole change grid (four
bytes per pixel), its mask (one) and its labels (four): 9 bytes a pixel, about 1.1 GB for a
full 10980 x 10980 Sentinel-2 tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import numpy as np
import pyproj
import rasterio.features
import shapely
import shapely.ops
from affine import Affine
from rasterio.crs import CRS
from scipy import ndimage

from imagery.blocks import read_band
from imagery.errors import GridMismatchError

DNBR_BURNED = 0.27
NBR_AFTER_MAX = -0.1
"""A burned pixel's NBR after the fire is at most this: bare soil after a harvest (about
-0.1 to 0.1) also shows a dNBR above 0.27, a charred surface is clearly negative."""
NDVI_DROP = 0.2
MIN_BURNED_HA = 1.0
MIN_CHANGE_HA = 0.5
_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class ChangePolygon:
    """One changed patch: its outline in WGS 84 (CRS84), area and mean change."""

    geometry: shapely.MultiPolygon
    area_ha: float
    mean_change: float


def difference(before: str, after: str, chunk: int = 1024) -> tuple[da.Array, CRS, Affine]:
    """before - after of two single-band rasters on one grid (lazy), and the grid.

    Raises:
        GridMismatchError: the rasters are not on the same grid.
    """
    with rasterio.open(before) as a, rasterio.open(after) as b:
        if (a.crs, a.transform, a.shape) != (b.crs, b.transform, b.shape):
            raise GridMismatchError(
                f"{before} and {after} are not on one grid ({a.crs} {a.shape} vs {b.crs} "
                f"{b.shape}); change needs two scenes of the same tile"
            )
        crs, transform = a.crs, a.transform
    return read_band(before, 1, chunk) - read_band(after, 1, chunk), crs, transform


def changed_polygons(
    change: da.Array, threshold: float, min_area_ha: float, crs: CRS, transform: Affine
) -> list[ChangePolygon]:
    """Polygons of the 8-connected patches where `change` >= `threshold` whose area is at
    least `min_area_ha`, with their mean change; outlines follow pixel edges.

    Args:
        change: the per-pixel change (NaN where unknown: never changed).
        threshold: the least change that counts.
        min_area_ha: smaller patches are dropped.
        crs, transform: the grid (areas are geodesic on a geographic grid).
    """
    values = change.compute()
    with np.errstate(invalid="ignore"):
        mask = values >= threshold
    labels, count = ndimage.label(mask, structure=_EIGHT)
    if count == 0:
        return []
    ids = np.arange(1, count + 1)
    pixels = ndimage.sum_labels(mask, labels, ids)
    kept = ids[pixels * _pixel_area_ha(crs, transform) >= min_area_ha]
    if kept.size == 0:
        return []
    means = dict(zip(kept, ndimage.mean(values, labels, kept), strict=True))
    keep = np.isin(labels, kept)
    parts: dict[int, list[shapely.Polygon]] = {}
    traced = rasterio.features.shapes(
        labels.astype("int32"), mask=keep, transform=transform, connectivity=8
    )
    for geojson, value in traced:
        parts.setdefault(int(value), []).append(shapely.geometry.shape(geojson))
    to_wgs84 = pyproj.Transformer.from_crs(crs, "OGC:CRS84", always_xy=True).transform
    out = []
    for label, polygons in sorted(parts.items()):
        local = _valid_multipolygon(shapely.union_all(polygons))
        geographic = _valid_multipolygon(shapely.ops.transform(to_wgs84, local))
        out.append(ChangePolygon(geographic, _area_ha(local, geographic, crs), float(means[label])))
    return out


def _valid_multipolygon(geometry: shapely.Geometry) -> shapely.MultiPolygon:
    """A valid MultiPolygon of the polygonal parts of `geometry` (8-connected pixels touch at
    corners, which a single ring may not do)."""
    fixed = shapely.make_valid(geometry)
    parts = shapely.get_parts(fixed)
    polygons = []
    for part in parts:
        if isinstance(part, shapely.Polygon):
            polygons.append(part)
        elif isinstance(part, shapely.MultiPolygon | shapely.GeometryCollection):
            polygons += [p for p in shapely.get_parts(part) if isinstance(p, shapely.Polygon)]
    return shapely.MultiPolygon(polygons)


def _pixel_area_ha(crs: CRS, transform: Affine) -> float:
    if crs.is_geographic:  # a rough size for the filter; exact areas come from _area_ha
        return abs(transform.a * transform.e) * 111_320.0 * 110_574.0 / 10_000.0
    return abs(transform.a * transform.e) / 10_000.0


def _area_ha(local: shapely.Geometry, geographic: shapely.Geometry, crs: CRS) -> float:
    if crs.is_geographic:
        return abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(geographic)[0]) / 10_000
    return local.area / 10_000.0
