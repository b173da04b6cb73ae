"""pygeoapi's rasterio coverage provider, answering `f=GeoTIFF` with a GeoTIFF.

Where pygeoapi 0.24's provider falls short, and what this subclass does instead:

- pygeoapi matches `f=` against the provider's `format.name` and then hands that name to
  GDAL as the driver of a bbox subset; GDAL calls the GeoTIFF driver `GTiff`. The public
  name (`GeoTIFF`) stays in the configuration; files are written with `GTiff`.
- its bbox subset masks with the bbox polygon (`rasterio.mask`, crop) and writes the masked
  array without a nodata value, so the cells of the crop's edge outside the polygon carry
  numpy's fill value (16959 in an Int16 DEM). A bbox subset in GeoTIFF is read here as the
  window of whole cells covering the bbox, every cell a real value.
"""

from __future__ import annotations

from typing import Any

import rasterio
from pygeoapi.provider.base import ProviderInvalidQueryError
from pygeoapi.provider.rasterio_ import RasterioProvider
from rasterio.io import MemoryFile
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds


class GeoTIFFCoverageProvider(RasterioProvider):  # type: ignore[misc]
    """RasterioProvider whose native output is written by GDAL's `GTiff` driver."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.native_format = "GTiff"

    def query(self, *args: Any, **kwargs: Any) -> Any:
        """A bbox subset in GeoTIFF through `window_subset`; anything else as pygeoapi does."""
        bbox = kwargs.get("bbox")
        if bbox and kwargs.get("format_", "json") != "json" and not kwargs.get("subsets"):
            return window_subset(self.data, bbox, kwargs.get("bbox_crs", 4326))
        return super().query(*args, **kwargs)


def window_subset(path: str, bbox: list[float], bbox_crs: int | str = 4326) -> bytes:
    """The cells of the COG at `path` covering `bbox` (minx, miny, maxx, maxy in `bbox_crs`,
    CRS84 order for 4326), as a GeoTIFF."""
    with rasterio.open(path) as src:
        crs = f"EPSG:{bbox_crs}" if isinstance(bbox_crs, int) else bbox_crs
        box = transform_bounds(crs, src.crs, *bbox[:4]) if src.crs != crs else tuple(bbox[:4])
        window = from_bounds(*box, transform=src.transform).round_offsets().round_lengths()
        window = window.intersection(Window(0, 0, src.width, src.height))
        if window.width < 1 or window.height < 1:
            raise ProviderInvalidQueryError(f"bbox {bbox} does not overlap the coverage")
        data = src.read(window=window)
        profile = {
            **src.profile,
            "driver": "GTiff",
            "width": int(window.width),
            "height": int(window.height),
            "transform": src.window_transform(window),
        }
        for key in ("blockxsize", "blockysize", "tiled", "copy_src_overviews"):
            profile.pop(key, None)
    with MemoryFile() as memfile:
        with memfile.open(**profile) as dest:
            dest.write(data)
        return bytes(memfile.read())
