"""Writing Cloud Optimized GeoTIFFs from Dask arrays, with bounded memory.

The array is computed one row of chunks at a time (the chunks of a row in parallel) into a
tiled, uncompressed temporary GeoTIFF (4 bytes a pixel on disk for float32, deleted after),
which rio-cogeo turns into a COG with internal overviews. At most one row of chunks of the
result is in memory at once, whatever the scene's size.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import dask.array as da
import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from imagery.blocks import row_slabs

BLOCK_SIZE = 512
GDAL_CACHE_MB = 128
"""GDAL's block cache while writing (its default, 5% of the machine's memory, grows with the
raster written and would make the process's memory follow the scene's size)."""
OVERVIEW_RESAMPLING = "average"


def cog_profile(dtype: str) -> dict[str, object]:
    """The COG profile every product uses: DEFLATE, 512 x 512 blocks, the floating-point
    predictor for float data (the horizontal one for integers)."""
    profile = dict(cog_profiles.get("deflate"))
    profile.update(
        blockxsize=BLOCK_SIZE,
        blockysize=BLOCK_SIZE,
        predictor=3 if np.dtype(dtype).kind == "f" else 2,
    )
    return profile


def nodata_of(dtype: str) -> float | int:
    """The nodata value of a product: NaN for floating point, 0 for unsigned integers."""
    return float("nan") if np.dtype(dtype).kind == "f" else 0


def write_cog(
    array: da.Array,
    path: Path,
    *,
    crs: CRS,
    transform: Affine,
    nodata: float | int | None = None,
    tags: dict[str, str] | None = None,
    on_rows: Callable[[int, int], None] | None = None,
) -> Path:
    """Compute a 2-D Dask array and write it as a COG with overviews at `path`.

    Args:
        array: the band (any dtype rasterio writes).
        path: the COG to write; written beside as a temporary file, then renamed.
        crs, transform: the grid of the array.
        nodata: the nodata value (default: NaN for float, 0 otherwise).
        tags: GeoTIFF metadata tags.
        on_rows: called with (rows done, rows total) after each row of chunks.

    Returns:
        The path written.
    """
    dtype = str(array.dtype)
    nodata = nodata_of(dtype) if nodata is None else nodata
    path.parent.mkdir(parents=True, exist_ok=True)
    tiled = path.with_name(f".{path.stem}.tiled.tif")
    profile = {
        "driver": "GTiff",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": BLOCK_SIZE,
        "blockysize": BLOCK_SIZE,
        "BIGTIFF": "IF_SAFER",  # uncompressed: rio-cogeo reads it back fastest
    }
    try:
        with (
            rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB << 20),
            rasterio.open(tiled, "w", **profile) as dst,
        ):
            if tags:
                dst.update_tags(**tags)
            for start, end in row_slabs(array):
                slab = array[start:end].compute()
                dst.write(slab, 1, window=Window(0, start, array.shape[1], end - start))
                if on_rows:
                    on_rows(end, array.shape[0])
        translate_to_cog(tiled, path)
    finally:
        tiled.unlink(missing_ok=True)
    return path


def translate_to_cog(source: Path, path: Path) -> None:
    """rio-cogeo: `source` as a COG at `path` (overviews down to one block, `average`)."""
    with rasterio.open(source) as src:
        dtype = src.dtypes[0]
    tmp = path.with_name(f".{path.stem}.cog.tmp.tif")
    cog_translate(
        str(source),
        str(tmp),
        cog_profile(dtype),
        overview_resampling=OVERVIEW_RESAMPLING,
        in_memory=False,
        quiet=True,
        use_cog_driver=False,
        config={
            "GDAL_NUM_THREADS": str(os.cpu_count() or 1),
            "GDAL_TIFF_OVR_BLOCKSIZE": str(BLOCK_SIZE),
            "GDAL_CACHEMAX": GDAL_CACHE_MB << 20,  # rasterio sets it in bytes
        },
    )
    tmp.replace(path)
