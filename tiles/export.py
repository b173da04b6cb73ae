"""Offline packages: the tiles of a region written as one PMTiles v3 archive.

The tiles are the ones the HTTP routes serve (same tilesets, rules and SQL, read by the
public role); each is gzip-compressed as PMTiles readers expect of MVT, empty tiles are left
out (a reader answers them as missing) and identical tiles are stored once. The archive is
written with the `pmtiles` library's writer, tiles in tile-id (Hilbert) order, so it is
clustered: MapLibre's PMTiles protocol reads it with few range requests.

Spec: https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from shapely.geometry.base import BaseGeometry

from tiles.errors import InvalidTileRequestError, TilesError
from tiles.service import TileService
from tiles.tilematrix import TileMatrixSet, get_tile_matrix_set
from tiles.tilesets import BASEMAP_ID, Tileset, TilesetLayer, TilesetRegistry
from tiles.types import BBox, TileCoord

PMTILES = "application/vnd.pmtiles"
EXPORT_TMS = "WebMercatorQuad"
"""PMTiles archives hold Web Mercator (z/x/y) tiles only."""


class ExportTooLargeError(InvalidTileRequestError):
    """The request would write more tiles than allowed."""


class ExportEmptyError(TilesError):
    """No tile of the request holds a feature."""


@dataclass(frozen=True)
class ExportPlan:
    """What an export writes: a tileset, a region and the tiles covering it."""

    tileset: Tileset
    bbox: BBox
    """CRS84 box of the region (clipped to the served bounds)."""
    minzoom: int
    maxzoom: int
    tiles: tuple[TileCoord, ...]
    """Tiles touching the region, in PMTiles tile-id order."""


@dataclass(frozen=True)
class ExportResult:
    """What was written."""

    path: Path
    tiles: int
    """Tiles with features (addressed in the archive)."""
    empty: int
    bytes: int


def export_tileset(registry: TilesetRegistry, layer_ids: Sequence[str]) -> Tileset:
    """The tileset drawing `layer_ids` (collection ids, or `basemap` alone).

    One id is that collection's own tileset (its cached tiles are reused); several make
    a multi-layer tileset in the order given.

    Raises:
        InvalidTileRequestError: no id, or `basemap` mixed with others.
        TilesetNotFoundError: an unknown id or one without geometry, naming the valid ones.
    """
    ids = list(dict.fromkeys(i.strip() for i in layer_ids if i.strip()))
    if not ids:
        raise InvalidTileRequestError("name at least one layer (collection id) to export")
    if BASEMAP_ID in ids:
        if len(ids) > 1:
            raise InvalidTileRequestError(f"{BASEMAP_ID} is exported alone, not with layers")
        return registry.get_basemap()
    tilesets = [registry.collection(i) for i in ids]
    if len(tilesets) == 1:
        return tilesets[0]
    layers: tuple[TilesetLayer, ...] = tuple(t.layers[0] for t in tilesets)
    return Tileset(
        id="+".join(ids), key=f"export/{'+'.join(ids)}", layers=layers, is_collection=False
    )


def service_renderer(
    service: TileService, tileset: Tileset
) -> Callable[[TileCoord], Awaitable[bytes]]:
    """Render an export's tiles with the tile service: a served tileset's tiles go through
    its caches (when they are in use), a multi-layer export's are rendered directly."""
    served = {t.key for t in service.registry.all()}
    tms = get_tile_matrix_set(EXPORT_TMS)

    async def render(tile: TileCoord) -> bytes:
        if tileset.key in served:
            return (await service.get_tile(tileset, EXPORT_TMS, tile.z, tile.x, tile.y)).data
        return await service.render(tileset, tms, tile)

    return render


def count_tiles(tms: TileMatrixSet, bbox: BBox, minzoom: int, maxzoom: int) -> int:
    """Tiles of zooms minzoom..maxzoom touching a CRS84 box (an upper bound for a region).

    >>> count_tiles(get_tile_matrix_set("WebMercatorQuad"), BBox(-180, -85, 180, 85), 0, 2)
    21
    """
    total = 0
    for z in range(minzoom, maxzoom + 1):
        col0, row0, col1, row1 = tms.tile_range(bbox, z)
        total += (col1 - col0 + 1) * (row1 - row0 + 1)
    return total


