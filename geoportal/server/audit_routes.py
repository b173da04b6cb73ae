"""`GET /audit`: the audit trail of writes, for administrators only.

Query parameters: `layer` (collection id), `user`, `since` and `until` (ISO 8601 date-times,
`since` inclusive, `until` exclusive), `limit` (default 100, at most 1,000) and `before` (an
audit record id, for the next page: records are returned newest first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from geoportal.errors import HTTPProblem, problem_response
from geoportal.security.identity import ANONYMOUS, Identity


def _time(request: Request, name: str) -> dt.datetime | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise HTTPProblem(400, f"{name}: expected an ISO 8601 date-time, got {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _integer(request: Request, name: str, default: int | None, maximum: int) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise HTTPProblem(400, f"{name}: expected a whole number from 1 to {maximum}")
    return int(text)


def _filters(request: Request) -> tuple[list[sql.Composable], list[Any]]:
    """WHERE conditions and their parameters from the query string (400 on bad values)."""
    unknown = set(request.query_params) - {
        "layer",
        "user",
        "since",
        "until",
        "limit",
        "before",
        "f",
    }
    if unknown:
        raise HTTPProblem(400, f"unknown parameters {sorted(unknown)}")
    filters: list[sql.Composable] = []
    params: list[Any] = []
    for column, value in (
        ("layer_id", request.query_params.get("layer")),
        ("user_name", request.query_params.get("user")),
    ):
        if value is not None:
            filters.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    for op, value in ((">=", _time(request, "since")), ("<", _time(request, "until"))):
        if value is not None:
            filters.append(sql.SQL("changed_at " + op + " %s"))
            params.append(value)
    before = _integer(request, "before", None, 2**62)
    if before is not None:
        filters.append(sql.SQL("id < %s"))
        params.append(before)
    return filters, params


def audit_route(pool: Callable[[], AsyncConnectionPool | None]) -> Route:
    """The route of `GET /audit`."""

    async def audit(request: Request) -> Response:
        request_id = getattr(request.state, "request_id", None)
        try:
            return await _audit(request)
        except HTTPProblem as exc:
            return problem_response(exc.status, exc.detail, request_id, headers=exc.headers)

    async def _audit(request: Request) -> Response:
        identity: Identity = getattr(request.state, "identity", ANONYMOUS)
        if not identity.is_authenticated:
            raise HTTPProblem(
                401,
                "the audit trail needs an administrator's credentials",
                headers={"WWW-Authenticate": 'Bearer realm="geoportal"'},
            )
        if identity.role != "admin":
            raise HTTPProblem(403, "only administrators read the audit trail")
        filters, params = _filters(request)
        limit = _integer(request, "limit", 100, 1000)
        where = sql.SQL(" AND ").join(filters) if filters else sql.SQL("true")
        query = sql.SQL(
            "SELECT id, changed_at, user_name, user_role, db_role, layer_id, "
            "feature_id, operation, before, after FROM audit.changes WHERE {} "
            "ORDER BY id DESC LIMIT %s"
        ).format(where)
        current = pool()
        if current is None:
            raise HTTPProblem(503, "the audit trail is not available yet; retry shortly")
        async with current.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, [*params, limit])
            records = await cur.fetchall()
        for record in records:
            record["changed_at"] = record["changed_at"].isoformat()
        body: dict[str, Any] = {"records": records, "numberReturned": len(records)}
        if records and len(records) == limit:
            body["next"] = records[-1]["id"]
        return JSONResponse(body)

    return Route("/audit", audit, methods=["GET"])
