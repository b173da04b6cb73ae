"""OGC API - Features - Part 4 (create, replace, update, delete) on editable collections."""

from __future__ import annotations

from cadastre.history import REGISTER_LAYERS
from geoportal.server.openapi.components import WRITE_SECURITY
from geoportal.server.openapi.context import CQL2_JSON, GEOJSON, JSON, OGC_FEATURES, RouteContext
from geoportal.server.openapi.model import Body, Operation, Param, Reply
from geoportal.server.openapi.schemas import ref


def writes(ctx: RouteContext) -> list[Operation]:
    """OGC API - Features - Part 4 on the editable collections."""
    operations: list[Operation] = []
    feature_id = Param(ref=f"{OGC_FEATURES}#/components/parameters/featureId")
    content_crs = Param(
        name="Content-Crs",
        where="header",
        description="CRS of the geometry sent, `<URI>` (default CRS84)",
    )
    if_match = Param(
        name="If-Match",
        where="header",
        description="ETag the client read; the write fails with 412 if the feature changed",
    )
    feature = Body(
        media={media: ref("FeatureInput") for media in (GEOJSON, JSON)},
        description="The feature",
    )
    written = (401, 403, 404, 405, 409, 413, 415, 500, 503)
    for collection in ctx.editable:
        items = f"/collections/{collection}/items"
        common = {"tags": (collection,), "security": WRITE_SECURITY}
        # the cadastre's topology rules refuse a parcel with a 422 (docs/cadastre.md)
        checked = (422,) if collection == "cadastre_parcels" else ()
        # a retired parcel of the land register answers 410 to a write (server/cadastre_retired)
        gone = (410,) if collection in REGISTER_LAYERS else ()
        operations += [
            Operation(
                method="post",
                path=items,
                operation_id=f"create{collection}",
                summary="Add a feature, or search with a CQL2 JSON body",
                description=(
                    "A body of type `application/query-cql-json` is a search (answered as "
                    "GET items, no credentials needed); any other body creates a feature."
                ),
                params=(content_crs,),
                body=Body(
                    media={
                        CQL2_JSON: {"$ref": "https://schemas.opengis.net/cql2/1.0/cql2.json"},
                        GEOJSON: ref("FeatureInput"),
                        JSON: ref("FeatureInput"),
                    }
                ),
                replies=(
                    Reply(status=200, description="Search results", media=_features()),
                    Reply(status=201, description="Created", headers=("Location", "ETag")),
                ),
                errors=(400, *written, *checked),
                **common,
            ),
            Operation(
                method="put",
                path=f"{items}/{{featureId}}",
                operation_id=f"replace{collection}",
                summary="Replace a feature (missing optional fields become null)",
                params=(feature_id, content_crs, if_match),
                body=feature,
                replies=(Reply(status=204, description="Replaced", headers=("ETag",)),),
                errors=(400, *written, 412, *checked, *gone),
                **common,
            ),
            Operation(
                method="patch",
                path=f"{items}/{{featureId}}",
                operation_id=f"update{collection}",
                summary="Change the fields sent (JSON merge patch of a feature)",
                params=(feature_id, content_crs, if_match),
                body=Body(
                    media={
                        "application/merge-patch+json": ref("FeatureInput"),
                        JSON: ref("FeatureInput"),
                    }
                ),
                replies=(Reply(status=204, description="Updated", headers=("ETag",)),),
                errors=(400, *written, 412, *checked, *gone),
                **common,
            ),
            Operation(
                method="delete",
                path=f"{items}/{{featureId}}",
                operation_id=f"delete{collection}",
                summary="Delete a feature (a parcel of the land register is retired)",
                params=(feature_id, if_match),
                replies=(Reply(status=204, description="Deleted"),),
                errors=(400, *written, 412, *gone),
                **common,
            ),
        ]
    return operations


def _features() -> dict[str, dict[str, str]]:
    return {GEOJSON: {"$ref": f"{OGC_FEATURES}#/components/schemas/featureCollectionGeoJSON"}}
