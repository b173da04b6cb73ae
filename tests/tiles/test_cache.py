"""The tile caches: LRU bound, invalidation by area, stale renders, the disk store."""

from __future__ import annotations

from pathlib import Path

import morecantile

from tests.tiles.support import BISHKEK, OSH
from tiles.cache import MemoryTileCache, TileCache, TileKey, etag_of
from tiles.types import BBox


def key_at(
    lon: float, lat: float, z: int = 12, tileset: str = "collections/lakes", variant: str = ""
) -> TileKey:
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
    return TileKey(tileset, "WebMercatorQuad", z, tile.x, tile.y, variant)


def point_box(lon: float, lat: float) -> BBox:
    return BBox(lon, lat, lon, lat)


def test_memory_cache_evicts_the_least_recently_used() -> None:
    cache = MemoryTileCache(max_bytes=3 * (100 + 64))
    keys = [TileKey("t", "WebMercatorQuad", 1, 0, i) for i in range(4)]
    for key in keys[:3]:
        cache.put(key, TileCache.uncached(b"x" * 100))
    assert cache.get(keys[0]) is not None  # now the most recent
    cache.put(keys[3], TileCache.uncached(b"x" * 100))
    assert cache.get(keys[1]) is None and cache.get(keys[0]) is not None and len(cache) == 3


def test_invalidation_drops_only_tiles_touching_the_area(tmp_path: Path) -> None:
    cache = TileCache(1 << 20, tmp_path)
    near, far = key_at(*BISHKEK), key_at(*OSH)
    other = key_at(*BISHKEK, tileset="collections/rivers")
    for key in (near, far, other):
        cache.put(key, b"tile", since=cache.generation)
    assert cache.invalidate({"collections/lakes"}, [point_box(*BISHKEK)]) == 1
    assert cache.get(near) is None
    assert cache.get(far) == (cache.uncached(b"tile"), "memory")
    assert cache.get(other) is not None
    assert not cache.disk.path(near).exists() and cache.disk.path(far).exists()  # type: ignore[union-attr]


def test_whole_table_invalidation(tmp_path: Path) -> None:
    cache = TileCache(1 << 20, tmp_path)
    keys = [key_at(*BISHKEK), key_at(*OSH, z=8)]
    for key in keys:
        cache.put(key, b"tile", since=cache.generation)
    cache.invalidate({"collections/lakes"}, None)
    assert all(cache.get(key) is None for key in keys)


def test_a_render_overtaken_by_an_edit_is_not_stored() -> None:
    cache = TileCache(1 << 20)
    near, far = key_at(*BISHKEK), key_at(*OSH)
    since = cache.generation  # the renders start...
    cache.invalidate({"collections/lakes"}, [point_box(*BISHKEK)])  # ...an edit commits
    tile = cache.put(near, b"old", since)
    assert tile.etag == etag_of(b"old") and cache.get(near) is None
    cache.put(far, b"fine", since)
    assert cache.get(far) is not None


def test_disk_hits_survive_a_new_process_and_filtered_tiles_stay_in_memory(tmp_path: Path) -> None:
    first = TileCache(1 << 20, tmp_path)
    plain, filtered = key_at(*BISHKEK), key_at(*BISHKEK, variant="abc")
    first.put(plain, b"plain", since=0)
    first.put(filtered, b"filtered", since=0)
    second = TileCache(1 << 20, tmp_path)
    assert second.get(plain) == (second.uncached(b"plain"), "disk")
    assert second.get(plain) == (second.uncached(b"plain"), "memory")
    assert second.get(filtered) is None


def test_empty_tiles_are_cached() -> None:
    cache = TileCache(1 << 20)
    key = key_at(*BISHKEK)
    cache.put(key, b"", since=0)
    hit = cache.get(key)
    assert hit is not None and hit[0].is_empty


def test_raster_map_tiles_of_the_default_style_go_to_disk(tmp_path: Path) -> None:
    tile = morecantile.tms.get("WebMercatorQuad").tile(*BISHKEK, 12)
    default = TileKey("map/ndvi", "WebMercatorQuad", 12, tile.x, tile.y, "d1", stored_as="d1.png")
    styled = TileKey("map/ndvi", "WebMercatorQuad", 12, tile.x, tile.y, "d2")
    cache = TileCache(1 << 20, tmp_path)
    cache.put(default, b"\x89PNG default", cache.generation)
    cache.put(styled, b"\x89PNG styled", cache.generation)
    file = tmp_path / "map/ndvi/WebMercatorQuad/12" / str(tile.x) / f"{tile.y}.d1.png"
    assert file.read_bytes() == b"\x89PNG default"
    restarted = TileCache(1 << 20, tmp_path)  # a new process sharing the disk
    assert restarted.get(default) == (cache.get(default)[0], "disk")  # type: ignore[index]
    assert restarted.get(styled) is None  # a client's own style stays in memory
    assert restarted.invalidate(["map/ndvi"], None) == 1  # a scene of ndvi was ingested
    assert not file.exists() and restarted.get(default) is None
