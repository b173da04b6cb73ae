"""The tile service: resolve a request, answer from the caches or render with PostGIS.

It receives an open psycopg async pool (of the public role) and a cache; the server owns
both. Identical concurrent requests share one query; when every client waiting for a tile
has gone, its query is cancelled in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from tiles.cache import CachedTile, TileCache, TileKey
from tiles.changes import TileChange
from tiles.errors import (
    InvalidTileRequestError,
    TileOutOfRangeError,
    TileQueryTimeoutError,
    TilesUnavailableError,
)
from tiles.query import (
    TileFilter,
    build_tile_query,
    transformable_sql,
    untransformable_rows_sql,
)
from tiles.raster import CHANGE_SCHEMA, map_tileset
from tiles.settings import TileSettings
from tiles.tilematrix import TileMatrixSet, get_tile_matrix_set
from tiles.tilesets import Tileset, TilesetRegistry
from tiles.types import BBox, TileCoord

_USER_ERRORS = (
    errors.DataError,
    errors.UndefinedFunction,
    errors.DatatypeMismatch,
    errors.CannotCoerce,
    errors.AmbiguousFunction,
    errors.IndeterminateDatatype,
)


@dataclass(frozen=True)
class RenderedTile:
    """A tile's bytes (empty: no feature), its ETag and where it came from."""

    data: bytes
    etag: str
    source: str
    """`memory`, `disk` or `database`."""

    @property
    def is_empty(self) -> bool:
        """True for a tile without features."""
        return not self.data


@dataclass
class _Flight:
    task: asyncio.Task[CachedTile]
    waiters: int = field(default=0)


_READABLE_SQL = """
SELECT x.s, x.t
FROM unnest(%s::text[], %s::text[]) AS x(s, t)
JOIN pg_namespace n ON n.nspname = x.s
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = x.t
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'geom' AND NOT a.attisdropped
WHERE has_column_privilege(c.oid, a.attnum, 'SELECT')"""


