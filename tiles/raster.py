"""Raster map tiles (PNG, WebP) rendered from the image bank's COGs with rio-tiler.

The COGs live where the imagery pipelines write them (the image bank's layout)::

    <imagery_root>/<collection>/<item_id>/data.tif     beside   item.json

One collection per product (`elevation`, `slope`, `hillshade`, `ndvi`, `ndwi`, `nbr`); each
item is one scene date (its `item.json`'s `properties.datetime`). A tile request names the
collection and, with `datetime=`, the scene: the latest by default. Tiles are rendered on the
same tile matrix sets as the vector tiles (`tiles/tilematrix.py`), rescaled and coloured by
the product's style (`STYLES`), and cached in the vector tiles' `tiles.cache.TileCache`
(memory, and on disk for the default style) as tileset `map/<collection>`: the key holds the
item and its file's modification time, so a replaced COG is never served from the cache.
Ingestion records a change of the pseudo-table `raster.<collection>`
(`catalog.rasters_publish_change`, migration 0025) and every server's change listener drops
the collection's tiles (`TileService.apply_change` -> `RasterTiles.replaced`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tiles.cache import CachedTile, TileCache, TileKey
from tiles.errors import InvalidTileRequestError, SceneNotFoundError, TilesetNotFoundError
from tiles.tilematrix import get_tile_matrix_set
from tiles.types import TileCoord

DATA_FILE = "data.tif"
ITEM_FILE = "item.json"
FORMATS = {"png": "PNG", "webp": "WEBP"}
MEDIA_TYPES = {"png": "image/png", "webp": "image/webp"}
TILE_SIZE = 256
CHANGE_SCHEMA = "raster"
"""Changes of a raster collection are recorded as changes of table `raster.<collection>`."""


def map_tileset(collection: str) -> str:
    """The cache's tileset name of a raster collection's map tiles."""
    return f"map/{collection}"


@dataclass(frozen=True)
class RasterStyle:
    """How a product is drawn: the value range mapped to 0-255 and a rio-tiler colour map."""

    rescale: tuple[float, float]
    colormap: str
    legend: str


STYLES: dict[str, RasterStyle] = {
    "elevation": RasterStyle((-1500.0, 6500.0), "terrain", "elevation, m (hypsometric)"),
    "slope": RasterStyle((0.0, 60.0), "ylorrd", "slope, degrees"),
    "hillshade": RasterStyle((0.0, 255.0), "greys_r", "hillshade (grey)"),
    "ndvi": RasterStyle((-0.2, 0.9), "rdylgn", "NDVI"),
    "ndwi": RasterStyle((-0.5, 0.5), "brbg", "NDWI"),
    "nbr": RasterStyle((-0.5, 0.8), "rdylgn", "NBR"),
}
"""The raster collections served as map tilesets and their default rendering."""


@dataclass(frozen=True)
class Scene:
    """One item of a product collection: its id, acquisition time and COG."""

    item_id: str
    datetime: dt.datetime
    path: Path

    def version(self) -> str:
        """Changes when the COG is rewritten (modification time and size of the file)."""
        stat = self.path.stat()
        return f"{stat.st_mtime_ns}-{stat.st_size}"


@dataclass(frozen=True)
class RenderedRaster:
    """A rendered tile (empty bytes: nothing of the scene in the tile) and its origin."""

    tile: CachedTile
    source: str
    scene: Scene


def _item_datetime(folder: Path) -> dt.datetime:
    """The item's `properties.datetime` (or `start_datetime`); the folder's time otherwise."""
    try:
        props = json.loads((folder / ITEM_FILE).read_text("utf-8"))["properties"]
        text = props.get("datetime") or props["start_datetime"]
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (OSError, KeyError, ValueError, TypeError):
        return dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.UTC)


def parse_datetime(text: str) -> tuple[dt.datetime, dt.datetime]:
    """`datetime=` as a closed interval: a date is that whole UTC day, an instant itself,
    `a/b` (either end `..` or empty for open) the interval."""

    def one(value: str, end: bool) -> dt.datetime:
        if value in ("", ".."):
            return (
                dt.datetime.max.replace(tzinfo=dt.UTC)
                if end
                else dt.datetime.min.replace(tzinfo=dt.UTC)
            )
        try:
            if len(value) == 10:
                day = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
                return day + dt.timedelta(days=1, microseconds=-1) if end else day
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidTileRequestError(
                f"datetime {text!r} is not an RFC 3339 date, date-time or interval"
            ) from None
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)

    if "/" in text:
        start, _, stop = text.partition("/")
        return one(start, False), one(stop, True)
    return one(text, False), one(text, True)


class SceneIndex:
    """The scenes of each collection under the image bank's root, re-read when the
    collection's folder changes (an item added or removed)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._scenes: dict[str, tuple[int, list[Scene]]] = {}

    def scenes(self, collection: str) -> list[Scene]:
        """The collection's scenes with a COG, oldest first."""
        folder = self.root / collection
        try:
            stamp = folder.stat().st_mtime_ns
        except OSError:
            return []
        known = self._scenes.get(collection)
        if known is not None and known[0] == stamp:
            return known[1]
        found = [
            Scene(item.name, _item_datetime(item), item / DATA_FILE)
            for item in sorted(folder.iterdir())
            if (item / DATA_FILE).is_file()
        ]
        found.sort(key=lambda scene: (scene.datetime, scene.item_id))
        self._scenes[collection] = (stamp, found)
        return found

    def forget(self, collection: str) -> None:
        """Re-read the collection at the next request."""
        self._scenes.pop(collection, None)

    def choose(self, collection: str, datetime_text: str | None) -> Scene:
        """The latest scene, or the latest within `datetime_text`."""
        scenes = self.scenes(collection)
        if datetime_text:
            start, stop = parse_datetime(datetime_text)
            scenes = [s for s in scenes if start <= s.datetime <= stop]
        if not scenes:
            dates = ", ".join(s.datetime.date().isoformat() for s in self.scenes(collection))
            raise SceneNotFoundError(
                f"no scene of {collection} matches datetime {datetime_text!r}; "
                f"scene dates: {dates or 'none yet'}"
            )
        return scenes[-1]


