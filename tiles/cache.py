"""Tile caches: an in-memory LRU in front of an on-disk store, invalidated by area.

Keys name a tileset, tile matrix set, tile and filter variant. Unfiltered tiles go to both
levels; filtered ones (a CQL2 `filter` or `datetime`) to memory only, since their variety is
unbounded. Empty tiles are cached too (as zero bytes), so they answer as fast as full ones.

Freshness: `TileCache.invalidate` drops the tiles of some tilesets whose area (grown by a
margin that covers the MVT buffer) touches a changed box. A tile rendered from a snapshot
older than an invalidation of its area is not stored: `put` takes the generation read before
the query and refuses when an overlapping invalidation arrived since.

Not thread-safe: used from one event loop per process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tiles.tilematrix import SUPPORTED_TMS, get_tile_matrix_set
from tiles.types import BBox, TileCoord

INVALIDATION_MARGIN = 1 / 16
"""Fraction of a tile's size added around it when testing it against a changed area: more
than the MVT buffer (64/4096) plus the displacement of simplification."""
_RECENT = 4096


def etag_of(data: bytes) -> str:
    """A strong ETag of the tile's bytes (the same in every process)."""
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


@dataclass(frozen=True)
class TileKey:
    """One cached tile."""

    tileset: str
    tms: str
    z: int
    x: int
    y: int
    variant: str = ""
    """Empty for the unfiltered tile; otherwise a digest of the filter."""
    stored_as: str = ""
    """The file name after `<y>.` of a tile with a variant that still goes to disk (a raster
    map tile of a scene in its default style: `<digest>.png`); empty: `mvt`."""

    @property
    def on_disk(self) -> bool:
        """Unfiltered tiles of collections and the basemap, and raster map tiles of a scene
        in the default style, go to disk; filtered and composite tiles (`composite/...`,
        known to a process only once asked for, so a restarted process could not invalidate
        them) stay in memory."""
        if self.tileset.startswith("composite/"):
            return False
        return not self.variant or bool(self.stored_as)

    @property
    def coord(self) -> TileCoord:
        """The tile's coordinate."""
        return TileCoord(self.z, self.x, self.y)

    def bounds_4326(self) -> BBox:
        """CRS84 area the tile depends on."""
        return get_tile_matrix_set(self.tms).bounds_4326(self.coord, INVALIDATION_MARGIN)


@dataclass(frozen=True)
class CachedTile:
    """A rendered tile and its ETag."""

    data: bytes
    etag: str

    @property
    def is_empty(self) -> bool:
        """True for a tile without features."""
        return not self.data


