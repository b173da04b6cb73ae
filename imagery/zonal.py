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

from imagery.exact import KEY, extract

STATISTICS = ("mean", "median", "p10", "p90", "std", "valid_pixels", "valid_share")
_OPS = ["mean", "median", "quantile(q=0.1)", "quantile(q=0.9)", "stdev", "count"]
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
    geoms = polygons.geometry.to_crs(crs).to_numpy()
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    keep[keep] = shapely.intersects(geoms[keep], shapely.box(*bounds))
    if not keep.any():
        return pd.DataFrame(columns=[id_column, *STATISTICS])
    geoms, ids = geoms[keep], polygons[id_column].to_numpy()[keep]
    # each polygon's key is its position: exactextract answers in its own order
    stats = extract(raster, geoms, range(len(geoms)), crs.to_wkt(), _OPS).rename(columns=_NAMES)
    at = stats.pop(KEY).to_numpy(dtype=np.int64)
    stats.insert(0, id_column, ids[at])
    area_px = shapely.area(geoms)[at] / pixel_area
    stats["valid_share"] = np.clip(stats["valid_pixels"].to_numpy(dtype=float) / area_px, 0, 1)
    return stats[[id_column, *STATISTICS]]
