"""`GET /downloads/pmtiles`: the vector tiles of a region as one PMTiles archive.

    /downloads/pmtiles?layers=roads,rivers&oblast=Chuy&maxzoom=10
    /downloads/pmtiles?layers=basemap&bbox=74.4,42.7,74.8,42.95&maxzoom=12[&minzoom=6]

The archive is rendered by the tile engine (`tiles.export`, public data only) into a
temporary file, then streamed from it and deleted: PMTiles puts its directory first, so
nothing can be sent before the last tile is rendered, and nothing large is held in memory.
Too many tiles (`download_max_tiles`) is a 400 naming the largest zoom that fits; a client
that leaves while its archive renders cancels the rendering.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from geoportal.errors import guarded
from geoportal.regions import RegionNotFoundError
from geoportal.server.disconnect import (
    CLIENT_CLOSED,
    ClientDisconnectedError,
    cancel_on_disconnect,
)
from geoportal.server.tiles_routes import TILE_ERRORS, TileServer
from geoportal.tile_exports import (
    DOWNLOAD_PATH,
    ExportRequest,
    parse_bbox,
    parse_layers,
    prepare_export,
)
from layers.catalogue import Catalogue
from tiles.errors import InvalidTileRequestError, TilesetNotFoundError
from tiles.export import PMTILES, service_renderer, write_pmtiles

_PARAMS = ("layers", "bbox", "oblast", "minzoom", "maxzoom")


def _zoom(request: Request, name: str, required: bool) -> int | None:
    text = request.query_params.get(name, "").strip()
    if not text:
        if required:
            raise InvalidTileRequestError(f"{name} is required (an integer zoom, e.g. 10)")
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidTileRequestError(f"{name} must be an integer zoom, got {text!r}") from None


def parse_request(request: Request) -> ExportRequest:
    """The export a download request asks for.

    Raises:
        InvalidTileRequestError: a missing or malformed parameter.
    """
    q = request.query_params
    unknown = sorted(set(q) - {*_PARAMS, "lang", "f"})
    if unknown:
        raise InvalidTileRequestError(
            f"unknown parameters {', '.join(unknown)}; this endpoint takes {', '.join(_PARAMS)}"
        )
    layers = parse_layers(q.get("layers", ""))
    if not layers:
        raise InvalidTileRequestError(
            "layers is required: collection ids separated by commas, or basemap"
        )
    bbox = q.get("bbox", "").strip()
    maxzoom = _zoom(request, "maxzoom", required=True)
    assert maxzoom is not None
    return ExportRequest(
        layers=layers,
        bbox=parse_bbox(bbox) if bbox else None,
        oblast=q.get("oblast", "").strip() or None,
        maxzoom=maxzoom,
        minzoom=_zoom(request, "minzoom", required=False),
    )


class PMTilesDownloads:
    """The download handler of one server process."""

    def __init__(self, server: TileServer, catalogue: Catalogue) -> None:
        self.server = server
        self.catalogue = catalogue
        self.slots = asyncio.Semaphore(2)
        """Archives rendered at once by this process; more wait for a slot."""

    async def pmtiles(self, request: Request) -> Response:
        """A PMTiles archive of the asked layers and area."""
        asked = parse_request(request)
        service = self.server._service()
        try:
            async with service.pool.connection() as conn:
                prepared = await prepare_export(
                    conn,
                    self.catalogue,
                    service.registry,
                    self.server.tiles,
                    asked,
                    self.server.tiles.download_max_tiles,
                    self.server.language_of(request),
                )
        except RegionNotFoundError as exc:
            raise InvalidTileRequestError(str(exc)) from exc
        except TilesetNotFoundError as exc:
            raise InvalidTileRequestError(str(exc)) from exc
        folder = Path(tempfile.mkdtemp(prefix="geoportal-pmtiles-"))
        path = folder / prepared.filename
        try:
            async with self.slots:
                written = await cancel_on_disconnect(
                    request,
                    write_pmtiles(
                        prepared.plan,
                        service_renderer(service, prepared.plan.tileset),
                        path,
                        prepared.metadata,
                        concurrency=self.server.tiles.download_concurrency,
                    ),
                )
        except ClientDisconnectedError:  # the rendering was cancelled
            shutil.rmtree(folder, ignore_errors=True)
            return Response(status_code=CLIENT_CLOSED)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        headers = {"X-Tile-Count": str(written.tiles), "Cache-Control": "no-store"}
        return FileResponse(
            path,
            media_type=PMTILES,
            filename=prepared.filename,
            headers=headers,
            background=BackgroundTask(shutil.rmtree, folder, True),
        )


def download_routes(server: TileServer, catalogue: Catalogue) -> list[BaseRoute]:
    """The download route of a server process, sharing the tile server's engine."""
    downloads = PMTilesDownloads(server, catalogue)
    return [Route(DOWNLOAD_PATH, guarded(downloads.pmtiles, *TILE_ERRORS), methods=["GET"])]
