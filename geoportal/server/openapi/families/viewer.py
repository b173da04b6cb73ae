"""The map viewer and the layer previews."""

from __future__ import annotations

from geoportal.server.openapi.context import JSON, RouteContext, lang_param
from geoportal.server.openapi.model import BINARY, HTML, Operation, Param, Reply
from geoportal.server.openapi.schemas import ref
from geoportal.viewer import preview

TEXT_HTML = "text/html"


def viewer(ctx: RouteContext) -> list[Operation]:
    """`/map`, its configuration, and the folium previews of a collection or a feature."""
    page = Reply(status=200, description="The page", media={TEXT_HTML: HTML})
    unavailable = Reply(
        status=503,
        description="The browser libraries are not installed",
        media={TEXT_HTML: HTML},
    )
    collection = Param(
        name="collectionId",
        where="path",
        description="A collection",
        schema={"type": "string", "enum": list(ctx.collections)},
    )
    preview_params = (
        lang_param(),
        Param(
            name="limit",
            description="Features drawn",
            schema={"type": "integer", "minimum": 1, "maximum": preview.MAX_LIMIT},
        ),
    )
    operations = [
        Operation(
            method="get",
            path=path,
            operation_id=f"getMapViewer{suffix}",
            summary="The public map viewer (HTML)",
            tags=("viewer",),
            replies=(page, unavailable),
            errors=(),
        )
        for path, suffix in (("/map", ""), ("/map/", "Slash"))
    ]
    return [
        *operations,
        Operation(
            method="get",
            path="/favicon.ico",
            operation_id="getFavicon",
            summary="The portal's icon (SVG)",
            tags=("viewer",),
            replies=(Reply(status=200, description="OK", media={"image/svg+xml": BINARY}),),
            errors=(),
        ),
        Operation(
            method="get",
            path="/map/config.json",
            operation_id="getMapViewerConfig",
            summary="The viewer's configuration: layers, themes, languages, basemap",
            tags=("viewer",),
            replies=(Reply(status=200, description="OK", media={JSON: ref("ViewerConfig")}),),
            errors=(500,),
        ),
        Operation(
            method="get",
            path="/map/aggregates/agri_plots.json",
            operation_id="getMapAgriAggregate",
            summary=(
                "Agricultural plots per rayon (count, area in ha, share irrigated) as GeoJSON: "
                "the viewer's country view of agriculture, computed from agri_plots"
            ),
            tags=("viewer",),
            replies=(
                Reply(
                    status=200,
                    description="A FeatureCollection, one rayon outline per feature",
                    media={"application/geo+json": {"type": "object"}},
                ),
                Reply(status=304, description="Not modified (ETag)"),
            ),
            errors=(500, 503),
        ),
        Operation(
            method="get",
            path="/map/streets.json",
            operation_id="getMapStreetNames",
            summary=(
                "The city twins' street names (urban roads) in Kyrgyz, Russian and Latin "
                "(the address registry's forms), for the viewer's street labels"
            ),
            tags=("viewer",),
            replies=(
                Reply(
                    status=200,
                    description="Registered name -> {ky, ru, en}",
                    media={JSON: {"type": "object"}},
                ),
                Reply(status=304, description="Not modified (ETag)"),
            ),
            errors=(500, 503),
        ),
        Operation(
            method="get",
            path="/collections/{collectionId}/preview",
            operation_id="getCollectionPreview",
            summary="A map of the collection's features (HTML)",
            tags=("viewer",),
            params=(collection, *preview_params),
            replies=(page,),
            errors=(400, 404, 500, 503),
        ),
        Operation(
            method="get",
            path="/collections/{collectionId}/items/{featureId}/preview",
            operation_id="getFeaturePreview",
            summary="A map of one feature (HTML)",
            tags=("viewer",),
            params=(
                collection,
                Param(name="featureId", where="path", description="The feature"),
                *preview_params,
            ),
            replies=(page,),
            errors=(400, 404, 500, 503),
        ),
    ]