@dataclass(frozen=True)
class RasterRequest:
    """One map tile: collection, tile matrix set, tile, format and rendering options."""

    collection: str
    tms: str
    tile: TileCoord
    fmt: str = "png"
    datetime: str | None = None
    rescale: tuple[float, float] | None = None
    colormap: str | None = None


def parse_rescale(text: str | None) -> tuple[float, float] | None:
    """`rescale=min,max` as two numbers."""
    if not text:
        return None
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise InvalidTileRequestError(f"rescale must be 'min,max', got {text!r}") from None
    if not low < high:
        raise InvalidTileRequestError(f"rescale minimum must be below maximum, got {text!r}")
    return low, high


class RasterTiles:
    """Renders and caches the map tiles of the raster collections."""

    def __init__(
        self, root: Path, cache: TileCache, caching: Callable[[], bool] = lambda: True
    ) -> None:
        self.index = SceneIndex(root)
        self.cache = cache
        self.caching = caching
        """True while the cache may be used (the vector tiles' rule: while the change
        listener receives changes)."""

    @staticmethod
    def style(collection: str) -> RasterStyle:
        """The collection's style; TilesetNotFoundError for an unknown collection."""
        try:
            return STYLES[collection]
        except KeyError:
            raise TilesetNotFoundError(
                f"no raster map tileset {collection!r}; raster collections: {', '.join(STYLES)}"
            ) from None

    def check(self, request: RasterRequest) -> tuple[Scene, TileKey]:
        """Validate the request, choose its scene and name its cache entry."""
        style = self.style(request.collection)
        if request.fmt not in FORMATS:
            raise InvalidTileRequestError(f"f must be one of {', '.join(FORMATS)}")
        colormap = request.colormap or style.colormap
        if colormap not in colormap_names():
            raise InvalidTileRequestError(f"unknown colormap {colormap!r}")
        get_tile_matrix_set(request.tms).check_tile(request.tile)
        scene = self.index.choose(request.collection, request.datetime)
        rescale = request.rescale or style.rescale
        variant = f"{scene.item_id}|{scene.version()}|{request.fmt}|{rescale}|{colormap}"
        digest = hashlib.blake2b(variant.encode(), digest_size=10).hexdigest()
        # the default style of a scene is bounded (scenes x formats): on disk too
        default = rescale == style.rescale and colormap == style.colormap
        t = request.tile
        key = TileKey(
            map_tileset(request.collection), request.tms, t.z, t.x, t.y, digest,
            stored_as=f"{digest}.{request.fmt}" if default else "",
        )  # fmt: skip
        return scene, key

    def find_cached(self, request: RasterRequest) -> RenderedRaster | None:
        """The cached tile, or None (the hot path: a few stats and a dictionary look-up)."""
        scene, key = self.check(request)
        hit = self.cache.get(key) if self.caching() else None
        return RenderedRaster(hit[0], hit[1], scene) if hit is not None else None

    def render(self, request: RasterRequest) -> RenderedRaster:
        """Render (blocking: run it in a worker thread) and cache one tile."""
        scene, key = self.check(request)
        since = self.cache.generation
        data = render_tile(scene.path, request, self.style(request.collection))
        if not self.caching():
            return RenderedRaster(TileCache.uncached(data), "rendered", scene)
        return RenderedRaster(self.cache.put(key, data, since), "rendered", scene)

    def replaced(self, collection: str) -> int:
        """A scene or product of `collection` was written or replaced: drop its tiles (from
        memory and disk) and re-read its scenes."""
        self.index.forget(collection)
        return self.cache.invalidate([map_tileset(collection)], None)


@functools.cache
def colormap_names() -> frozenset[str]:
    """rio-tiler's colour map names (rio-tiler is imported on first use: the server's import
    stays free of rasterio)."""
    from rio_tiler.colormap import cmap

    return frozenset(cmap.list())


def render_tile(path: Path, request: RasterRequest, style: RasterStyle) -> bytes:
    """One tile of a single-band COG, rescaled and coloured; empty bytes outside the COG."""
    from rio_tiler.colormap import cmap
    from rio_tiler.errors import TileOutsideBounds
    from rio_tiler.io import Reader

    grid = get_tile_matrix_set(request.tms).grid
    t = request.tile
    try:
        with Reader(os.fspath(path), tms=grid) as src:
            image = src.tile(t.x, t.y, t.z, tilesize=TILE_SIZE, indexes=1)
    except TileOutsideBounds:
        return b""
    if not image.mask.any():
        return b""
    low, high = request.rescale or style.rescale
    image = image.rescale(in_range=((low, high),))
    colours = cmap.get(request.colormap or style.colormap)
    return image.render(img_format=FORMATS[request.fmt], colormap=colours)
