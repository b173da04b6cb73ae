"""pygeoapi's rasterio coverage provider, answering `f=GeoTIFF` with a GeoTIFF.

Where pygeoapi 0.24's provider falls short, and what this subclass does instead:

- pygeoapi matches `f=` against the provider's `format.name` and then hands that name to
  GDAL as the driver of a bbox subset; GDAL calls the GeoTIFF driver `GTiff`. The public
  name (`GeoTIFF`) stays in the configuration; files are written with `GTiff`.
- its bbox subset masks with the bbox polygon (`rasterio.mask`, crop) and writes the masked
  array without a nodata value, so the cells of the crop's edge outside the polygon carry
  numpy's fill value (16959 in an Int16 DEM). A bbox subset in GeoTIFF is read here as the
  window of whole cells covering the bbox, every cell a real value.

`ImageBankCoverageProvider` serves a product collection of the image bank: pygeoapi makes
a provider per request, and this one resolves the collection's latest COG then (its
`data` is the bank's root, `options.collection` the collection), so a scene ingested into
a running server is served at once, by every worker, without a new configuration. While
the collection has no scene (and no shipped file, `options.fallback`) it answers 404 "no
scene ingested yet for <collection>".
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import rasterio
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)
from pygeoapi.provider.rasterio_ import RasterioProvider
from rasterio.io import MemoryFile
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from tiles.raster import SceneIndex


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


_INDEXES: dict[Path, SceneIndex] = {}
_LOCK = threading.Lock()
"""pygeoapi runs providers in worker threads: one scene index per bank root, shared."""


def current_cog(root: Path, collection: str, fallback: str | None = None) -> Path | None:
    """The COG a product collection serves now: its latest scene in the bank at `root`,
    else the shipped `fallback` file when it exists, else None."""
    with _LOCK:
        index = _INDEXES.setdefault(root, SceneIndex(root))
        scenes = index.scenes(collection)
    if scenes:
        return scenes[-1].path
    if fallback and Path(fallback).is_file():
        return Path(fallback)
    return None


class ImageBankCoverageProvider(GeoTIFFCoverageProvider):
    """The latest COG of a product collection, resolved when pygeoapi makes the provider
    (once per request); 404 on a query while the collection has no scene."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        options = provider_def.get("options") or {}
        self.collection = str(options["collection"])
        path = current_cog(Path(provider_def["data"]), self.collection, options.get("fallback"))
        self.is_empty = path is None
        if path is not None:
            super().__init__({**provider_def, "data": str(path)})
            return
        BaseProvider.__init__(self, provider_def)  # nothing to open yet
        self.native_format = "GTiff"
        self.axes, self.crs, self.num_bands = ["x", "y"], None, 1
        self._fields = {"1": {"title": self.collection, "type": "number"}}
        # what pygeoapi's collection document reads: an empty grid until the first scene
        self._coverage_properties = {"width": 0, "height": 0, "resx": None, "resy": None}

    def get_fields(self) -> dict[str, Any]:
        """The bands of the COG (one placeholder band while there is none)."""
        return self._fields if self.is_empty else super().get_fields()

    def query(self, *args: Any, **kwargs: Any) -> Any:
        """The coverage; ProviderItemNotFoundError (404) while there is no scene."""
        if self.is_empty:
            raise ProviderItemNotFoundError(
                user_msg=f"no scene ingested yet for {self.collection}: the coverage appears "
                "when the first scene of the collection is ingested"
            )
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
