"""The cadastre's routes (`geoportal/server/cadastre_routes.py`, `docs/cadastre.md`): split,
merge, history and the as-of queries of the bi-temporal register, plans and verification.

The collection `cadastre_parcels` keeps `datetime` as the registration date; the as-of
queries are these routes, found here (operation ids `getParcelHistory`, `getBlockAsOf`,
`getZoneChanges`)."""

from __future__ import annotations

from geoportal.server.openapi.components import WRITE_SECURITY
from geoportal.server.openapi.context import GEOJSON, JSON, RouteContext
from geoportal.server.openapi.model import Body, Operation, Param, Reply

CODE = Param(
    name="code",
    where="path",
    description="Cadastral identification code T-RR-ZZ-BBBB-PPPP",
    schema={"type": "string", "pattern": r"^[1-9]-\d{2}-\d{2}-\d{4}-\d{4}$"},
)
TIME = {"type": "string", "format": "date-time"}
OBJECT = {"type": "object", "additionalProperties": True}
CHANGE_REPLY = Reply(
    status=201,
    description="The parents retired, the children registered (codes), lineage recorded",
    media={
        JSON: {
            "type": "object",
            "required": ["operation", "retired", "created"],
            "properties": {
                "operation": {"type": "string", "enum": ["split", "merge"]},
                "retired": {"type": "array", "items": {"type": "string"}},
                "created": {"type": "array", "items": {"type": "string"}},
                "validFrom": TIME,
                "links": {"type": "array", "items": OBJECT},
            },
        }
    },
)
IF_MATCH = Param(
    name="If-Match",
    where="header",
    description="ETags of the parent parcels as read (412 when one changed since)",
)
VALID_FROM = {"type": "string", "format": "date-time", "description": "Valid time (default now)"}


def _writes() -> list[Operation]:
    return [
        Operation(
            method="post",
            path="/cadastre/parcels/{code}/split",
            operation_id="splitParcel",
            summary="Split a parcel by a line or into given polygons (one transaction)",
            description="Every rule is checked before commit; a violation is a 422 whose "
            "`problems` name each rule, parcel and place.",
            tags=("cadastre",),
            security=WRITE_SECURITY,
            params=(CODE, IF_MATCH),
            body=Body(
                media={
                    JSON: {
                        "type": "object",
                        "properties": {
                            "line": {**OBJECT, "description": "GeoJSON LineString, CRS84"},
                            "parts": {"type": "array", "items": OBJECT},
                            "validFrom": VALID_FROM,
                        },
                    }
                }
            ),
            replies=(CHANGE_REPLY,),
            errors=(400, 401, 403, 404, 409, 412, 415, 422, 500, 503),
        ),
        Operation(
            method="post",
            path="/cadastre/parcels/merge",
            operation_id="mergeParcels",
            summary="Merge adjacent parcels of one block, category and use (one transaction)",
            tags=("cadastre",),
            security=WRITE_SECURITY,
            params=(IF_MATCH,),
            body=Body(
                media={
                    JSON: {
                        "type": "object",
                        "required": ["parcels"],
                        "properties": {
                            "parcels": {"type": "array", "items": {"type": "string"}},
                            "validFrom": VALID_FROM,
                        },
                    }
                }
            ),
            replies=(CHANGE_REPLY,),
            errors=(400, 401, 403, 404, 409, 412, 415, 422, 500, 503),
        ),
    ]


def _reads() -> list[Operation]:
    return [
        Operation(
            method="get",
            path="/cadastre/parcels/{code}/history",
            operation_id="getParcelHistory",
            summary="A parcel's bi-temporal history and lineage; `at`: as of a date",
            tags=("cadastre",),
            params=(
                CODE,
                Param(name="at", description="Valid time: the version true then", schema=TIME),
                Param(
                    name="recordedAt",
                    description="Record time: as the register knew it then (default now)",
                    schema=TIME,
                ),
            ),
            replies=(Reply(status=200, description="OK", media={JSON: OBJECT}),),
            errors=(400, 404, 500, 503),
        ),
        Operation(
            method="get",
            path="/cadastre/blocks/{code}/parcels",
            operation_id="getBlockAsOf",
            summary="The parcels of a block as they were at a date",
            tags=("cadastre",),
            params=(
                Param(name="code", where="path", description="Block code T-RR-ZZ-BBBB"),
                Param(name="at", description="Valid time (default now)", schema=TIME),
            ),
            replies=(Reply(status=200, description="OK", media={GEOJSON: OBJECT}),),
            errors=(400, 500, 503),
        ),
        Operation(
            method="get",
            path="/cadastre/blocks/{code}/topology",
            operation_id="getBlockTopology",
            summary="The topology report of a block: invalid parcels, parts outside it, "
            "overlaps and gaps wider than the tolerance, each with where it is",
            tags=("cadastre",),
            params=(Param(name="code", where="path", description="Block code T-RR-ZZ-BBBB"),),
            replies=(Reply(status=200, description="OK", media={JSON: OBJECT}),),
            errors=(404, 500, 503),
        ),
        Operation(
            method="get",
            path="/cadastre/zones/{code}/changes",
            operation_id="getZoneChanges",
            summary="What changed in a cadastral zone between two dates",
            tags=("cadastre",),
            params=(
                Param(name="code", where="path", description="Zone code T-RR-ZZ"),
                Param(name="since", schema=TIME, required=True),
                Param(name="until", schema=TIME, required=True),
            ),
            replies=(Reply(status=200, description="OK", media={JSON: OBJECT}),),
            errors=(400, 500, 503),
        ),
        Operation(
            method="get",
            path="/cadastre/parcels/{code}/plan",
            operation_id="getParcelPlan",
            summary="The cadastral plan (PDF, or HTML with f=html) with its verification QR",
            tags=("cadastre",),
            params=(
                CODE,
                Param(name="f", schema={"type": "string", "enum": ["pdf", "html"]}),
            ),
            replies=(
                Reply(
                    status=200,
                    description="The plan",
                    media={
                        "application/pdf": {"type": "string", "format": "binary"},
                        "text/html": {"type": "string"},
                    },
                ),
            ),
            errors=(400, 404, 500, 503),
        ),
        Operation(
            method="get",
            path="/cadastre/verify/{token}",
            operation_id="verifyPlan",
            summary="Check a plan's signed facts and whether they are still current",
            tags=("cadastre",),
            params=(
                Param(name="token", where="path", description="The token of the plan's QR"),
                Param(name="f", schema={"type": "string", "enum": ["json", "html"]}),
            ),
            replies=(
                Reply(
                    status=200,
                    description="Valid signature: the facts and their status",
                    media={JSON: OBJECT, "text/html": {"type": "string"}},
                ),
            ),
            errors=(400, 500, 503),
        ),
    ]


def cadastre(ctx: RouteContext) -> list[Operation]:
    """Every `/cadastre/...` operation."""
    return [*_writes(), *_reads()]