def largest_maxzoom(bbox: BBox, minzoom: int, maxzoom: int, max_tiles: int) -> int:
    """The highest zoom up to `maxzoom` whose export of the box stays within `max_tiles`
    (at least `minzoom`)."""
    tms = get_tile_matrix_set(EXPORT_TMS)
    best = minzoom
    for z in range(minzoom, maxzoom + 1):
        if count_tiles(tms, bbox, minzoom, z) > max_tiles:
            break
        best = z
    return best


def _tiles_in(tms: TileMatrixSet, region: BaseGeometry, bbox: BBox, z: int) -> list[TileCoord]:
    col0, row0, col1, row1 = tms.tile_range(bbox, z)
    tiles = [TileCoord(z, x, y) for x in range(col0, col1 + 1) for y in range(row0, row1 + 1)]
    if region.equals(shapely.box(*bbox)) or not tiles:
        return tiles
    boxes = shapely.box(*zip(*(tms.bounds_4326(t) for t in tiles), strict=True))
    shapely.prepare(region)
    return [t for t, hit in zip(tiles, shapely.intersects(region, boxes), strict=True) if hit]


def plan_export(
    tileset: Tileset,
    region: BaseGeometry,
    minzoom: int | None,
    maxzoom: int,
    bounds_4326: BBox,
    max_tiles: int,
) -> ExportPlan:
    """The tiles covering a region at zooms minzoom..maxzoom (Web Mercator).

    Args:
        tileset: what to draw (`export_tileset`).
        region: the area in CRS84 (a box or an oblast's polygons); tiles touching it are
            written, clipped to `bounds_4326` (the served tile limits).
        minzoom: lowest zoom; None: the tileset's lowest.
        maxzoom: highest zoom; above the tileset's highest it is lowered to it (clients
            overzoom the last level).
        bounds_4326: the served bounds (TileSettings.bounds_4326).
        max_tiles: refuse plans with more tiles than this.

    Raises:
        InvalidTileRequestError: empty region, a region outside the bounds, or bad zooms.
        ExportTooLargeError: more than `max_tiles` tiles, with the largest zoom that fits.
    """
    tms = get_tile_matrix_set(EXPORT_TMS)
    low = tileset.minzoom if minzoom is None else minzoom
    high = min(maxzoom, tileset.maxzoom)
    if low < 0 or maxzoom > tms.maxzoom or low > maxzoom:
        raise InvalidTileRequestError(
            f"zooms must satisfy 0 <= minzoom <= maxzoom <= {tms.maxzoom}; got {low}-{maxzoom}"
        )
    if low > tileset.maxzoom:
        raise InvalidTileRequestError(
            f"{tileset.id} has tiles from zoom {tileset.minzoom} to {tileset.maxzoom}; "
            f"minzoom {low} is above them"
        )
    if region.is_empty:
        raise InvalidTileRequestError("the export region is empty")
    clipped = region.intersection(shapely.box(*bounds_4326))
    if clipped.is_empty:
        raise InvalidTileRequestError(
            f"the region {tuple(round(v, 4) for v in region.bounds)} is outside the served "
            f"area {bounds_4326}"
        )
    bbox = BBox(*clipped.bounds)
    upper = count_tiles(tms, bbox, low, high)
    if upper > max_tiles:
        fits = largest_maxzoom(bbox, low, high, max_tiles)
        hint = (
            f"; maxzoom {fits} fits, or choose a smaller area"
            if count_tiles(tms, bbox, low, fits) <= max_tiles
            else "; choose a smaller area"
        )
        raise ExportTooLargeError(
            f"the export would have up to {upper:,} tiles (zooms {low}-{high}), more than "
            f"the limit of {max_tiles:,}{hint}"
        )
    tiles = [t for z in range(low, high + 1) for t in _tiles_in(tms, clipped, bbox, z)]
    tiles.sort(key=lambda t: zxy_to_tileid(t.z, t.x, t.y))
    return ExportPlan(tileset=tileset, bbox=bbox, minzoom=low, maxzoom=high, tiles=tuple(tiles))


