"""PMTiles exports as the CLI (`geoportal tiles export`) and the download route
(`/downloads/pmtiles`) ask for them: parse the request, resolve the region, plan.

The work is `tiles.export`; this module only turns user words (layer ids, a bbox text, an
oblast name) into its arguments, so both entry points accept the same things and give the
same errors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import shapely
from psycopg import AsyncConnection
from shapely.geometry.base import BaseGeometry

from geoportal.regions import get_oblast
from layers.catalogue import Catalogue
from tiles import metadata
from tiles.errors import InvalidTileRequestError
from tiles.export import (
    EXPORT_TMS,
    ExportPlan,
    archive_metadata,
    export_tileset,
    largest_maxzoom,
    plan_export,
)
from tiles.settings import TileSettings
from tiles.tilematrix import get_tile_matrix_set
from tiles.tilesets import BASEMAP_ID, Tileset, TilesetRegistry
from tiles.types import BBox

OBLASTS_LAYER = "oblasts"
DOWNLOAD_PATH = "/downloads/pmtiles"


@dataclass(frozen=True)
class ExportRequest:
    """An export as asked: layer ids, one of bbox / oblast, zooms."""

    layers: tuple[str, ...]
    bbox: BBox | None
    oblast: str | None
    maxzoom: int
    minzoom: int | None = None


@dataclass(frozen=True)
class PreparedExport:
    """A planned export with its archive metadata and a file name for it."""

    plan: ExportPlan
    metadata: dict[str, Any]
    filename: str
    region_label: str


def parse_bbox(text: str) -> BBox:
    """`minx,miny,maxx,maxy` in CRS84 degrees.

    >>> parse_bbox("74.5, 42.8,74.7,42.9")
    BBox(xmin=74.5, ymin=42.8, xmax=74.7, ymax=42.9)

    Raises:
        InvalidTileRequestError: not four finite numbers, or min above max.
    """
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidTileRequestError(
            f"bbox must be four numbers minx,miny,maxx,maxy (CRS84 degrees), got {text!r}"
        )
    box = BBox(*values)
    if (
        box.xmin >= box.xmax
        or box.ymin >= box.ymax
        or not (-180 <= box.xmin and box.xmax <= 180 and -90 <= box.ymin and box.ymax <= 90)
    ):
        raise InvalidTileRequestError(
            f"bbox {text!r}: need minx < maxx and miny < maxy, in degrees (lon -180..180, "
            "lat -90..90)"
        )
    return box


def parse_layers(text: str) -> tuple[str, ...]:
    """Comma-separated layer ids."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "region"


async def _region(
    conn: AsyncConnection[Any], catalogue: Catalogue, request: ExportRequest
) -> tuple[BaseGeometry, str]:
    if (request.bbox is None) == (request.oblast is None):
        raise InvalidTileRequestError("give the area as exactly one of bbox or oblast")
    if request.bbox is not None:
        return shapely.box(*request.bbox), "bbox"
    oblasts = next((layer for layer in catalogue if layer.id == OBLASTS_LAYER), None)
    if oblasts is None:
        raise InvalidTileRequestError("no oblasts layer is declared: give a bbox")
    region = await get_oblast(conn, oblasts, request.oblast or "")
    return region.geometry, _slug(region.label)


async def prepare_export(
    conn: AsyncConnection[Any],
    catalogue: Catalogue,
    registry: TilesetRegistry,
    settings: TileSettings,
    request: ExportRequest,
    max_tiles: int,
    language: str = "en",
) -> PreparedExport:
    """Resolve and plan an export (no tile is rendered yet).

    Raises:
        InvalidTileRequestError: bad area, zooms or layer list; ExportTooLargeError.
        TilesetNotFoundError: an unknown layer id.
        RegionNotFoundError: an unknown oblast (the message lists the valid ones).
    """
    tileset = export_tileset(registry, request.layers)
    region, label = await _region(conn, catalogue, request)
    plan = plan_export(
        tileset, region, request.minzoom, request.maxzoom, BBox(*settings.bounds_4326), max_tiles
    )
    tms = get_tile_matrix_set(EXPORT_TMS)
    tilejson = metadata.tilejson(tileset, tms, (plan.minzoom, plan.maxzoom), "", settings, language)
    name = f"{_slug(tileset.id)}-{label}-z{plan.minzoom}-{plan.maxzoom}.pmtiles"
    return PreparedExport(plan, archive_metadata(plan, tilejson), name, label)


def download_url(base_url: str, tileset: Tileset, bounds: BBox, max_tiles: int) -> str:
    """The archive of a whole tileset over `bounds`, at the highest zoom within the limit
    (what tileset metadata links to as `enclosure`)."""
    layers = (
        tileset.id
        if tileset.is_collection or tileset.id == BASEMAP_ID
        else ",".join(item.name for item in tileset.layers)
    )
    maxzoom = largest_maxzoom(bounds, tileset.minzoom, tileset.maxzoom, max_tiles)
    query = urlencode(
        {"layers": layers, "bbox": ",".join(f"{v:g}" for v in bounds), "maxzoom": maxzoom}, safe=","
    )
    return f"{base_url}{DOWNLOAD_PATH}?{query}"
