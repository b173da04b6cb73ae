"""OGC API - Tiles map tilesets of the raster collections (PNG, WebP), from `tiles/raster.py`.

    /collections/{collectionId}/map/tiles                                  map tilesets
    /collections/{collectionId}/map/tiles/{tileMatrixSetId}/{z}/{y}/{x}    a tile

Query: `f=png|webp` (or Accept), `datetime=` (the scene: the latest by default),
`rescale=min,max`, `colormap=` (a rio-tiler colour map name). 204 where the scene has no
data in the tile, 304 on a matching If-None-Match.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from demo.base import demo_data_dir
from geoportal.errors import guarded
from geoportal.server.disconnect import respond_unless_disconnected
from geoportal.server.pygeoapi_config import CoverageSource
from geoportal.server.tiles_routes import TileServer
from geoportal.settings import Settings
from layers.catalogue import Catalogue
from tiles.cache import TileCache
from tiles.errors import InvalidTileRequestError, TilesError
from tiles.raster import (
    MEDIA_TYPES,
    STYLES,
    RasterRequest,
    RasterTiles,
    RenderedRaster,
    parse_rescale,
)
from tiles.tilematrix import SUPPORTED_TMS
from tiles.types import TileCoord

RASTER_CACHE_MB = 64
TILE_PATH = "/collections/{collectionId}/map/tiles/{tileMatrixSetId}/{z}/{y}/{x}"


def _index(request: Request, name: str) -> int:
    text = str(request.path_params[name])
    if name == "x":
        text = text.removesuffix(".png").removesuffix(".webp")
    try:
        return int(text)
    except ValueError:
        raise InvalidTileRequestError(f"{name} must be an integer, got {text!r}") from None


def _format(request: Request) -> str:
    asked = request.query_params.get("f")
    if asked:
        return asked.lower()
    x = str(request.path_params.get("x", ""))
    if x.endswith(".webp") or "image/webp" in request.headers.get("accept", ""):
        return "webp"
    return "png"


@dataclass
class RasterServer:
    """The raster tile routes of one process."""

    settings: Settings
    tiles: RasterTiles
    max_age_s: int = 60
    """Cache-Control max-age, the vector tiles' (`TileSettings.max_age_s`)."""

    def parse(self, request: Request) -> RasterRequest:
        """The tile request from the path and query."""
        q = request.query_params
        return RasterRequest(
            collection=request.path_params["collectionId"],
            tms=request.path_params["tileMatrixSetId"],
            tile=TileCoord(_index(request, "z"), _index(request, "x"), _index(request, "y")),
            fmt=_format(request),
            datetime=q.get("datetime") or None,
            rescale=parse_rescale(q.get("rescale")),
            colormap=q.get("colormap") or None,
        )

    async def tile(self, request: Request) -> Response:
        """One map tile: 200 image, 204 no data here, 304 unchanged."""
        parsed = self.parse(request)
        cached = self.tiles.find_cached(parsed)
        if cached is not None:
            return self._answer(request, parsed, cached)

        async def render() -> Response:
            rendered = await asyncio.to_thread(self.tiles.render, parsed)
            return self._answer(request, parsed, rendered)

        return await respond_unless_disconnected(request, render())

    def _answer(self, request: Request, parsed: RasterRequest, tile: RenderedRaster) -> Response:
        control = f"public, max-age={self.max_age_s}" if self.max_age_s else "public, no-cache"
        headers = {
            "ETag": tile.tile.etag,
            "Cache-Control": control,
            "X-Tile-Cache": tile.source,
            "X-Scene": tile.scene.item_id,
            "Vary": "Accept",
        }
        tags = [
            t.strip().removeprefix("W/")
            for t in request.headers.get("if-none-match", "").split(",")
        ]
        if tile.tile.etag in tags:
            return Response(status_code=304, headers=headers)
        if tile.tile.is_empty:
            return Response(status_code=204, headers=headers)
        return Response(tile.tile.data, media_type=MEDIA_TYPES[parsed.fmt], headers=headers)

    async def tilesets(self, request: Request) -> Response:
        """The map tilesets of a raster collection, one per tile matrix set."""
        collection = request.path_params["collectionId"]
        style = self.tiles.style(collection)
        base = f"{self.settings.public_url}/collections/{collection}/map/tiles"
        scenes = self.tiles.index.scenes(collection)
        return JSONResponse(
            {
                "tilesets": [_tileset(collection, base, tms) for tms in SUPPORTED_TMS],
                "legend": {
                    "title": style.legend,
                    "colormap": style.colormap,
                    "rescale": list(style.rescale),
                },
                "datetimes": [s.datetime.isoformat() for s in scenes],
                "links": [{"rel": "self", "type": "application/json", "href": base}],
            }
        )


def _tileset(collection: str, base: str, tms: str) -> dict[str, Any]:
    """One map tileset entry: its tile matrix set and a templated tile link per format."""
    template = f"{base}/{tms}/" + "{tileMatrix}/{tileRow}/{tileCol}"
    return {
        "title": f"{collection} ({tms})",
        "dataType": "map",
        "crs": tms,
        "tileMatrixSetURI": f"http://www.opengis.net/def/tilematrixset/OGC/1.0/{tms}",
        "links": [
            {"rel": "item", "type": media, "templated": True, "href": f"{template}?f={fmt}"}
            for fmt, media in MEDIA_TYPES.items()
        ],
    }


def coverage_sources(settings: Settings, catalogue: Catalogue) -> dict[str, CoverageSource]:
    """Every raster declaration's coverage: its latest scene in the image bank, found per
    request, else the file shipped with the demo data (the GEBCO elevation model); declared
    even while it has neither (its coverage then answers 404 until a scene is ingested)."""
    bank = settings.data_dir / "imagery"
    return {
        raster.id: CoverageSource(bank, demo_data_dir() / raster.file if raster.file else None)
        for raster in catalogue.rasters
    }


def raster_routes(
    settings: Settings, vector: TileServer | None = None
) -> tuple[list[BaseRoute], RasterServer]:
    """The map tile routes over `<data_dir>/imagery`, and their server.

    With `vector` (the app's vector tile server) the raster tiles share its cache (memory
    and disk), its rule of caching only while its change listener receives, its headers,
    and its listener drops a collection's tiles when a scene is (re)ingested. Without (the
    raster benchmark's app), a memory cache of their own."""
    root = settings.data_dir / "imagery"
    if vector is None:
        tiles = RasterTiles(root, TileCache(RASTER_CACHE_MB * 1024 * 1024))
        server = RasterServer(settings, tiles)
    else:
        tiles = RasterTiles(root, vector.cache, caching=vector.is_caching)
        vector.raster_changed = tiles.replaced
        server = RasterServer(settings, tiles, max_age_s=vector.tiles.max_age_s)
    routes: list[BaseRoute] = [
        Route(
            "/collections/{collectionId}/map/tiles",
            guarded(server.tilesets, TilesError),
            methods=["GET"],
        ),
        Route(TILE_PATH, guarded(server.tile, TilesError), methods=["GET"]),
    ]
    return routes, server


__all__ = ["STYLES", "raster_routes"]
