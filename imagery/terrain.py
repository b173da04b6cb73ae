"""The terrain model: slope, aspect and hillshade of a DEM, chunk by chunk.

Slope and aspect use central differences (numpy.gradient), on a projected grid with its pixel
size, on a geographic grid (EPSG:4326, e.g. GEBCO) with pixel sizes converted from degrees to
metres at each row's latitude. Chunks overlap by one pixel (dask `map_overlap`), so the
result does not depend on the chunk size.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
from affine import Affine

METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0


def pixel_size_m(transform: Affine, rows: np.ndarray, geographic: bool) -> tuple[np.ndarray, float]:
    """(dx per row, dy) in metres of the rows `rows` of a grid."""
    if not geographic:
        return np.full((len(rows), 1), abs(transform.a)), abs(transform.e)
    lat = transform.f + (rows + 0.5) * transform.e
    dx = abs(transform.a) * METRES_PER_DEGREE_LON_EQUATOR * np.cos(np.radians(lat))[:, None]
    return dx, abs(transform.e) * METRES_PER_DEGREE_LAT


def slope_and_aspect(
    elevation: np.ndarray, transform: Affine, geographic: bool = True, first_row: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Slope (degrees) and aspect (degrees clockwise from north, the downhill direction) of an
    elevation grid in metres.

    Args:
        elevation: the grid (rows north to south when `transform.e` < 0).
        transform: its affine transform.
        geographic: True when the grid is in degrees (pixel size converted per latitude).
        first_row: the grid's first row in the full raster (for the latitude of a chunk).
    """
    rows = first_row + np.arange(elevation.shape[0])
    dx_m, dy_m = pixel_size_m(transform, rows, geographic)
    d_row, d_col = np.gradient(elevation.astype("float64"))
    east = d_col / dx_m  # rise per metre towards the east
    north = -d_row / dy_m if transform.e < 0 else d_row / dy_m
    slope = np.degrees(np.arctan(np.hypot(east, north)))
    aspect = np.degrees(np.arctan2(-east, -north)) % 360.0
    return slope.astype("float32"), aspect.astype("float32")


def hillshade(
    slope_deg: np.ndarray, aspect_deg: np.ndarray, azimuth: float = 315.0, altitude: float = 45.0
) -> np.ndarray:
    """Hillshade 0-255 (uint8, 1 darkest: 0 is nodata) lit from `azimuth` (degrees clockwise
    from north) at `altitude` degrees above the horizon (Burrough and McDonnell 1998)."""
    zenith = np.radians(90.0 - altitude)
    slope = np.radians(slope_deg)
    facing = np.radians(aspect_deg)
    light = np.radians(azimuth)
    shade = np.cos(zenith) * np.cos(slope) + np.sin(zenith) * np.sin(slope) * np.cos(light - facing)
    return np.clip(1 + 254 * np.clip(shade, 0, 1), 1, 255).astype("uint8")


def _terrain_block(
    block: np.ndarray, rows: np.ndarray, transform: Affine, geographic: bool, product: str
) -> np.ndarray:
    """One overlapped chunk of slope, aspect or hillshade (NaN or 0 where the DEM is NaN);
    `rows` holds each pixel's row in the full raster (the latitude of a geographic chunk)."""
    first_row = int(rows[1, 0]) - 1 if rows.shape[0] > 1 else int(rows[0, 0])
    fill = np.nanmean(block) if np.isfinite(block).any() else 0.0
    filled = np.where(np.isnan(block), fill, block)
    slope, aspect = slope_and_aspect(filled, transform, geographic, first_row)
    missing = np.isnan(block)
    if product == "hillshade":
        out = hillshade(slope, aspect)
        out[missing] = 0
        return out
    out = slope if product == "slope" else aspect
    out[missing] = np.nan
    return out


def terrain_product(
    elevation: da.Array, transform: Affine, product: str, geographic: bool
) -> da.Array:
    """`slope`, `aspect` (float32 degrees, NaN nodata) or `hillshade` (uint8, 0 nodata) of
    a lazy elevation array (float, NaN where no data)."""
    dtype = "uint8" if product == "hillshade" else "float32"
    height, width = elevation.shape
    rows = da.broadcast_to(
        da.arange(height, chunks=elevation.chunks[0])[:, None], (height, width)
    ).rechunk(elevation.chunks)
    return da.map_overlap(
        _terrain_block,
        elevation,
        rows,
        depth=1,
        boundary="nearest",
        dtype=dtype,
        meta=np.empty((0, 0), dtype),
        transform=transform,
        geographic=geographic,
        product=product,
    )
