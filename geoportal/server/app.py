"""The one ASGI application: pygeoapi mounted inside our Starlette app, plus our routes."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import yaml
from pygeoapi.api import API
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from geoportal import pygeoapi_
from geoportal.catalogue.records import CatalogueNotMigratedError, sync_datasets
from geoportal.db.database import Database
from geoportal.db.pools import Pools, server_pools
from geoportal.db.readiness import check_migrations, expected_migrations
from geoportal.errors import add_exception_handlers, route_problem
from geoportal.job_kinds import job_kinds
from geoportal.providers.features import serving_pool
from geoportal.pygeoapi_.features_fast import FeaturesFastPath, ItemsShortcut
from geoportal.pygeoapi_.local_assets import LocalAssets
from geoportal.pygeoapi_.processes import add_processes, execution_route
from geoportal.security.authn import Authenticator
from geoportal.server.audit_routes import audit_routes
from geoportal.server.cadastre_retired import RetiredParcels
from geoportal.server.cadastre_routes import CadastreRoutes
from geoportal.server.downloads import export_routes
from geoportal.server.etags import ItemETagMiddleware, etag_sql
from geoportal.server.ingest_routes import IngestRoutes
from geoportal.server.input_limits import InputLimitsMiddleware
from geoportal.server.jobs_routes import JobRoutes
from geoportal.server.logs import (
    AccessLogMiddleware,
    configure_logs,
    install_log_bounds,
    plain_handlers,
)
from geoportal.server.metrics import MetricsMiddleware, RouteTemplates, metrics_endpoint
from geoportal.server.openapi import build_document
from geoportal.server.pygeoapi_config import build_config, read_extents, write_config
from geoportal.server.raster_routes import coverage_sources, raster_routes
from geoportal.server.rate_limit import WorkLimiter, limiter_sync
from geoportal.server.search_routes import SearchService, search_routes
from geoportal.server.security_middleware import SecurityMiddleware
from geoportal.server.stac_routes import stac_routes
from geoportal.server.tile_downloads import download_routes
from geoportal.server.tiles_routes import tile_routes, tile_settings_for
from geoportal.server.writes import WriteRoutes
from geoportal.settings import Settings
from geoportal.uploads import upload_root
from geoportal.viewer.routes import viewer_routes
from layers.catalogue import Catalogue, load_catalogue

log = logging.getLogger(__name__)


def generate_pygeoapi_files(settings: Settings, catalogue: Catalogue) -> tuple[Path, Path]:
    """Write the pygeoapi configuration and its OpenAPI document; return both paths."""
    from pygeoapi.openapi import get_oas  # pygeoapi reads nothing at import of this module

    database = Database(settings)
    config = build_config(
        catalogue,
        public_url=settings.public_url,
        host=settings.host,
        port=settings.port,
        conninfo=database.read_conninfo,  # features: the read replica when configured
        extents=read_extents(database.public_conninfo),
        statement_timeout_ms=settings.statement_timeout_ms,
        default_language=settings.default_language,
        base_path=settings.pygeoapi_base,
        coverages=coverage_sources(settings, catalogue),
    )
    add_processes(config, database.agency_conninfo, settings.processes, settings.server_dir)
    config_path = write_config(config, settings.server_dir / "pygeoapi-config.yml")
    openapi_path = settings.server_dir / "openapi.json"
    document = build_document(get_oas(config, fail_on_invalid_collection=True), catalogue)
    tmp = openapi_path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    tmp.replace(openapi_path)
    return config_path, openapi_path


def load_pygeoapi_app(config_path: Path, openapi_path: Path) -> tuple[Starlette, API]:
    """Import pygeoapi's Starlette app (and its API object) for this configuration.

    pygeoapi reads its configuration when `pygeoapi.starlette_app` is imported, so the
    environment is set first. The first app of a process imports the module as usual; a
    later one (tests build several apps) gets a fresh copy of the module of its own, not a
    reload: a reload would re-run the module in the namespace the earlier app's routes read,
    so they would answer with the last app's configuration (its base URL, its collections).
    """
    os.environ["PYGEOAPI_CONFIG"] = str(config_path)
    os.environ["PYGEOAPI_OPENAPI"] = str(openapi_path)
    module_name = "pygeoapi.starlette_app"
    if module_name not in sys.modules:
        module = importlib.import_module(module_name)
    else:
        spec = importlib.util.find_spec(module_name)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    app: Starlette = module.APP
    app.debug = False  # pygeoapi creates it with debug=True: no tracebacks to clients
    return app, module.api_


async def healthz(request: Request) -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Readiness: the public role reaches the database and its migrations are the code's."""
    conninfo: str = request.app.state.public_conninfo
    try:
        async with await psycopg.AsyncConnection.connect(conninfo, connect_timeout=5) as conn:
            state = await check_migrations(conn, request.app.state.expected_migrations)
    except psycopg.Error:
        log.exception("readiness check failed")
        return route_problem(request, 503, "database unreachable")
    if not state.ready:
        log.warning("not ready: %s", state.detail())
        return route_problem(request, 503, state.detail())
    return JSONResponse({"status": "ok"})


