"""pygeoapi's rasterio coverage provider, answering `f=GeoTIFF` with a GeoTIFF.

pygeoapi matches `f=` against the provider's `format.name` and then hands that name to
GDAL as the driver of a bbox subset; GDAL calls the GeoTIFF driver `GTiff`. This subclass
keeps the public name (`GeoTIFF`) in the configuration and writes with `GTiff`.
"""

from __future__ import annotations

from typing import Any

from pygeoapi.provider.rasterio_ import RasterioProvider

GEOTIFF = "GeoTIFF"
GEOTIFF_MEDIA_TYPE = "image/tiff; application=geotiff"


class GeoTIFFCoverageProvider(RasterioProvider):  # type: ignore[misc]
    """RasterioProvider whose native output is written by GDAL's `GTiff` driver."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.native_format = "GTiff"


def coverage_provider_config(path: str) -> dict[str, Any]:
    """The provider block of a raster collection's coverage."""
    return {
        "type": "coverage",
        "name": f"{__name__}.GeoTIFFCoverageProvider",
        "data": path,
        "format": {"name": GEOTIFF, "mimetype": GEOTIFF_MEDIA_TYPE},
    }