async def readable_tables(
    pool: AsyncConnectionPool[Any], tables: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The tables among `tables` whose geometry the pool's role may read."""
    ordered = sorted(tables)
    async with pool.connection() as conn:
        cur = await conn.execute(_READABLE_SQL, [[s for s, _ in ordered], [t for _, t in ordered]])
        return {(s, t) for s, t in await cur.fetchall()}


def filter_variant(*parts: str | None) -> str:
    """A short, stable cache variant name for a request's filter parameters."""
    text = "\x1f".join(part or "" for part in parts)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest() if text.strip("\x1f") else ""


log = logging.getLogger(__name__)


class TileService:
    """Answers tile requests for the tilesets of a registry."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        registry: TilesetRegistry,
        cache: TileCache,
        settings: TileSettings,
        raster_changed: Callable[[str], int] | None = None,
    ) -> None:
        self.pool = pool
        self.registry = registry
        self.cache = cache
        self.settings = settings
        self.raster_changed = raster_changed or (
            lambda collection: cache.invalidate([map_tileset(collection)], None)
        )
        """Called with the collection of a change of `raster.<collection>` (a scene or
        product (re)ingested): drops its map tiles (`tiles.raster.RasterTiles.replaced`)."""
        self.caching = False
        """True while changes are being received: only then are caches read and written."""
        self._inflight: dict[TileKey, _Flight] = {}
        self._checked: set[tuple[str, str]] = set()
        """Tables whose rows tiles skip (untransformable) were looked for and logged."""

    # -- requests ----------------------------------------------------------------------
    def zoom_range(self, tileset: Tileset, tms: TileMatrixSet) -> tuple[int, int]:
        """The tile matrices of `tms` with content in the tileset."""
        return (
            tms.zoom_from_web_mercator(tileset.minzoom),
            tms.zoom_from_web_mercator(tileset.maxzoom),
        )

    def resolve(
        self, tileset: Tileset, tms_id: str, z: int, x: int, y: int
    ) -> tuple[TileMatrixSet, TileCoord]:
        """Check a tile request against the set, the tileset's zooms and its limits.

        Raises:
            TileMatrixSetNotFoundError: unknown tile matrix set.
            TileOutOfRangeError: naming the valid range.
        """
        tms = get_tile_matrix_set(tms_id)
        tile = TileCoord(z, x, y)
        tms.check_tile(tile)
        low, high = self.zoom_range(tileset, tms)
        if not low <= z <= high:
            raise TileOutOfRangeError(
                f"tile matrix {z} is outside the zoom range of {tileset.id} in {tms.id}: "
                f"{low} to {high}"
            )
        col0, row0, col1, row1 = tms.tile_range(BBox(*self.settings.bounds_4326), z)
        if not (col0 <= x <= col1 and row0 <= y <= row1):
            raise TileOutOfRangeError(
                f"tile {z}/{y}/{x} (z/row/col) is outside the tile matrix set limits of "
                f"{tileset.id} in {tms.id} at tile matrix {z}: rows {row0}-{row1}, "
                f"columns {col0}-{col1}"
            )
        return tms, tile

    async def get_tile(
        self,
        tileset: Tileset,
        tms_id: str,
        z: int,
        x: int,
        y: int,
        tile_filter: TileFilter | None = None,
    ) -> RenderedTile:
        """The tile, from the caches or rendered.

        Raises:
            TileMatrixSetNotFoundError, TileOutOfRangeError: a bad request.
            InvalidTileRequestError: a filter on a multi-layer tileset, or one the database
                refused (e.g. comparing a text field with a number).
            TileQueryTimeoutError: the query ran past the statement timeout.
            TilesUnavailableError: no database connection.
        """
        cached = self.find_cached(tileset, tms_id, z, x, y, tile_filter)
        if cached is not None:
            return cached
        tms, tile = self.resolve(tileset, tms_id, z, x, y)
        key = TileKey(tileset.key, tms.id, z, x, y, tile_filter.variant if tile_filter else "")
        rendered = await self._shared(key, tileset, tms, tile, tile_filter)
        return RenderedTile(rendered.data, rendered.etag, "database")

    def find_cached(
        self,
        tileset: Tileset,
        tms_id: str,
        z: int,
        x: int,
        y: int,
        tile_filter: TileFilter | None = None,
    ) -> RenderedTile | None:
        """The tile from the caches (no I/O beyond a small file read), or None.

        Raises the same request errors as `get_tile`.
        """
        self.resolve(tileset, tms_id, z, x, y)
        if tile_filter is not None and tile_filter.layers is None and not tileset.is_collection:
            raise InvalidTileRequestError(
                f"filter and datetime apply to collection tiles, not to the {tileset.id} tileset"
            )
        if not self.caching:
            return None
        key = TileKey(tileset.key, tms_id, z, x, y, tile_filter.variant if tile_filter else "")
        hit = self.cache.get(key)
        return RenderedTile(hit[0].data, hit[0].etag, hit[1]) if hit is not None else None

    async def _shared(
        self,
        key: TileKey,
        tileset: Tileset,
        tms: TileMatrixSet,
        tile: TileCoord,
        tile_filter: TileFilter | None,
    ) -> CachedTile:
        flight = self._inflight.get(key)
        if flight is None:
            task = asyncio.ensure_future(
                self._render_and_cache(key, tileset, tms, tile, tile_filter)
            )
            flight = self._inflight[key] = _Flight(task)
            task.add_done_callback(lambda _: self._forget(key, flight))
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                flight.task.cancel()  # nobody waits any more: cancel the query

    def _forget(self, key: TileKey, flight: _Flight) -> None:
        if self._inflight.get(key) is flight:
            del self._inflight[key]
        if not flight.task.cancelled():
            flight.task.exception()  # retrieved: the waiters re-raise it

    async def _render_and_cache(
        self,
        key: TileKey,
        tileset: Tileset,
        tms: TileMatrixSet,
        tile: TileCoord,
        tile_filter: TileFilter | None,
    ) -> CachedTile:
        since = self.cache.generation
        data = await self.render(tileset, tms, tile, tile_filter)
        if self.caching:
            return self.cache.put(key, data, since)
        return TileCache.uncached(data)

    async def render(
        self,
        tileset: Tileset,
        tms: TileMatrixSet,
        tile: TileCoord,
        tile_filter: TileFilter | None = None,
    ) -> bytes:
        """Render a tile with PostGIS (no cache); b"" when it has no feature."""
        built = build_tile_query(tileset, tms, tile, self.settings, tile_filter)
        if built is None:
            return b""
        query, params = built
        try:
            async with self.pool.connection() as conn:
                # bytes as they are: in text, PostgreSQL hex-encodes the tile and psycopg
                # decodes it again (5 ms of a 140 KB tile, more than the database's work)
                await self._log_skipped(conn, tileset, tms)
                cur = conn.cursor(binary=True)
                await cur.execute(query, params)
                row = await cur.fetchone()
        except errors.QueryCanceled as exc:
            raise TileQueryTimeoutError(
                f"tile {tile.z}/{tile.y}/{tile.x} of {tileset.id} took longer than "
                f"{self.settings.statement_timeout_ms} ms and was cancelled"
            ) from exc
        except _USER_ERRORS as exc:
            message = exc.diag.message_primary if exc.diag else str(exc)
            raise InvalidTileRequestError(f"invalid filter: {message}") from exc
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise TilesUnavailableError("the database is unavailable") from exc
        return bytes(row[0]) if row and row[0] is not None else b""

    async def _log_skipped(
        self, conn: psycopg.AsyncConnection[Any], tileset: Tileset, tms: TileMatrixSet
    ) -> None:
        """Log, once per table (again after it changes), the rows tiles skip because their
        coordinates cannot be transformed (tiles/query.py `transformable_sql`)."""
        for item in tileset.layers:
            layer = item.layer
            if layer.qualified_table in self._checked:
                continue
            self._checked.add(layer.qualified_table)
            if transformable_sql(layer.storage_srid, tms.srid) is None:
                continue
            cur = await conn.execute(untransformable_rows_sql(layer))
            ids = [row[0] for row in await cur.fetchall()]
            if ids:
                log.warning(
                    "tiles of %s skip features %s: coordinates outside longitude -180..180, "
                    "latitude -85.06..85.06 (fix or delete them)",
                    layer.id,
                    ids,
                )

    # -- freshness ---------------------------------------------------------------------
    def apply_change(self, change: TileChange) -> int:
        """Invalidate the cached tiles a committed change touches; how many were in memory."""
        if change.schema == CHANGE_SCHEMA:
            return self.raster_changed(change.table)
        self._checked.discard((change.schema, change.table))
        keys = self.registry.keys_for_table(change.schema, change.table)
        if not keys:
            return 0
        return self.cache.invalidate(keys, change.boxes)

    def set_listening(self, listening: bool) -> None:
        """Use the caches only while changes are received (see `ChangeListener.on_state`)."""
        if not listening and self.caching:
            self.cache.memory.clear()
        self.caching = listening
