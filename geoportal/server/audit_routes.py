"""`GET /audit` and `GET /audit/loads/{loadId}`: the audit trail, for administrators only.

`GET /audit` lists the changes made through the API (`kind=changes`, the default: one record
per feature written) or the file loads (`kind=loads`: one change set per load, from
`audit.loads`: who, when, which file into which layer, in which mode, the rows inserted,
updated, deleted and skipped, and the job that ran it). Query parameters of both: `layer`
(collection id), `user`, `since` and `until` (ISO 8601 date-times, `since` inclusive,
`until` exclusive), `limit` (default 100, at most 1,000) and `before` (a record id, for the
next page: records are returned newest first).

`GET /audit/loads/{loadId}` answers "what did this load change": the change set, its job,
and the statements the load ran on the layer (the owner's statement records of
`audit.changes` in the load's transaction: operation and time). A load is recorded per
statement, not per feature, so the affected feature ids are not in the trail; the counts are.
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

KINDS = ("changes", "loads")
"""What `GET /audit` lists (`kind=`)."""
CHANGES = sql.SQL(
    "SELECT id, changed_at, user_name, user_role, db_role, layer_id, feature_id, operation, "
    "before, after FROM audit.changes"
)
LOADS = sql.SQL(
    "SELECT id, loaded_at, user_name, user_role, layer_id, source_file, mode, inserted, "
    "updated, deleted, skipped, job_id, transaction_id FROM audit.loads"
)
TIME_COLUMNS = {"changes": "changed_at", "loads": "loaded_at"}
PARAMETERS = {"kind", "layer", "user", "since", "until", "limit", "before", "f"}


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


def _kind(request: Request) -> str:
    kind = request.query_params.get("kind", "changes")
    if kind not in KINDS:
        raise HTTPProblem(400, f"kind: {kind!r} is not one of {list(KINDS)}")
    return kind


def _filters(request: Request, kind: str) -> tuple[list[sql.Composable], list[Any]]:
    """WHERE conditions and their parameters from the query string (400 on bad values)."""
    unknown = set(request.query_params) - PARAMETERS
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
    column = sql.Identifier(TIME_COLUMNS[kind])
    for op, value in ((">=", _time(request, "since")), ("<", _time(request, "until"))):
        if value is not None:
            filters.append(sql.SQL("{} " + op + " %s").format(column))
            params.append(value)
    before = _integer(request, "before", None, 2**62)
    if before is not None:
        filters.append(sql.SQL("id < %s"))
        params.append(before)
    return filters, params


def _load_record(record: dict[str, Any]) -> dict[str, Any]:
    """A load change set as JSON, with links to itself and to its job."""
    record["loaded_at"] = record["loaded_at"].isoformat()
    links = [{"rel": "self", "href": f"/audit/loads/{record['id']}", "type": "application/json"}]
    if record["job_id"] is not None:
        record["job_id"] = str(record["job_id"])
        links.append({"rel": "monitor", "href": f"/jobs/{record['job_id']}"})
    record["links"] = links
    return record


class _Admin:
    """The checks and the pool every audit route shares."""

    def __init__(self, pool: Callable[[], AsyncConnectionPool | None]) -> None:
        self.pool = pool

    def check(self, request: Request) -> AsyncConnectionPool:
        """The pool, for an administrator (401 anonymous, 403 anybody else, 503 no pool)."""
        identity: Identity = getattr(request.state, "identity", ANONYMOUS)
        if not identity.is_authenticated:
            raise HTTPProblem(
                401,
                "the audit trail needs an administrator's credentials",
                headers={"WWW-Authenticate": 'Bearer realm="geoportal"'},
            )
        if identity.role != "admin":
            raise HTTPProblem(403, "only administrators read the audit trail")
        current = self.pool()
        if current is None:
            raise HTTPProblem(503, "the audit trail is not available yet; retry shortly")
        return current

    def route(self, path: str, handler: Callable[[Request], Any]) -> Route:
        """A GET route answering its HTTPProblems as problem JSON."""

        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except HTTPProblem as exc:
                request_id = getattr(request.state, "request_id", None)
                return problem_response(exc.status, exc.detail, request_id, headers=exc.headers)

        return Route(path, endpoint, methods=["GET"])


async def _fetch(
    pool: AsyncConnectionPool, query: sql.Composable, params: list[Any]
) -> list[dict[str, Any]]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


def audit_routes(pool: Callable[[], AsyncConnectionPool | None]) -> list[Route]:
    """The routes of `GET /audit` and `GET /audit/loads/{loadId}`."""
    admin = _Admin(pool)

    async def audit(request: Request) -> Response:
        current = admin.check(request)
        kind = _kind(request)
        filters, params = _filters(request, kind)
        limit = _integer(request, "limit", 100, 1000)
        where = sql.SQL(" AND ").join(filters) if filters else sql.SQL("true")
        query = sql.SQL("{} WHERE {} ORDER BY id DESC LIMIT %s").format(
            LOADS if kind == "loads" else CHANGES, where
        )
        records = await _fetch(current, query, [*params, limit])
        for record in records:
            if kind == "loads":
                _load_record(record)
            else:
                record["changed_at"] = record["changed_at"].isoformat()
        body: dict[str, Any] = {"kind": kind, "records": records, "numberReturned": len(records)}
        if records and len(records) == limit:
            body["next"] = records[-1]["id"]
        return JSONResponse(body)

    async def load(request: Request) -> Response:
        current = admin.check(request)
        text = request.path_params["loadId"]
        if not text.isdigit() or int(text) >= 2**63:
            raise HTTPProblem(404, f"no load {text!r} in the audit trail")
        found = await _fetch(current, sql.SQL("{} WHERE id = %s").format(LOADS), [int(text)])
        if not found:
            raise HTTPProblem(404, f"no load {text} in the audit trail")
        record = _load_record(found[0])
        statements = await _fetch(
            current,
            sql.SQL(
                "SELECT operation, changed_at FROM audit.changes WHERE transaction_id = %s "
                "AND layer_id = %s AND feature_id IS NULL ORDER BY id"
            ),
            [record["transaction_id"], record["layer_id"]],
        )
        record["statements"] = [
            {"operation": s["operation"], "changed_at": s["changed_at"].isoformat()}
            for s in statements
        ]
        return JSONResponse(record)

    return [admin.route("/audit", audit), admin.route("/audit/loads/{loadId}", load)]