def archive_metadata(plan: ExportPlan, tilejson: dict[str, Any]) -> dict[str, Any]:
    """The archive's JSON metadata: the tileset's TileJSON (name, attribution,
    `vector_layers`) without URLs, with the export's bounds and zooms."""
    meta = {k: v for k, v in tilejson.items() if k not in ("tiles", "tilejson", "scheme")}
    meta.update(
        {
            "format": "pbf",
            "type": "overlay",
            "bounds": list(plan.bbox),
            "minzoom": plan.minzoom,
            "maxzoom": plan.maxzoom,
            "center": _center(plan),
        }
    )
    return meta


def _center(plan: ExportPlan) -> list[float]:
    b = plan.bbox
    return [
        (b.xmin + b.xmax) / 2,
        (b.ymin + b.ymax) / 2,
        float(min(max(plan.minzoom, 8), plan.maxzoom)),
    ]


def _header(plan: ExportPlan) -> dict[str, Any]:
    b = plan.bbox
    lon, lat, zoom = _center(plan)

    def e7(value: float) -> int:
        return round(value * 10_000_000)

    return {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_lon_e7": e7(b.xmin),
        "min_lat_e7": e7(b.ymin),
        "max_lon_e7": e7(b.xmax),
        "max_lat_e7": e7(b.ymax),
        "center_zoom": int(zoom),
        "center_lon_e7": e7(lon),
        "center_lat_e7": e7(lat),
    }


async def _rendered_in_order(
    tiles: Iterable[TileCoord], render: Callable[[TileCoord], Awaitable[bytes]], concurrency: int
) -> Any:
    """Render up to `concurrency` tiles at once; yield (tile, bytes) in the input order."""
    window: list[tuple[TileCoord, asyncio.Task[bytes]]] = []
    try:
        for tile in tiles:
            window.append((tile, asyncio.ensure_future(render(tile))))
            if len(window) >= concurrency:
                first, task = window.pop(0)
                yield first, await task
        for tile, task in window:
            yield tile, await task
        window = []
    finally:
        for _, task in window:
            task.cancel()


async def write_pmtiles(
    plan: ExportPlan,
    render: Callable[[TileCoord], Awaitable[bytes]],
    path: Path,
    metadata: dict[str, Any],
    concurrency: int = 4,
    on_tile: Callable[[TileCoord, int], None] | None = None,
) -> ExportResult:
    """Render the plan's tiles and write them as a PMTiles v3 archive at `path`.

    Args:
        plan: from `plan_export`.
        render: a tile's uncompressed MVT bytes (b"" when empty), e.g. from TileService.
        path: the archive to write (replaced; on error nothing is left at `path`).
        metadata: the archive's JSON metadata (`archive_metadata`).
        concurrency: tiles rendered at once (database connections used).
        on_tile: called after each tile with its size in bytes (0 when empty).

    Raises:
        ExportEmptyError: no tile has a feature.
        TilesError: from `render` (timeouts, database unavailable).
    """
    partial = path.with_name(f".{path.name}.partial")
    written = empty = 0
    try:
        with partial.open("wb") as out:
            writer = Writer(out)
            try:
                async for tile, data in _rendered_in_order(plan.tiles, render, concurrency):
                    if data:
                        writer.write_tile(
                            zxy_to_tileid(tile.z, tile.x, tile.y), gzip.compress(data, mtime=0)
                        )
                        written += 1
                    else:
                        empty += 1
                    if on_tile is not None:
                        on_tile(tile, len(data))
            except BaseException:
                writer.tile_f.close()  # the writer's spool of tile data
                raise
            if not written:
                writer.tile_f.close()
                raise ExportEmptyError(
                    f"no feature of {plan.tileset.id} in the area "
                    f"{tuple(round(v, 4) for v in plan.bbox)} at zooms "
                    f"{plan.minzoom}-{plan.maxzoom}: nothing to export"
                )
            writer.finalize(_header(plan), metadata)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(path=path, tiles=written, empty=empty, bytes=path.stat().st_size)