class MemoryTileCache:
    """LRU bounded by the total size of the tiles (empty tiles count 64 bytes)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._tiles: OrderedDict[TileKey, CachedTile] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tiles)

    @staticmethod
    def _cost(tile: CachedTile) -> int:
        return len(tile.data) + 64

    def get(self, key: TileKey) -> CachedTile | None:
        """The tile, now the most recently used; None when absent."""
        tile = self._tiles.get(key)
        if tile is not None:
            self._tiles.move_to_end(key)
        return tile

    def put(self, key: TileKey, tile: CachedTile) -> None:
        """Store a tile, evicting the least recently used beyond the size bound."""
        self.pop(key)
        if self._cost(tile) > self.max_bytes:
            return
        self._tiles[key] = tile
        self.size += self._cost(tile)
        while self.size > self.max_bytes:
            _, evicted = self._tiles.popitem(last=False)
            self.size -= self._cost(evicted)

    def pop(self, key: TileKey) -> None:
        """Forget a tile."""
        tile = self._tiles.pop(key, None)
        if tile is not None:
            self.size -= self._cost(tile)

    def clear(self) -> None:
        """Forget every tile."""
        self._tiles.clear()
        self.size = 0

    def keys(self, tilesets: set[str]) -> list[TileKey]:
        """Keys of the cached tiles of some tilesets."""
        return [key for key in self._tiles if key.tileset in tilesets]


class DiskTileCache:
    """Unfiltered tiles as files `<root>/<tileset>/<tms>/<z>/<x>/<y>.mvt`, raster map tiles as
    `<root>/map/<collection>/<tms>/<z>/<x>/<y>.<digest>.<format>` (written atomically)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, key: TileKey) -> Path:
        """Where the tile's file lives."""
        name = f"{key.y}.{key.stored_as or 'mvt'}"
        return self.root / key.tileset / key.tms / str(key.z) / str(key.x) / name

    def get(self, key: TileKey) -> bytes | None:
        """The tile's bytes, or None when not stored."""
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put(self, key: TileKey, data: bytes) -> None:
        """Store a tile (a reader sees the old file or the new one, never half of one)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def is_empty(self) -> bool:
        """True when no tile is stored."""
        return not any(self.root.rglob("*.mvt"))

    def clear(self) -> None:
        """Remove every stored tile."""
        for child in self.root.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)

    def remove_area(self, tileset: str, boxes: Sequence[BBox] | None) -> int:
        """Remove the tiles of a tileset touching any box (all of them for None)."""
        base = self.root / tileset
        if boxes is None:
            shutil.rmtree(base, ignore_errors=True)
            return -1
        removed = 0
        for tms_dir in _subdirs(base, numeric=False):
            if tms_dir.name not in SUPPORTED_TMS:
                continue
            tms = get_tile_matrix_set(tms_dir.name)
            for z_dir in _subdirs(tms_dir):
                z = int(z_dir.name)
                ranges = [
                    tms.tile_range(_grow(box, 360 / tms.matrix_size(z)[0]), z) for box in boxes
                ]
                removed += _remove_in_ranges(z_dir, ranges)
        return removed


def _subdirs(path: Path, numeric: bool = True) -> list[Path]:
    try:
        return [p for p in path.iterdir() if p.is_dir() and (p.name.isdigit() or not numeric)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _grow(box: BBox, tile_width: float) -> BBox:
    m = tile_width * INVALIDATION_MARGIN
    return BBox(box.xmin - m, box.ymin - m, box.xmax + m, box.ymax + m)


def _remove_in_ranges(z_dir: Path, ranges: list[tuple[int, int, int, int]]) -> int:
    removed = 0
    for x_dir in _subdirs(z_dir):
        x = int(x_dir.name)
        rows = [(r0, r1) for c0, r0, c1, r1 in ranges if c0 <= x <= c1]
        if not rows:
            continue
        for file in x_dir.glob("*.mvt"):
            y = int(file.stem) if file.stem.isdigit() else -1
            if any(r0 <= y <= r1 for r0, r1 in rows):
                file.unlink(missing_ok=True)
                removed += 1
    return removed


@dataclass(frozen=True)
class _Invalidation:
    generation: int
    tilesets: frozenset[str] | None
    """None: every tileset."""
    boxes: tuple[BBox, ...] | None

    def touches(self, key: TileKey) -> bool:
        if self.tilesets is not None and key.tileset not in self.tilesets:
            return False
        if self.boxes is None:
            return True
        area = key.bounds_4326()
        return any(area.intersects(box) for box in self.boxes)


class TileCache:
    """Memory LRU + optional disk store, with invalidation by area."""

    def __init__(self, memory_bytes: int, disk_root: Path | None = None) -> None:
        self.memory = MemoryTileCache(memory_bytes)
        self.disk = DiskTileCache(disk_root) if disk_root is not None else None
        self.generation = 0
        self._recent: deque[_Invalidation] = deque(maxlen=_RECENT)

    @staticmethod
    def uncached(data: bytes) -> CachedTile:
        """A tile with its ETag, not stored."""
        return CachedTile(data, etag_of(data))

    def get(self, key: TileKey) -> tuple[CachedTile, str] | None:
        """(tile, "memory" or "disk"), or None on a miss."""
        tile = self.memory.get(key)
        if tile is not None:
            return tile, "memory"
        if self.disk is not None and key.on_disk:
            data = self.disk.get(key)
            if data is not None:
                tile = CachedTile(data, etag_of(data))
                self.memory.put(key, tile)
                return tile, "disk"
        return None

    def is_stale(self, key: TileKey, since: int) -> bool:
        """True when an invalidation touching the tile arrived after generation `since`."""
        if since == self.generation:
            return False
        if not self._recent or self._recent[0].generation > since + 1:
            return True  # older than what we remember: assume the worst
        return any(item.touches(key) for item in self._recent if item.generation > since)

    def put(self, key: TileKey, data: bytes, since: int) -> CachedTile:
        """Cache a tile rendered from data read after generation `since`; returns it.

        A tile that an invalidation made stale while it was rendered is returned but not
        stored: the next request renders it again.
        """
        tile = CachedTile(data, etag_of(data))
        if self.is_stale(key, since):
            return tile
        self.memory.put(key, tile)
        if self.disk is not None and key.on_disk:
            self.disk.put(key, data)
        return tile

    def invalidate(self, tilesets: Iterable[str], boxes: Sequence[BBox] | None) -> int:
        """Drop the cached tiles of `tilesets` touching any of `boxes` (None: all of them).

        Returns how many tiles were dropped from memory (disk files are removed too).
        """
        names = frozenset(tilesets)
        self.generation += 1
        item = _Invalidation(self.generation, names, tuple(boxes) if boxes is not None else None)
        self._recent.append(item)
        dropped = 0
        for key in self.memory.keys(set(names)):
            if item.touches(key):
                self.memory.pop(key)
                dropped += 1
        if self.disk is not None:
            for name in names:
                self.disk.remove_area(name, item.boxes)
        return dropped

    def clear(self) -> None:
        """Forget every tile, in memory and on disk."""
        self.generation += 1
        self._recent.append(_Invalidation(self.generation, None, None))
        self.memory.clear()
        if self.disk is not None:
            self.disk.clear()