async def api_alias(request: Request) -> Response:
    """`/api` is the conventional name of the OpenAPI document; pygeoapi serves `/openapi`."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{request.app.state.public_url}/openapi{query}", status_code=308)


def sync_catalogue(settings: Settings, catalogue: Catalogue) -> None:
    """Bring the catalogue records (catalog.datasets) in line with the declarations."""
    try:
        with psycopg.connect(Database(settings).owner_conninfo, connect_timeout=10) as conn:
            result = sync_datasets(conn, catalogue)
    except (psycopg.OperationalError, CatalogueNotMigratedError) as exc:
        log.warning("catalogue records not synced: %s", exc)
        return
    if not result.is_empty:
        log.info(
            "catalogue: added %s, changed %s, removed %s",
            result.added,
            result.changed,
            result.removed,
        )


def create_app(settings: Settings | None = None, catalogue: Catalogue | None = None) -> Starlette:
    """Build the geoportal ASGI app from settings (generates the pygeoapi configuration).

    `catalogue` defaults to the declared layers; benchmarks pass a subset.
    """
    pygeoapi_.check_version()  # its internals are patched: only the tested release
    install_log_bounds()  # every log record bounded and escaped (geoportal/server/logs.py)
    plain_handlers()
    settings = settings or Settings()
    configure_logs(settings.log_format, settings.log_level)  # JSON lines if asked
    catalogue = catalogue or load_catalogue()
    sync_catalogue(settings, catalogue)
    # the process' named pools (geoportal.db.pools), opened in the lifespan; every route
    # and middleware holds a getter of the one it uses
    tile_settings = tile_settings_for(settings)
    pools = Pools(Database(settings), server_pools(tile_settings, settings.statement_timeout_ms))
    agency = pools.getter("agency")
    tiles = tile_routes(settings, catalogue, tile_settings, pool=pools.getter("tiles"))
    # map tiles of the image bank's COGs, in the vector tiles' cache
    rasters, raster_server = raster_routes(settings, tiles.server)
    config_path, openapi_path = generate_pygeoapi_files(settings, catalogue)
    pygeoapi_app, pygeoapi_api = load_pygeoapi_app(config_path, openapi_path)
    # JSON items and item requests are answered in front of pygeoapi (features_fast)
    # and pygeoapi's HTML pages load their browser libraries from us, not from CDNs
    features = FeaturesFastPath(
        LocalAssets(pygeoapi_app, urlsplit(settings.public_url).path.rstrip("/")),
        pygeoapi_api,
        pools.getter("features"),
        etags={layer.id: etag_sql(layer, "p") for layer in catalogue if layer.is_editable},
    )
    pygeoapi_.install()
    public_conninfo = Database(settings).public_conninfo
    read_conninfo = Database(settings).read_conninfo
    search = SearchService(catalogue, pools.getter("search"), settings.default_language)

    agency_conninfo = Database(settings).agency_conninfo
    limiter = WorkLimiter(settings.security)  # one per process, shared through the database
    # CORS: the security middleware alone decides; a retired parcel is a 410 (0024)
    items_app = RetiredParcels(features, pools.getter("features"), settings.public_url)
    cadastre = CadastreRoutes(
        catalogue, agency, settings.public_url, settings.cadastre, settings.data_dir
    )
    writes = WriteRoutes(
        catalogue,
        agency,
        settings.public_url,
        settings.statement_timeout_ms,
        searches=items_app,
        checks={"cadastre_parcels": cadastre.check_written_parcel},
    )

    ingest = IngestRoutes(
        catalogue=catalogue,
        pool=agency,
        kind=job_kinds(settings)["layers.load"],
        root=upload_root(settings.data_dir),
        settings=settings.uploads,
        base_url=settings.public_url,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("geoportal serving %d collections at %s", len(catalogue), settings.public_url)
        # the pools, then the tile service and its change listener on the tile pool, key
        # revocations and the shared rate limit
        async with (
            pools.opened(),
            tiles.lifespan(),
            limiter_sync(limiter, agency_conninfo, settings.security.rate_limit_sync_s),
        ):
            authenticator = Authenticator(settings.security, pools["agency"])
            async with authenticator.listening(agency_conninfo):
                # pygeoapi's providers of the read path use the lifespan's pool
                with serving_pool(read_conninfo, pools.blocking("features-blocking")):
                    app.state.authenticator = authenticator
                    try:
                        yield
                    finally:
                        app.state.authenticator = None

    app = Starlette(
        debug=False,
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/api", api_alias),
            *audit_routes(agency),
            *JobRoutes(agency, settings.public_url).routes,
            *cadastre.routes,
            *ingest.routes,
            execution_route(pygeoapi_api),
            *writes.routes,
            *tiles.routes,
            *rasters,
            *stac_routes(settings.public_url, pools.getter("stac")),
            *download_routes(tiles.server, catalogue),
            *export_routes(settings, catalogue, pools.getter("search"), agency),
            *search_routes(search),
            *viewer_routes(settings, catalogue, public_conninfo),
            Mount("/", app=items_app),
        ],
        middleware=[
            *([Middleware(AccessLogMiddleware)] if settings.log_format == "json" else []),
            Middleware(  # (outermost) times and counts every answer, by route template
                MetricsMiddleware,
                templates=RouteTemplates(lambda: app.routes, pygeoapi_app.routes),
                pools=pools,
            ),
            Middleware(
                SecurityMiddleware,
                settings=settings.security,
                authenticator=lambda: app.state.authenticator,
                limiter=limiter,
                body_limits={"/ingest": settings.uploads.max_bytes},
            ),
            Middleware(InputLimitsMiddleware),
            Middleware(ItemETagMiddleware, catalogue=catalogue, pool=agency),
            Middleware(ItemsShortcut, features=items_app),
        ],
        lifespan=lifespan,
    )
    add_exception_handlers(app)
    app.state.settings = settings
    app.state.pools = pools
    app.state.raster_tiles = raster_server.tiles  # .replaced(collection) on a new scene
    app.state.authenticator = None  # set while the lifespan runs
    app.state.catalogue = catalogue
    app.state.public_conninfo = public_conninfo
    app.state.expected_migrations = expected_migrations()
    app.state.public_url = settings.public_url
    app.state.pygeoapi_config = yaml.safe_load(config_path.read_text("utf-8"))
    return app
