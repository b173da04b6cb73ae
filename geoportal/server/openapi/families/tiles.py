"""OGC API - Tiles: the vector tiles of each collection and of the basemap, their TileJSON
and MapLibre style, and the PMTiles download of a region."""

from __future__ import annotations

from geoportal.server.openapi.context import JSON, RouteContext, lang_param
from geoportal.server.openapi.model import BINARY, Operation, Param, Reply
from geoportal.server.openapi.schemas import OGC_TILES, ref
from geoportal.tile_exports import DOWNLOAD_PATH
from tiles.export import PMTILES
from tiles.metadata import MVT
from tiles.tilematrix import SUPPORTED_TMS

TILE_HEADERS = ("ETag", "Cache-Control")
TILE_PARAMS = tuple(
    Param(ref=f"{OGC_TILES}#/components/parameters/{name}")
    for name in ("tileMatrix", "tileRow", "tileCol")
)
FILTER_PARAMS = (
    Param(name="filter", description="CQL2 filter on the collection's fields"),
    Param(
        name="filter-lang",
        schema={"type": "string", "enum": ["cql2-text", "cql2-json"]},
        description="Language of `filter` (default cql2-text)",
    ),
    Param(name="filter-crs", description="CRS of the geometries in `filter`"),
    Param(name="datetime", description="Instant or interval (RFC 3339) of the features drawn"),
)
COLLECTIONS_PARAM = Param(
    name="collections",
    description="Collection ids separated by commas: those collections in one tile "
    "(OGC API Tiles), instead of the basemap",
)


def _tileset_operations(prefix: str, name: str, first: tuple[Param, ...]) -> list[Operation]:
    """The five operations under one tiles prefix."""
    tms = Param(
        name="tileMatrixSetId",
        where="path",
        description="Tile matrix set",
        schema={"type": "string", "enum": list(SUPPORTED_TMS)},
    )
    tags = ("tiles",)
    base = f"{prefix}/{{tileMatrixSetId}}"
    errors = (400, 404, 500, 503)
    return [
        Operation(
            method="get",
            path=prefix,
            operation_id=f"get{name}TileSets",
            summary="The tilesets, one per tile matrix set",
            tags=tags,
            params=(*first, lang_param()),
            replies=(Reply(status=200, description="OK", media={JSON: ref("TileSets")}),),
            errors=errors,
        ),
        Operation(
            method="get",
            path=base,
            operation_id=f"get{name}TileSet",
            summary="Tileset metadata (`f=tilejson`: its TileJSON)",
            tags=tags,
            params=(
                *first,
                tms,
                lang_param(),
                Param(name="f", schema={"type": "string", "enum": ["json", "tilejson"]}),
            ),
            replies=(
                Reply(
                    status=200,
                    description="OK",
                    media={JSON: {"oneOf": [ref("TileSet"), ref("TileJSON")]}},
                ),
            ),
            errors=errors,
        ),
        Operation(
            method="get",
            path=f"{base}/tilejson.json",
            operation_id=f"get{name}TileJSON",
            summary="TileJSON 3.0.0 (WebMercatorQuad only: 400 for another set)",
            tags=tags,
            params=(*first, tms, lang_param()),
            replies=(Reply(status=200, description="OK", media={JSON: ref("TileJSON")}),),
            errors=errors,
        ),
        Operation(
            method="get",
            path=f"{base}/style.json",
            operation_id=f"get{name}Style",
            summary="A MapLibre style of the tileset",
            tags=tags,
            params=(*first, tms),
            replies=(Reply(status=200, description="OK", media={JSON: ref("MapLibreStyle")}),),
            errors=errors,
        ),
        Operation(
            method="get",
            path=f"{base}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
            operation_id=f"get{name}Tile",
            summary="A Mapbox vector tile (204 when empty, 304 when unchanged)",
            tags=tags,
            params=(
                *first,
                tms,
                *TILE_PARAMS,
                *(FILTER_PARAMS if first else (COLLECTIONS_PARAM,)),
                Param(name="If-None-Match", where="header", description="ETag held"),
            ),
            replies=(
                Reply(
                    status=200, description="The tile", media={MVT: BINARY}, headers=TILE_HEADERS
                ),
                Reply(status=204, description="Empty tile", headers=TILE_HEADERS),
                Reply(status=304, description="Unchanged since the ETag", headers=TILE_HEADERS),
            ),
            errors=errors,
        ),
    ]


def tiles(ctx: RouteContext) -> list[Operation]:
    """Collection tiles (`/collections/{collectionId}/tiles/...`) and the basemap (`/tiles`)."""
    operations: list[Operation] = []
    if ctx.tilesets:
        collection = Param(
            name="collectionId",
            where="path",
            description="A collection with vector tiles",
            schema={"type": "string", "enum": list(ctx.tilesets)},
        )
        operations += _tileset_operations(
            "/collections/{collectionId}/tiles", "Collection", (collection,)
        )
    if ctx.has_basemap:
        operations += _tileset_operations("/tiles", "Basemap", ())
    return operations


def downloads(ctx: RouteContext) -> list[Operation]:
    """The PMTiles archive of some layers over a region."""
    layers = [*ctx.tilesets, *(["basemap"] if ctx.has_basemap else [])]
    zoom = {"type": "integer", "minimum": 0, "maximum": 22}
    return [
        Operation(
            method="get",
            path=DOWNLOAD_PATH,
            operation_id="downloadPMTiles",
            summary="The vector tiles of some layers over a region, as one PMTiles archive",
            description="Too many tiles is a 400 naming the largest zoom that fits.",
            tags=("downloads",),
            params=(
                Param(
                    name="layers",
                    required=True,
                    description=f"Collection ids separated by commas, or basemap: {layers}",
                ),
                Param(name="bbox", description="minlon,minlat,maxlon,maxlat (CRS84)"),
                Param(name="oblast", description="An oblast's id or name (ky, ru, en)"),
                Param(name="maxzoom", required=True, schema=zoom),
                Param(name="minzoom", schema=zoom),
                lang_param(),
            ),
            replies=(Reply(status=200, description="The archive", media={PMTILES: BINARY}),),
            errors=(400, 500, 503),
        )
    ]
