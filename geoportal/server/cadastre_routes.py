"""`/cadastre/...`: split, merge, history and as-of queries, cadastral plans and their
verification. A thin adapter over `cadastre/` (the rules, SQL and the PDF live there).

Every route runs on the agency pool in one transaction carrying the caller's identity, so
the database's read policies decide which rights a plan may show (migration 0011) and its
write policies which writes pass (0008, 0011). Errors go through the one error table
(`geoportal/errors.py`); a broken rule is a 422 whose `problems` name each rule and place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from cadastre import history, operations, plan, plan_pdf, signing, topology
from cadastre.errors import CadastreError, ParcelChangedError, RuleViolationError
from cadastre.settings import CadastreSettings
from geoportal.errors import HTTPProblem, route_problem, status_of
from geoportal.security.identity import ANONYMOUS, Identity
from geoportal.server.cadastre_pages import plan_html, readable_facts, verification_html
from geoportal.server.etags import etag_sql, if_match_tags
from geoportal.server.writes import identity_transaction
from layers.catalogue import Catalogue

PARCELS = "cadastre_parcels"
MAX_BODY = 1_000_000


@dataclass
class CadastreRoutes:
    """The cadastre's routes over the agency pool."""

    catalogue: Catalogue
    pool: Callable[[], AsyncConnectionPool | None]
    public_url: str
    settings: CadastreSettings
    data_dir: Path
    statement_timeout_ms: int = 30_000
    _key: Ed25519PrivateKey | None = field(default=None, init=False)

    @property
    def routes(self) -> list[Route]:
        """Every `/cadastre/...` route."""
        parcel = "/cadastre/parcels/{code}"
        return [
            Route("/cadastre/parcels/merge", self._wrap(self.merge), methods=["POST"]),
            Route(parcel + "/split", self._wrap(self.split), methods=["POST"]),
            Route(parcel + "/history", self._wrap(self.history), methods=["GET"]),
            Route(parcel + "/plan", self._wrap(self.plan), methods=["GET"]),
            Route("/cadastre/blocks/{code}/parcels", self._wrap(self.block), methods=["GET"]),
            Route("/cadastre/blocks/{code}/topology", self._wrap(self.report), methods=["GET"]),
            Route("/cadastre/zones/{code}/changes", self._wrap(self.changes), methods=["GET"]),
            Route("/cadastre/verify/{token}", self._wrap(self.verify), methods=["GET"]),
        ]

    # -- plumbing ------------------------------------------------------------------------
    def _wrap(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPProblem as exc:
                answer = route_problem(request, exc.status, exc.detail, **exc.extra)
                return _with_headers(answer, exc.headers)
            except CadastreError as exc:
                status, _ = status_of(exc)
                extra: dict[str, Any] = {}
                if isinstance(exc, RuleViolationError):
                    extra["problems"] = exc.problems
                response = route_problem(request, status, str(exc), **extra)
                if isinstance(exc, ParcelChangedError):
                    response.headers["ETag"] = exc.etag
                return response

        return endpoint

    @contextlib.asynccontextmanager
    async def _transaction(self, identity: Identity) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        try:
            async with identity_transaction(
                self.pool(), identity, self.statement_timeout_ms, "the cadastre"
            ) as conn:
                yield conn
        except psycopg.errors.UniqueViolation as exc:  # two changes of one block at once
            raise HTTPProblem(409, "a new code was taken meanwhile; retry the change") from exc

    def _writer(self, request: Request) -> Identity:
        identity: Identity = getattr(request.state, "identity", ANONYMOUS)
        if not identity.is_authenticated:
            raise HTTPProblem(
                401,
                "changes of the register need credentials (an API key or a bearer token)",
                headers={"WWW-Authenticate": 'Bearer realm="geoportal"'},
            )
        if not identity.may_write_theme("cadastre"):
            raise HTTPProblem(403, f"{identity.name} may not write the cadastre theme")
        return identity

    @cached_property
    def key_path(self) -> Path:
        """Where the signing key is (the setting, else under the data directory)."""
        return self.settings.signing_key or self.data_dir / "cadastre" / "plan-signing-key.pem"

    @property
    def key(self) -> Ed25519PrivateKey:
        """The plan signing key, loaded (or generated) once."""
        if self._key is None:
            self._key = signing.load_or_create_key(self.key_path)
        return self._key

    async def _check_etags(
        self, conn: psycopg.AsyncConnection[Any], codes: list[str], header: str | None
    ) -> None:
        """412 when `If-Match` is given and a parent's ETag is not in it (rows locked)."""
        expected = if_match_tags(header)
        if expected is None or "*" in expected:
            return
        layer = self.catalogue.get(PARCELS)
        query = sql.SQL(
            "SELECT t.cadastral_code, {} FROM cadastre.cadastre_parcels t "
            "WHERE t.cadastral_code = ANY (%s) FOR UPDATE"
        ).format(etag_sql(layer))
        for code, etag in await (await conn.execute(query, [codes])).fetchall():
            if f'"{etag}"' not in expected:
                raise ParcelChangedError(
                    f"parcel {code} changed since you read it (If-Match does not match its "
                    "ETag); read it again",
                    f'"{etag}"',
                )

    async def check_written_parcel(self, conn: psycopg.AsyncConnection[Any], fid: int) -> None:
        """The topology rules of a parcel written through Part 4, before commit (a write
        check of `WriteRoutes`): 422 naming each problem."""
        row = await (
            await conn.execute(
                "SELECT cadastral_code, geom FROM cadastre.cadastre_parcels WHERE id = %s", [fid]
            )
        ).fetchone()
        if row is None:
            return
        problems = await topology.check_parcels(
            conn, [row[0]], [row[1]], tolerance_m=self.settings.tolerance_m, exclude_ids=[fid]
        )
        if problems:
            raise HTTPProblem(
                422,
                f"parcel {row[0]} breaks {len(problems)} cadastre rule(s)",
                problems=[p.to_dict() for p in problems],
            )

    # -- split and merge ----------------------------------------------------------------
    async def split(self, request: Request) -> Response:
        """POST /cadastre/parcels/{code}/split: by `line` or into `parts`; 201."""
        identity = self._writer(request)
        code = request.path_params["code"]
        body = await _json_body(request)
        valid_from = _valid_from(body)
        async with self._transaction(identity) as conn:
            await self._check_etags(conn, [code], request.headers.get("if-match"))
            result = await operations.split_parcel(
                conn,
                code,
                line=body.get("line"),
                parts=body.get("parts"),
                valid_from=valid_from,
                tolerance_m=self.settings.tolerance_m,
            )
        return self._change_response(result)

    async def merge(self, request: Request) -> Response:
        """POST /cadastre/parcels/merge: `parcels` (codes) merged into one; 201."""
        identity = self._writer(request)
        body = await _json_body(request)
        codes = body.get("parcels")
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise HTTPProblem(400, "`parcels` must be a list of cadastral codes")
        valid_from = _valid_from(body)
        async with self._transaction(identity) as conn:
            await self._check_etags(conn, codes, request.headers.get("if-match"))
            result = await operations.merge_parcels(
                conn, codes, valid_from=valid_from, tolerance_m=self.settings.tolerance_m
            )
        return self._change_response(result)

    def _change_response(self, result: operations.ChangeResult) -> Response:
        base = f"{self.public_url}/cadastre/parcels"
        body = {
            "operation": result.operation,
            "retired": result.retired,
            "created": result.created,
            "validFrom": result.valid_from.isoformat(),
            "links": [
                {"rel": "related", "href": f"{base}/{code}/history", "title": f"history of {code}"}
                for code in result.created
            ],
        }
        return JSONResponse(
            body, status_code=201, headers={"Location": f"{base}/{result.created[0]}/history"}
        )

    # -- history and as-of ----------------------------------------------------------------
    async def history(self, request: Request) -> Response:
        """GET /cadastre/parcels/{code}/history[?at=][&recordedAt=]."""
        at = _time(request, "at")
        recorded = _time(request, "recordedAt")
        async with self._transaction(ANONYMOUS) as conn:
            found = await history.parcel_history(
                conn, request.path_params["code"], at=at, recorded_at=recorded
            )
        if at is not None and not found["versions"]:
            raise HTTPProblem(
                404, f"parcel {request.path_params['code']} did not exist at {at.isoformat()}"
            )
        return JSONResponse(history.jsonable(found))

    async def block(self, request: Request) -> Response:
        """GET /cadastre/blocks/{code}/parcels?at=: the block's parcels valid at a time."""
        at = _time(request, "at") or dt.datetime.now(dt.UTC)
        async with self._transaction(ANONYMOUS) as conn:
            rows = await history.block_as_of(conn, request.path_params["code"], at)
        features = [
            {
                "type": "Feature",
                "id": r.pop("version_id"),
                "geometry": r.pop("geometry"),
                "properties": r,
            }
            for r in history.jsonable(rows)
        ]
        return JSONResponse(
            {"type": "FeatureCollection", "at": at.isoformat(), "features": features},
            media_type="application/geo+json",
        )

    async def report(self, request: Request) -> Response:
        """GET /cadastre/blocks/{code}/topology: the block's topology report."""
        code = request.path_params["code"]
        async with self._transaction(ANONYMOUS) as conn:
            problems = await topology.block_report(
                conn, code, tolerance_m=self.settings.tolerance_m
            )
        return JSONResponse(
            {
                "block": code,
                "toleranceM": self.settings.tolerance_m,
                "problems": [p.to_dict() for p in problems],
            }
        )

    async def changes(self, request: Request) -> Response:
        """GET /cadastre/zones/{code}/changes?since=&until=."""
        since, until = _time(request, "since"), _time(request, "until")
        if since is None or until is None or since >= until:
            raise HTTPProblem(400, "give `since` and `until` (ISO 8601), since before until")
        async with self._transaction(ANONYMOUS) as conn:
            rows = await history.zone_changes(conn, request.path_params["code"], since, until)
        return JSONResponse(
            {"zone": request.path_params["code"], "changes": history.jsonable(rows)}
        )

    # -- plans ----------------------------------------------------------------------------
    async def plan(self, request: Request) -> Response:
        """GET /cadastre/parcels/{code}/plan[?f=html]: the PDF (or its HTML view)."""
        fmt = request.query_params.get("f", "pdf")
        if fmt not in ("pdf", "html"):
            raise HTTPProblem(400, f"f: expected pdf or html, got {fmt!r}")
        identity: Identity = getattr(request.state, "identity", ANONYMOUS)
        with_rights = identity.role == "admin" or (
            identity.role == "agency" and "cadastre" in identity.themes
        )
        async with self._transaction(identity) as conn:
            facts = await plan.plan_facts(
                conn, request.path_params["code"], with_rights=with_rights
            )
        token = signing.sign_facts(self.key, facts.signed_facts())
        url = f"{self.public_url}/cadastre/verify/{token}"
        if fmt == "html":
            return HTMLResponse(plan_html(facts, url))
        pdf = plan_pdf.render_plan_pdf(facts, url, font=self.settings.font)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="plan-{facts.code}.pdf"'},
        )

    async def verify(self, request: Request) -> Response:
        """GET /cadastre/verify/{token}: the signed facts and whether they are current."""
        facts = signing.verify_token(self.key, request.path_params["token"])
        async with self._transaction(ANONYMOUS) as conn:
            state = await plan.verification(conn, facts)
        body = {"valid": True, "facts": readable_facts(facts), **state}
        if request.query_params.get("f") == "html":
            return HTMLResponse(verification_html(body))
        return JSONResponse(body)


def _with_headers(response: Response, headers: dict[str, str]) -> Response:
    for name, value in headers.items():
        response.headers[name] = value
    return response


async def _json_body(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "application/geo+json"):
        raise HTTPProblem(415, "send the request as application/json")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPProblem(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise HTTPProblem(400, f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise HTTPProblem(400, "the body must be a JSON object")
    return body


def _parse_time(text: str, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise HTTPProblem(
            400, f"{name}: expected an ISO 8601 date or date-time, got {text!r}"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone(dt.timedelta(hours=6)))


def _time(request: Request, name: str) -> dt.datetime | None:
    text = request.query_params.get(name)
    return None if text is None else _parse_time(text, name)


def _valid_from(body: dict[str, Any]) -> dt.datetime:
    text = body.get("validFrom")
    if text is None:
        return dt.datetime.now(dt.UTC)
    if not isinstance(text, str):
        raise HTTPProblem(400, "validFrom: expected an ISO 8601 date-time")
    return _parse_time(text, "validFrom")
