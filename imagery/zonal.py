"""Statistics of a raster per polygon with exact pixel coverage (exactextract).

Each pixel counts with the fraction of it the polygon covers, so a plot's statistics do not
depend on whether a border pixel's centre falls inside. NaN pixels (masked: clouds, shadows,
no data) are left out; the share of valid pixels is the covered area of valid pixels over the
polygon's area in pixels (a plot partly outside the scene counts the outside as not valid).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from exactextract import exact_extract

STATISTICS = ("mean", "median", "p10", "p90", "std", "valid_pixels", "valid_share")
_OPS = ["mean", "median", "quantile(q=0.1)", "quantile(q=0.9)", "stdev", "count"]
_KEY = "zonal_key"
_NAMES = {
    "quantile_10": "p10",
    "quantile_90": "p90",
    "stdev": "std",
    "count": "valid_pixels",
}


def zonal_statistics(
    raster: str, polygons: gpd.GeoDataFrame, id_column: str = "id"
) -> pd.DataFrame:
    """Coverage-weighted mean, median, p10, p90, standard deviation, valid pixel count and
    valid share of one band per polygon.

    Args:
        raster: a single-band raster file (NaN or its nodata value = not valid).
        polygons: polygons in any CRS (reprojected to the raster's); empty and null
            geometries, and polygons that miss the raster, are left out.
        id_column: the column that identifies a polygon in the result.

    Returns:
        One row per polygon that touches the raster: `id_column` and `STATISTICS` (the
        statistics are NaN when no pixel is valid; `valid_share` is then 0).
    """
    with rasterio.open(raster) as src:
        crs, bounds = src.crs, src.bounds
        pixel_area = abs(src.transform.a * src.transform.e)
    # exactextract's GeoPandas source treats a column named `id` as its own feature id
    # (returned as text): carry the ids under a name of our own
    frame = polygons[[id_column, polygons.geometry.name]].rename(columns={id_column: _KEY})
    frame = frame.set_geometry(polygons.geometry.name).to_crs(crs)
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    frame = frame[frame.intersects(shapely.box(*bounds))]
    if frame.empty:
        return pd.DataFrame(columns=[id_column, *STATISTICS])
    stats = exact_extract(
        raster, frame, _OPS, include_cols=[_KEY], output="pandas", strategy="raster-sequential"
    ).rename(columns={**_NAMES, _KEY: id_column})
    area_px = frame.geometry.area.to_numpy() / pixel_area
    stats["valid_share"] = np.clip(stats["valid_pixels"].to_numpy() / area_px, 0.0, 1.0)
    return stats[[id_column, *STATISTICS]]
