"""The public map viewer (`/map`) and the folium quick-look pages (`.../preview`).

    /map                                                 the single-page viewer (MapLibre GL JS)
    /map/config.json                                     layers, styles, legends, downloads
    /map/static/...                                      the viewer's own ES modules and CSS
    /map/vendor/<npm package>/...                        browser libraries (`vendor.py`)
    /map/aggregates/agri_plots.json                      plots per rayon (`aggregates.py`)
    /map/streets.json                                    street names in ky/ru/en (`streets.py`)
    /collections/{collectionId}/preview                  folium map of a layer
    /collections/{collectionId}/items/{featureId}/preview   folium map of one feature

The preview routes sit under `/collections/...`, so they are placed before the pygeoapi
mount; `preview` is no OGC API path segment, so they shadow nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from geoportal.errors import route_problem
from geoportal.settings import Settings
from geoportal.viewer import preview
from geoportal.viewer.aggregates import VersionedCache, add_aggregate_layers, aggregate_cache
from geoportal.viewer.config import Capabilities, viewer_config
from geoportal.viewer.rasters import add_raster_layers
from geoportal.viewer.streets import street_cache
from geoportal.viewer.vendor import find_vendor_dir, vendor_dir_of
from layers.catalogue import Catalogue
from layers.errors import LayerNotFoundError
from layers.model import LANGUAGES
from tiles.raster import SceneIndex

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
FAVICON = STATIC_DIR / "favicon.svg"
PMTILES_PATH = "/downloads/pmtiles"
GEOPACKAGE_PATH = "/downloads/geopackage"
EXPORTS_PATH = "/downloads/{format}"
VIEWER_VENDOR_FILES = (
    "maplibre-gl/dist/maplibre-gl.js",
    "maplibre-gl/dist/maplibre-gl.css",
    "geographiclib-geodesic/geographiclib-geodesic.min.js",
)


def _route_paths(routes: list[BaseRoute], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for route in routes:
        path = getattr(route, "path", "")
        if isinstance(route, Mount) and route.routes:
            paths |= _route_paths(list(route.routes), prefix + path)
        elif path:
            paths.add(prefix + path)
    return paths


def server_capabilities(routes: list[BaseRoute], pygeoapi_config: dict[str, Any]) -> Capabilities:
    """What this server really offers: routed download endpoints, CSV-capable collections."""
    from pygeoapi.util import get_dataset_formatters

    paths = _route_paths(routes)
    csv = set()
    for collection_id, resource in pygeoapi_config.get("resources", {}).items():
        if resource.get("type") != "collection":
            continue
        formatters = get_dataset_formatters(resource)
        if any(getattr(f, "f", None) == "csv" for f in formatters.values()):
            csv.add(collection_id)
    limits = pygeoapi_config.get("server", {}).get("limits", {})
    return Capabilities(
        pmtiles=PMTILES_PATH in paths,
        geopackage=GEOPACKAGE_PATH in paths,
        exports=EXPORTS_PATH in paths,
        csv_collections=frozenset(csv),
        max_items=int(limits.get("max_items", 10_000)),
    )


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return str(value) if value is not None else None


def _temporal_extents(pygeoapi_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        cid: {"begin": _iso(temporal.get("begin")), "end": _iso(temporal.get("end"))}
        for cid, resource in pygeoapi_config.get("resources", {}).items()
        if (temporal := resource.get("extents", {}).get("temporal"))
    }


@dataclass
class Viewer:
    """The viewer's routes in one server process."""

    settings: Settings
    catalogue: Catalogue
    conninfo: str = field(repr=False)
    vendor_dir: Path = field(default_factory=find_vendor_dir)
    _config: dict[str, Any] | None = None
    _scenes: SceneIndex | None = None
    """The image bank's scenes, re-read when a collection's folder changes."""
    _aggregate: VersionedCache = field(default_factory=aggregate_cache)
    _streets: VersionedCache = field(default_factory=street_cache)

    @property
    def prefix(self) -> str:
        """The path of the server's public URL ('' at the root of a host)."""
        return urlsplit(self.settings.public_url).path.rstrip("/")

    def missing_vendor_files(self) -> list[str]:
        """Browser libraries of the viewer and the previews that are not installed."""
        missing = [rel for rel in VIEWER_VENDOR_FILES if not (self.vendor_dir / rel).is_file()]
        return missing + preview.missing_assets(self.vendor_dir)

    async def page(self, request: Request) -> Response:
        """`/map`: the viewer page (503 with the fix when the libraries are not installed)."""
        missing = self.missing_vendor_files()
        if missing:
            return HTMLResponse(
                "<!doctype html><title>Map viewer unavailable</title><h1>Map viewer "
                "unavailable</h1><p>The browser libraries are not installed in "
                f"<code>{self.vendor_dir}</code> (missing: {', '.join(missing)}). Run "
                "<code>make setup</code> (it runs <code>npm ci</code> in "
                "<code>browser-libs/</code>) or set GEOPORTAL_VIEWER_VENDOR_DIR.</p>",
                status_code=503,
            )
        html = (STATIC_DIR / "index.html").read_text("utf-8").replace("%PREFIX%", self.prefix)
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    async def favicon(self, request: Request) -> Response:
        """`/favicon.ico`: the portal's icon (SVG, which browsers accept at this path)."""
        return Response(
            FAVICON.read_bytes(),
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    async def config(self, request: Request) -> Response:
        """`/map/config.json`: everything the viewer knows about the layers."""
        if self._config is None:
            app_state = request.app.state
            pygeoapi_config = getattr(app_state, "pygeoapi_config", {})
            capabilities = replace(
                server_capabilities(list(request.app.routes), pygeoapi_config),
                external_basemap=self.settings.viewer_external_basemap,
                external_attribution=self.settings.viewer_external_basemap_attribution,
            )
            self._config = viewer_config(
                self.catalogue,
                self.settings.public_url,
                self.settings.default_language,
                _temporal_extents(pygeoapi_config),
                capabilities,
            )
            add_aggregate_layers(self._config, self.catalogue, self.settings.public_url)
            self._config["streets"] = f"{self.settings.public_url}/map/streets.json"
        # the raster layers follow the image bank: a product's first scene joins the panel
        # (and a new scene the time control) without a restart
        config = {**self._config, "layers": [*self._config["layers"]]}
        config["themes"] = [*self._config["themes"]]
        if self._scenes is None:
            self._scenes = SceneIndex(self.settings.data_dir / "imagery")
        add_raster_layers(config, self.catalogue, self._scenes)
        return JSONResponse(config)

    async def agri_aggregate(self, request: Request) -> Response:
        """`/map/aggregates/agri_plots.json`: plots per rayon (count, area, share irrigated)."""
        return await self._versioned(request, self._aggregate, "agri", "application/geo+json")

    async def street_names(self, request: Request) -> Response:
        """`/map/streets.json`: the ky/ru/en forms of the city twins' street names."""
        return await self._versioned(request, self._streets, "streets", "application/json")

    async def _versioned(
        self, request: Request, cache: VersionedCache, tag: str, media_type: str
    ) -> Response:
        pool = request.app.state.pools.blocking("features-blocking")
        try:
            version, body = await run_in_threadpool(self._read_cached, pool, cache)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("%s for the viewer failed: %s", tag, exc)
            return route_problem(request, 503, "the database did not answer")
        etag = f'"{tag}-{version}"'
        headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)

    def _read_cached(self, pool: ConnectionPool[Any], cache: VersionedCache) -> tuple[str, bytes]:
        # the read path's pool (public role, its session settings): not a connection a request
        with pool.connection() as conn:
            return cache.get(conn, self.catalogue)

    async def layer_preview(self, request: Request) -> Response:
        """A folium map of a layer (`limit` features, default 2,000) or of one feature."""
        collection_id = request.path_params["collectionId"]
        feature_id = request.path_params.get("featureId")
        try:
            layer = self.catalogue.get(collection_id)
        except LayerNotFoundError:
            return route_problem(request, 404, f"no collection {collection_id!r}")
        lang = request.query_params.get("lang", self.settings.default_language)
        limit_text = request.query_params.get("limit", str(preview.DEFAULT_LIMIT))
        if lang not in LANGUAGES:
            return route_problem(request, 400, f"lang must be one of {', '.join(LANGUAGES)}")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= preview.MAX_LIMIT:
            return route_problem(
                request,
                400,
                f"limit must be an integer from 1 to {preview.MAX_LIMIT}, got {limit_text!r}",
            )
        if preview.missing_assets(self.vendor_dir):
            return route_problem(
                request, 503, "the Leaflet assets are not installed (run make setup)"
            )
        try:
            html = await run_in_threadpool(
                self._render, layer.id, feature_id, lang, int(limit_text)
            )
        except preview.FeatureNotFoundError as exc:
            return route_problem(request, 404, str(exc))
        except preview.PreviewError as exc:
            return route_problem(request, 400, str(exc))
        except psycopg.OperationalError as exc:
            log.warning("preview of %s failed: %s", collection_id, exc)
            return route_problem(request, 503, "the database did not answer")
        return HTMLResponse(html)

    def _render(self, layer_id: str, feature_id: str | None, lang: str, limit: int) -> str:
        layer = self.catalogue.get(layer_id)
        with psycopg.connect(self.conninfo, connect_timeout=10) as conn:
            conn.execute("SET statement_timeout = 20000")
            data = preview.read_preview_data(
                conn, layer, feature_id, limit, preview.context_layers(self.catalogue)
            )
        fmap = preview.build_map(layer, data, lang)
        return preview.render_html(fmap, f"{self.prefix}/map/vendor", f"{self.prefix}/map/static")

    def routes(self) -> list[BaseRoute]:
        """The viewer's routes, to be placed before the pygeoapi mount."""
        return [
            Route("/map", self.page, methods=["GET"]),
            Route("/map/", self.page, methods=["GET"]),
            Route("/map/config.json", self.config, methods=["GET"]),
            Route("/map/aggregates/agri_plots.json", self.agri_aggregate, methods=["GET"]),
            Route("/map/streets.json", self.street_names, methods=["GET"]),
            Route("/favicon.ico", self.favicon, methods=["GET"]),
            Mount("/map/static", app=StaticFiles(directory=STATIC_DIR)),
            Mount("/map/vendor", app=StaticFiles(directory=self.vendor_dir, check_dir=False)),
            Route("/collections/{collectionId}/preview", self.layer_preview, methods=["GET"]),
            Route(
                "/collections/{collectionId}/items/{featureId}/preview",
                self.layer_preview,
                methods=["GET"],
            ),
        ]


def viewer_routes(settings: Settings, catalogue: Catalogue, conninfo: str) -> list[BaseRoute]:
    """The viewer and preview routes of a server process."""
    return Viewer(settings, catalogue, conninfo, vendor_dir_of(settings)).routes()
