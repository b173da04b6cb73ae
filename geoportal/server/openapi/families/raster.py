"""OGC API - Tiles map tilesets of the raster collections (PNG and WebP, `tiles/raster.py`)."""

from __future__ import annotations

from geoportal.server.openapi.context import JSON, RouteContext
from geoportal.server.openapi.families.tiles import TILE_HEADERS, TILE_PARAMS
from geoportal.server.openapi.model import BINARY, Operation, Param, Reply
from tiles.raster import FORMATS, MEDIA_TYPES, STYLES
from tiles.tilematrix import SUPPORTED_TMS

COLLECTION = Param(
    name="collectionId",
    where="path",
    description="A raster collection (one per product)",
    schema={"type": "string", "enum": list(STYLES)},
)


def raster_tiles(ctx: RouteContext) -> list[Operation]:
    """`/collections/{collectionId}/map/tiles` and its tiles."""
    errors = (400, 404, 500, 503)
    tms = Param(
        name="tileMatrixSetId",
        where="path",
        description="Tile matrix set (the vector tiles' sets)",
        schema={"type": "string", "enum": list(SUPPORTED_TMS)},
    )
    return [
        Operation(
            method="get",
            path="/collections/{collectionId}/map/tiles",
            operation_id="getCollectionMapTileSets",
            summary="The map tilesets of a raster collection, its legend and scene dates",
            tags=("tiles",),
            params=(COLLECTION,),
            replies=(Reply(status=200, description="OK", media={JSON: {"type": "object"}}),),
            errors=errors,
        ),
        Operation(
            method="get",
            path="/collections/{collectionId}/map/tiles/{tileMatrixSetId}"
            "/{tileMatrix}/{tileRow}/{tileCol}",
            operation_id="getCollectionMapTile",
            summary="A rendered map tile (204 where the scene has no data, 304 when unchanged)",
            tags=("tiles",),
            params=(
                COLLECTION,
                tms,
                *TILE_PARAMS,
                Param(name="f", schema={"type": "string", "enum": list(FORMATS)}),
                Param(
                    name="datetime",
                    description="Date, instant or interval (RFC 3339) choosing the scene: "
                    "the latest within it (default: the latest scene)",
                ),
                Param(name="rescale", description="min,max of the values drawn"),
                Param(name="colormap", description="A rio-tiler colour map name"),
                Param(name="If-None-Match", where="header", description="ETag held"),
            ),
            replies=(
                Reply(
                    status=200,
                    description="The tile",
                    media={media: BINARY for media in MEDIA_TYPES.values()},
                    headers=TILE_HEADERS,
                ),
                Reply(status=204, description="No data in the tile", headers=TILE_HEADERS),
                Reply(status=304, description="Unchanged since the ETag", headers=TILE_HEADERS),
            ),
            errors=errors,
        ),
    ]
