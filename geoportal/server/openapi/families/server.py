"""Families of the server itself: health, the audit trail, search."""

from __future__ import annotations

from geoportal.server.audit_routes import KINDS as AUDIT_KINDS
from geoportal.server.openapi.components import WRITE_SECURITY
from geoportal.server.openapi.context import RouteContext, json_reply, lang_param
from geoportal.server.openapi.model import Operation, Param, Reply
from geoportal.server.search_routes import MAX_LIMIT as SEARCH_MAX_LIMIT
from geoportal.server.search_routes import MAX_QUERY_LENGTH, MIN_QUERY_LENGTH


def health(ctx: RouteContext) -> list[Operation]:
    """Liveness, readiness and the `/api` alias of the OpenAPI document."""
    status = json_reply("Status", "The service is up")
    return [
        Operation(
            method="get",
            path="/healthz",
            operation_id="getHealth",
            summary="Liveness: the process answers",
            tags=("server",),
            replies=(status,),
            errors=(),
        ),
        Operation(
            method="get",
            path="/readyz",
            operation_id="getReadiness",
            summary="Readiness: the database answers and its migrations are the code's "
            "(503 naming what is missing when not)",
            tags=("server",),
            replies=(status,),
            errors=(503,),
        ),
        Operation(
            method="get",
            path="/metrics",
            operation_id="getMetrics",
            summary="Prometheus metrics: requests and latency per route, tile cache, pools, "
            "job queue (docs/deploy.md)",
            tags=("server",),
            replies=(
                Reply(
                    status=200,
                    description="Prometheus text exposition format",
                    media={"text/plain": {"type": "string"}},
                ),
            ),
            errors=(),
        ),
        Operation(
            method="get",
            path="/api",
            operation_id="getApiAlias",
            summary="The OpenAPI document (permanent redirect to /openapi)",
            tags=("server",),
            replies=(Reply(status=308, description="See /openapi", headers=("Location",)),),
            errors=(),
        ),
    ]


def audit(ctx: RouteContext) -> list[Operation]:
    """The audit trail of the writes and of the file loads (administrators)."""
    return [
        Operation(
            method="get",
            path="/audit",
            operation_id="getAudit",
            summary="Changes made through the API, or file loads (`kind=loads`: one change "
            "set per load), newest first (administrators only)",
            description="`kind=changes` (the default): one record per feature written "
            "through the API, before and after. `kind=loads`: one change set per file load "
            "(`geoportal layers load`, `POST /ingest`, `import-osm`): who, when, the file, "
            "the layer, the mode, the rows inserted, updated, deleted and skipped, and the "
            "job that ran it (link `monitor` to `/jobs/{jobId}`; link `self` to "
            "`/audit/loads/{loadId}`). Every filter applies to both kinds.",
            tags=("audit",),
            security=WRITE_SECURITY,
            params=(
                Param(
                    name="kind",
                    description="What to list: API changes or file loads",
                    schema={"type": "string", "enum": list(AUDIT_KINDS), "default": "changes"},
                ),
                Param(name="layer", description="Only this collection"),
                Param(name="user", description="Only this user"),
                Param(
                    name="since",
                    description="From (ISO 8601)",
                    schema={"type": "string", "format": "date-time"},
                ),
                Param(
                    name="until",
                    description="Before (ISO 8601)",
                    schema={"type": "string", "format": "date-time"},
                ),
                Param(
                    name="limit",
                    schema={"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                ),
                Param(
                    name="before",
                    description="Records with a smaller id (paging: `next`)",
                    schema={"type": "integer", "minimum": 1},
                ),
            ),
            replies=(json_reply("AuditRecords"),),
            errors=(400, 401, 403, 500, 503),
        ),
        Operation(
            method="get",
            path="/audit/loads/{loadId}",
            operation_id="getAuditLoad",
            summary="What one file load changed: its change set (counts, file, mode, job) "
            "and the statements it ran on the layer (administrators only)",
            description="A load is recorded per statement, not per feature: the counts say "
            "how many features it inserted, updated and deleted; the affected feature ids "
            "are not in the audit trail. The load's validation report is among its job's "
            "results (`/jobs/{jobId}/results`).",
            tags=("audit",),
            security=WRITE_SECURITY,
            params=(
                Param(
                    name="loadId",
                    where="path",
                    required=True,
                    description="The load's id (`id` of a `kind=loads` record)",
                    schema={"type": "integer", "minimum": 1},
                ),
            ),
            replies=(json_reply("AuditLoad"),),
            errors=(401, 403, 404, 500, 503),
        ),
    ]


def search(ctx: RouteContext) -> list[Operation]:
    """Place-name and code search."""
    return [
        Operation(
            method="get",
            path="/search",
            operation_id="search",
            summary="One result per named thing (place, road, street, address, cadastral "
            "code...) matching a text, tolerant of script and spelling (docs/search.md)",
            tags=("search",),
            params=(
                Param(
                    name="q",
                    required=True,
                    description="The text",
                    schema={
                        "type": "string",
                        "minLength": MIN_QUERY_LENGTH,
                        "maxLength": MAX_QUERY_LENGTH,
                    },
                ),
                lang_param(),
                Param(
                    name="limit",
                    schema={"type": "integer", "minimum": 1, "maximum": SEARCH_MAX_LIMIT},
                ),
            ),
            replies=(json_reply("SearchResults"),),
            errors=(400, 500, 503),
        )
    ]
