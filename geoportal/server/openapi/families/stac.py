"""The image bank's STAC API at `/stac` (`geoportal/server/stac_routes.py`)."""

from __future__ import annotations

from geoportal.server.openapi.context import JSON, RouteContext
from geoportal.server.openapi.model import Body, Operation, Param, Reply
from imagery.bank import MAX_LIMIT

GEOJSON = "application/geo+json"
OBJECT = {"type": "object"}
TAGS = ("stac",)
ERRORS = (400, 404, 500, 503)
COLLECTION = Param(name="collectionId", where="path", description="A sensor or product")
SEARCH = (
    Param(name="bbox", description="minlon,minlat,maxlon,maxlat (CRS84)"),
    Param(name="datetime", description="RFC 3339 instant or interval (`..` for an open end)"),
    Param(name="limit", schema={"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
    Param(name="token", description="Paging token (from a `next` or `prev` link)"),
)
FILTERS = (
    Param(name="collections", description="Collection ids, comma-separated"),
    Param(name="ids", description="Item ids, comma-separated"),
    Param(
        name="query",
        description='STAC query extension as JSON, e.g. {"eo:cloud_cover":{"lte":20}}',
    ),
    Param(name="filter", description="CQL2 JSON filter (e.g. on eo:cloud_cover)"),
    Param(name="filter-lang", schema={"type": "string", "enum": ["cql2-json"]}),
)


def _get(
    path: str, operation_id: str, summary: str, *params: Param, media: str = JSON
) -> Operation:
    return Operation(
        method="get",
        path=path,
        operation_id=operation_id,
        summary=summary,
        tags=TAGS,
        params=params,
        replies=(Reply(status=200, description="OK", media={media: OBJECT}),),
        errors=ERRORS,
    )


def stac(ctx: RouteContext) -> list[Operation]:
    """Landing page, conformance, collections, items and item search of the image bank."""
    item = Param(name="itemId", where="path", description="An item (scene) id")
    base = "/stac/collections/{collectionId}"
    return [
        _get("/stac", "getStacLanding", "The image bank's STAC landing page (a Catalog)"),
        _get("/stac/conformance", "getStacConformance", "STAC API conformance classes"),
        _get("/stac/collections", "getStacCollections", "The sensor and product collections"),
        _get(base, "getStacCollection", "One collection", COLLECTION),
        _get(
            f"{base}/items",
            "getStacItems",
            "Items of a collection",
            COLLECTION,
            *SEARCH,
            media=GEOJSON,
        ),
        _get(
            f"{base}/items/{{itemId}}", "getStacItem", "One item", COLLECTION, item, media=GEOJSON
        ),
        _get("/stac/search", "getStacSearch", "Item search", *SEARCH, *FILTERS, media=GEOJSON),
        Operation(
            method="post",
            path="/stac/search",
            operation_id="postStacSearch",
            summary="Item search (a JSON body: bbox, datetime, collections, ids, limit, query, "
            "filter, token)",
            tags=TAGS,
            body=Body(media={JSON: OBJECT}),
            replies=(Reply(status=200, description="OK", media={GEOJSON: OBJECT}),),
            errors=(400, 500, 503),
        ),
    ]
