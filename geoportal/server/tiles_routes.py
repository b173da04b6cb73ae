"""OGC API - Tiles routes (vector tiles of every layer and the national basemap).

Served by our own Starlette routes, ahead of the pygeoapi mount: pygeoapi 0.24's tile
handlers load the provider on every request, pass no `filter`/`datetime` to it, know no
ETag/304 and answer an out-of-range tile with a plain-text 404. The work is done by `tiles/`;
this module only parses requests, maps errors to problem details and writes headers.

Paths (OGC API Tiles, docs/tiles.md; z / y / x = tileMatrix / tileRow / tileCol):

    /collections/{collectionId}/tiles                                   tilesets
    /collections/{collectionId}/tiles/{tileMatrixSetId}                 tileset metadata
    /collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json   TileJSON
    /collections/{collectionId}/tiles/{tileMatrixSetId}/style.json      MapLibre style
    /collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{y}/{x}     a tile
    /tiles, /tiles/{tileMatrixSetId}[/tilejson.json|/style.json|/{z}/{y}/{x}]   the basemap
    /tiles/{tileMatrixSetId}/{z}/{y}/{x}?collections=a,b    several collections in one tile
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pygeoapi.provider.base import ProviderInvalidQueryError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from geoportal.db.database import Database
from geoportal.db.pools import PoolGetter
from geoportal.errors import exception_response, guarded
from geoportal.providers.tiles import compile_composite_datetime, compile_tile_filter
from geoportal.server.disconnect import respond_unless_disconnected
from geoportal.settings import Settings
from geoportal.tile_exports import download_url
from layers.catalogue import Catalogue
from tiles import metadata
from tiles.cache import TileCache
from tiles.changes import ChangeListener
from tiles.errors import (
    InvalidTileRequestError,
    TilesError,
    TilesUnavailableError,
)
from tiles.export import EXPORT_TMS, PMTILES
from tiles.query import TileFilter
from tiles.service import RenderedTile, TileService, readable_tables
from tiles.settings import TileSettings
from tiles.tilematrix import SUPPORTED_TMS, get_tile_matrix_set
from tiles.tilesets import COMPOSITE_PREFIX, Tileset, TilesetRegistry, build_registry
from tiles.types import BBox

log = logging.getLogger(__name__)

LANGUAGES = ("en", "ru", "ky")


def tile_settings_for(settings: Settings) -> TileSettings:
    """The tile engine's settings: `settings.tiles` when composed there, else the defaults,
    with the disk cache in `<data_dir>/tiles`."""
    configured = getattr(settings, "tiles", None)
    tiles = (
        configured
        if isinstance(configured, TileSettings)
        else TileSettings(statement_timeout_ms=min(settings.statement_timeout_ms, 10_000))
    )
    if tiles.cache_dir is None:
        tiles = tiles.model_copy(update={"cache_dir": settings.data_dir / "tiles"})
    return tiles


TILE_ERRORS = (TilesError, ProviderInvalidQueryError)
"""What the tile routes answer as problems themselves."""


def problem(request: Request, exc: Exception) -> Response:
    """The problem details answer of a tile error (the one table of `errors.py`)."""
    return exception_response(request, exc)


def _index(request: Request, name: str) -> int:
    text = str(request.path_params[name])
    if name == "x":  # allow /{z}/{y}/{x}.mvt and .pbf
        text = text.removesuffix(".mvt").removesuffix(".pbf")
    try:
        return int(text)
    except ValueError:
        raise InvalidTileRequestError(f"{name} must be an integer, got {text!r}") from None


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


@dataclass
class TileServer:
    """What the tile routes share in one process: engine settings, registry, cache, service."""

    settings: Settings
    tiles: TileSettings
    registry: TilesetRegistry
    cache: TileCache
    service: TileService | None = None
    listener: ChangeListener | None = None
    pool: PoolGetter = field(default=lambda: None, repr=False)
    """The tile pool (`geoportal.db.pools`, named `tiles`), opened by the app's lifespan."""
    language: str = "en"
    conninfo: str = field(default="", repr=False)
    """The change listener's own connection (LISTEN holds a session of its own)."""
    raster_changed: Callable[[str], int] | None = None
    """Drops a raster collection's map tiles (set by `raster_routes` when they share this
    cache); None: the service drops them from the cache itself."""

    # -- helpers -------------------------------------------------------------------------
    def language_of(self, request: Request) -> str:
        """`lang` parameter, else the first of ours in Accept-Language, else the default."""
        asked = [request.query_params.get("lang", "")] + [
            part.split(";")[0].strip()[:2]
            for part in request.headers.get("accept-language", "").split(",")
        ]
        return next((lang for lang in asked if lang in LANGUAGES), self.language)

    def tiles_url(self, tileset: Tileset) -> str:
        """Base URL of a tileset's tiles."""
        base = self.settings.public_url
        return (
            f"{base}/collections/{tileset.id}/tiles" if tileset.is_collection else f"{base}/tiles"
        )

    def headers(self, etag: str, source: str) -> dict[str, str]:
        """Caching headers of a tile answer."""
        max_age = self.tiles.max_age_s
        control = f"public, max-age={max_age}" if max_age else "public, no-cache"
        return {"ETag": etag, "Cache-Control": control, "X-Tile-Cache": source}

    def tileset_of(self, request: Request) -> Tileset:
        """The collection's tileset; for `/tiles/...` the collections named by
        `collections=` in one tile (OGC API Tiles), else the basemap."""
        collection = request.path_params.get("collectionId")
        if collection is not None:
            return self.registry.collection(collection)
        named = request.query_params.get("collections")
        if named is not None:
            return self.registry.composite(named.split(","))
        return self.registry.get_basemap()

    # -- handlers ------------------------------------------------------------------------
    async def tilesets(self, request: Request) -> Response:
        """The tilesets of a collection (or of the basemap), one per tile matrix set."""
        tileset = self.tileset_of(request)
        sets = [get_tile_matrix_set(tms_id) for tms_id in SUPPORTED_TMS]
        return JSONResponse(
            metadata.tilesets_list(
                tileset,
                self.tiles_url(tileset),
                sets,
                self.settings.public_url,
                self.language_of(request),
            ),
        )

    async def tileset(self, request: Request) -> Response:
        """Tileset metadata (`?f=tilejson` for TileJSON)."""
        if request.query_params.get("f") == "tilejson":
            return await self.tilejson(request)
        tileset = self.tileset_of(request)
        tms = get_tile_matrix_set(request.path_params["tileMatrixSetId"])
        zooms = self._service().zoom_range(tileset, tms)
        document = metadata.tileset_metadata(
            tileset,
            tms,
            zooms,
            self.tiles_url(tileset),
            self.settings.public_url,
            self.tiles,
            self.language_of(request),
        )
        if tms.id == EXPORT_TMS:  # the offline package of the whole tileset
            document["links"].append(
                {
                    "rel": "enclosure",
                    "type": PMTILES,
                    "title": "PMTiles archive (offline use)",
                    "href": download_url(
                        self.settings.public_url,
                        tileset,
                        BBox(*self.tiles.bounds_4326),
                        self.tiles.download_max_tiles,
                    ),
                }
            )
        return JSONResponse(document)

    async def tilejson(self, request: Request) -> Response:
        """TileJSON 3.0.0 (Web Mercator only: TileJSON has no other grid)."""
        tileset = self.tileset_of(request)
        tms = get_tile_matrix_set(request.path_params["tileMatrixSetId"])
        if tms.id != "WebMercatorQuad":
            raise InvalidTileRequestError("TileJSON describes WebMercatorQuad tiles only")
        zooms = self._service().zoom_range(tileset, tms)
        return JSONResponse(
            metadata.tilejson(
                tileset, tms, zooms, self.tiles_url(tileset), self.tiles, self.language_of(request)
            ),
        )

    async def style(self, request: Request) -> Response:
        """A MapLibre style of the tileset from the layers' declared default styles."""
        tileset = self.tileset_of(request)
        tms = get_tile_matrix_set(request.path_params["tileMatrixSetId"])
        url = f"{self.tiles_url(tileset)}/{tms.id}/tilejson.json"
        return JSONResponse(metadata.style(tileset, url))

    async def tile(self, request: Request) -> Response:
        """One vector tile: 200 MVT, 204 empty, 304 unchanged (If-None-Match)."""
        tileset = self.tileset_of(request)
        tile_filter = self._filter(request, tileset)
        z, y, x = (_index(request, name) for name in ("z", "y", "x"))
        tms_id = request.path_params["tileMatrixSetId"]
        service = self._service()
        cached = service.find_cached(tileset, tms_id, z, x, y, tile_filter)
        if cached is not None:  # the hot path: no task, no query
            return self._tile_response(request, cached)

        async def render() -> Response:
            tile = await service.get_tile(tileset, tms_id, z, x, y, tile_filter)
            return self._tile_response(request, tile)

        # a client that leaves cancels its query in the database
        return await respond_unless_disconnected(request, render())

    def _tile_response(self, request: Request, tile: RenderedTile) -> Response:
        headers = self.headers(tile.etag, tile.source)
        if _etag_matches(request.headers.get("if-none-match"), tile.etag):
            return Response(status_code=304, headers=headers)
        if tile.is_empty:
            return Response(status_code=204, headers=headers)
        return Response(tile.data, media_type=metadata.MVT, headers=headers)

    def _filter(self, request: Request, tileset: Tileset) -> TileFilter | None:
        q = request.query_params
        if not any(q.get(name) for name in ("filter", "datetime")):
            return None
        if not tileset.is_collection:
            if tileset.key.startswith(COMPOSITE_PREFIX) and not q.get("filter"):
                return compile_composite_datetime(
                    [item.layer for item in tileset.layers], q["datetime"]
                )
            raise InvalidTileRequestError(
                "filter and datetime apply to collection tiles, not to the basemap "
                "(datetime: also to several collections with collections=)"
            )
        return compile_tile_filter(
            tileset.layers[0].layer,
            filter_text=q.get("filter"),
            filter_lang=q.get("filter-lang"),
            filter_crs=q.get("filter-crs"),
            datetime_text=q.get("datetime"),
        )

    def _service(self) -> TileService:
        if self.service is None:
            raise TilesUnavailableError("the tile service is not started")
        return self.service

    def is_caching(self) -> bool:
        """True while this process' caches may be used (its change listener receives)."""
        return self.service is not None and self.service.caching

    # -- lifespan ------------------------------------------------------------------------
    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Start the tile service on the tile pool (opened by the app's lifespan before)
        and the change listener of this process."""
        pool = self.pool()
        if pool is None:
            raise TilesUnavailableError("the tile pool is not open")
        await self._drop_missing_tables(pool)
        self.service = TileService(
            pool, self.registry, self.cache, self.tiles, raster_changed=self.raster_changed
        )
        disk = self.cache.disk
        self.listener = ChangeListener(
            self.conninfo,
            self.service.apply_change,
            on_reset=self.cache.clear,
            on_state=self.service.set_listening,
            state_path=disk.root / "changes.json" if disk is not None else None,
        )
        if not await self.listener.start():
            log.warning("tile change listener not ready: tiles are served without cache")
        try:
            yield
        finally:
            await self.listener.stop()
            self.service = None

    async def _drop_missing_tables(self, pool: AsyncConnectionPool[Any]) -> None:
        """Serve only layers whose table exists and is readable by the public role."""
        try:
            present = await readable_tables(pool, self.registry.tables())
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("could not check the layer tables, serving all declared: %s", exc)
            return
        missing = sorted(self.registry.tables() - present)
        if missing:
            log.warning(
                "no tiles for layers whose table is missing or unreadable: %s",
                ", ".join(f"{s}.{t}" for s, t in missing),
            )
            self.registry = self.registry.only_tables(present)


@dataclass(frozen=True)
class TileRoutes:
    """The routes to add before the pygeoapi mount, and the lifespan hook they need."""

    routes: list[BaseRoute]
    lifespan: Callable[[], AbstractAsyncContextManager[None]]
    server: TileServer


def tile_routes(
    settings: Settings,
    catalogue: Catalogue,
    tiles: TileSettings | None = None,
    *,
    pool: PoolGetter,
) -> TileRoutes:
    """Build the tile routes of a server process (`tiles` overrides the tile settings),
    rendering through `pool` (the `tiles` pool of `geoportal.db.pools`).

    Raises:
        TilesConfigError: a layer's tile rules name an unknown or restricted field.
    """
    tiles = tiles or tile_settings_for(settings)
    disk_root = tiles.cache_dir if tiles.disk_cache else None
    server = TileServer(
        settings=settings,
        tiles=tiles,
        registry=build_registry(catalogue),
        cache=TileCache(tiles.memory_cache_mb * 1024 * 1024, disk_root),
        pool=pool,
        language=settings.default_language,
        conninfo=Database(settings).public_conninfo,
    )
    routes: list[BaseRoute] = []
    for prefix in ("/collections/{collectionId}/tiles", "/tiles"):
        routes += [
            Route(prefix, guarded(server.tilesets, *TILE_ERRORS), methods=["GET"]),
            Route(
                f"{prefix}/{{tileMatrixSetId}}",
                guarded(server.tileset, *TILE_ERRORS),
                methods=["GET"],
            ),
            Route(
                f"{prefix}/{{tileMatrixSetId}}/tilejson.json",
                guarded(server.tilejson, *TILE_ERRORS),
                methods=["GET"],
            ),
            Route(
                f"{prefix}/{{tileMatrixSetId}}/style.json",
                guarded(server.style, *TILE_ERRORS),
                methods=["GET"],
            ),
            Route(
                f"{prefix}/{{tileMatrixSetId}}/{{z}}/{{y}}/{{x}}",
                guarded(server.tile, *TILE_ERRORS),
                methods=["GET"],
            ),
        ]
    return TileRoutes(routes=routes, lifespan=server.lifespan, server=server)
