"""OGC API - Features - Part 4 (create, replace, update, delete) on editable layers.

Starlette routes placed before the pygeoapi mount; a Route with methods=[...] matches only
those methods, so GETs still reach pygeoapi (or the fast path). Every write:

- needs an authenticated agency user bound to the layer's theme, or an admin (401 / 403),
  and, for a user bound to oblasts, a feature inside them, before and after (403);
- is checked against the layer declaration (400 naming the field, `feature_input.py`);
- takes its geometry in the request's `Content-Crs` (default CRS84) and stores it in the
  layer's storage CRS (ST_Transform in PostGIS, axis order of the CRS authority);
- runs as `geoportal_agency` in one transaction carrying the identity (`geoportal.user`,
  `geoportal.role`, ... via set_config(..., true)), which the audit triggers record;
- honours `If-Match` (412 when the feature changed since the client read it; the row is
  locked while compared) and answers with the new `ETag`;
- is cancelled in the database when the client goes away, and bounded by the statement
  timeout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from analyses.errors import WorkNotSurveyedError
from cadastre.history import REGISTER_LAYERS, find_retired
from features.crs import crs_info
from geoportal.errors import HTTPProblem, problem_response
from geoportal.security.identity import ANONYMOUS, Identity
from geoportal.server.cadastre_retired import retired_problem
from geoportal.server.disconnect import respond_unless_disconnected
from geoportal.server.etags import etag_sql, if_match_tags
from geoportal.server.feature_input import FeatureInput, check_feature, parse_body
from layers.catalogue import Catalogue
from layers.errors import LayerNotFoundError
from layers.geography import CRS84
from layers.model import SUPPORTED_CRS, Layer

log = logging.getLogger(__name__)

CQL_JSON = "application/query-cql-json"
WriteCheck = Callable[[psycopg.AsyncConnection[Any], int], Awaitable[None]]
JSON_TYPES = ("application/geo+json", "application/json", "application/merge-patch+json")


@contextlib.asynccontextmanager
async def identity_transaction(
    pool: AsyncConnectionPool | None, identity: Identity, statement_timeout_ms: int, what: str
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A transaction of the agency pool as `identity` (its settings for the database's row
    security and oblast guard, and the statement timeout), every write route's: a pool not
    yet open, a busy pool or a cancelled statement is a 503, the database's refusal a 403."""
    if pool is None:
        raise HTTPProblem(503, f"{what} is starting; retry shortly")
    try:
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, true)", [str(statement_timeout_ms)]
            )
            for name, value in identity.transaction_settings().items():
                await conn.execute("SELECT set_config(%s, %s, true)", [name, value])
            yield conn
    except PoolTimeout as exc:
        raise HTTPProblem(503, "the database is busy; retry shortly") from exc
    except psycopg.errors.QueryCanceled as exc:
        raise HTTPProblem(503, "the write took too long and was cancelled") from exc
    except psycopg.errors.InsufficientPrivilege as exc:  # oblast guard, RLS (0008, 0011)
        raise HTTPProblem(403, _refusal_message(exc)) from exc


@dataclass
class WriteRoutes:
    """The Part 4 routes of a catalogue, writing through `pool` (geoportal_agency)."""

    catalogue: Catalogue
    pool: Callable[[], AsyncConnectionPool | None]
    public_url: str
    statement_timeout_ms: int
    searches: ASGIApp | None = None
    """Where a POST of a CQL2 JSON query (`application/query-cql-json`, a search, not a
    write) goes: the read path (pygeoapi behind the fast path)."""
    checks: dict[str, WriteCheck] = dataclasses.field(default_factory=dict)
    """Per layer id, a check of the written feature run before commit in the write's
    transaction (the cadastre's topology rules); it raises HTTPProblem to refuse."""

    @property
    def routes(self) -> list[Route]:
        """POST on items, PUT/PATCH/DELETE on an item."""
        return [
            Route("/collections/{collectionId}/items", _AsgiEndpoint(self._post), methods=["POST"]),
            Route(
                "/collections/{collectionId}/items/{featureId}",
                self._guard(self.replace),
                methods=["PUT"],
            ),
            Route(
                "/collections/{collectionId}/items/{featureId}",
                self._guard(self.update),
                methods=["PATCH"],
            ),
            Route(
                "/collections/{collectionId}/items/{featureId}",
                self._guard(self.delete),
                methods=["DELETE"],
            ),
        ]

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POST on items: a search with a CQL2 JSON body goes to the read path; anything
        else is a create."""
        media = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
        if media == CQL_JSON and self.searches is not None:
            await self.searches(scope, receive, send)
            return
        await request_response(self._guard(self.create))(scope, receive, send)

    def _guard(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPProblem as exc:
                return problem_response(
                    exc.status,
                    exc.detail,
                    getattr(request.state, "request_id", None),
                    headers=exc.headers,
                    **exc.extra,
                )

        return endpoint

    # -- the four operations -----------------------------------------------------------
    async def create(self, request: Request) -> Response:
        """POST: a new feature; 201 with its Location and ETag."""
        layer, identity = self._authorise(request)
        feature = check_feature(layer, parse_body(await self._body(request)))
        srid = self._content_srid(request)

        async def work() -> Response:
            async with self._transaction(identity) as conn:
                geom = await self._geometry(conn, layer, feature, srid, identity)
                fid, etag = await self._insert(conn, layer, feature, geom)
                if layer.id in self.checks:
                    await self.checks[layer.id](conn, fid)
            location = f"{self.public_url}/collections/{layer.id}/items/{fid}"
            return Response(status_code=201, headers={"Location": location, "ETag": etag})

        return await respond_unless_disconnected(request, work())

    async def replace(self, request: Request) -> Response:
        """PUT: every field replaced (missing optional fields become null); 204 + ETag."""
        return await self._change(request, partial=False)

    async def update(self, request: Request) -> Response:
        """PATCH (JSON merge patch of a Feature): the fields sent; 204 + ETag."""
        return await self._change(request, partial=True)

    async def delete(self, request: Request) -> Response:
        """DELETE: 204."""
        layer, identity = self._authorise(request)
        fid = self._fid(request)
        expected = if_match_tags(request.headers.get("if-match"))

        async def work() -> Response:
            async with self._transaction(identity) as conn:
                await self._lock(conn, layer, fid, expected, identity)
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE id = %s").format(
                        sql.Identifier(*layer.qualified_table)
                    ),
                    [fid],
                )
            return Response(status_code=204)

        return await respond_unless_disconnected(request, work())

    async def _change(self, request: Request, partial: bool) -> Response:
        layer, identity = self._authorise(request)
        fid = self._fid(request)
        feature = check_feature(layer, parse_body(await self._body(request)), partial=partial)
        srid = self._content_srid(request)
        expected = if_match_tags(request.headers.get("if-match"))

        async def work() -> Response:
            async with self._transaction(identity) as conn:
                await self._lock(conn, layer, fid, expected, identity)
                geom = await self._geometry(conn, layer, feature, srid, identity)
                etag = await self._update(conn, layer, fid, feature, geom)
                if layer.id in self.checks:
                    await self.checks[layer.id](conn, fid)
            return Response(status_code=204, headers={"ETag": etag})

        return await respond_unless_disconnected(request, work())

    # -- request checks ----------------------------------------------------------------
    def _authorise(self, request: Request) -> tuple[Layer, Identity]:
        try:
            layer = self.catalogue.get(request.path_params["collectionId"])
        except LayerNotFoundError as exc:
            raise HTTPProblem(
                404, f"no collection {request.path_params['collectionId']!r}"
            ) from exc
        if not layer.is_editable:
            raise HTTPProblem(
                405,
                f"collection {layer.id} is not editable",
                headers={"Allow": "GET, HEAD, OPTIONS"},
            )
        identity: Identity = getattr(request.state, "identity", ANONYMOUS)
        if not identity.is_authenticated:
            raise HTTPProblem(
                401,
                "writes need credentials (an API key or a bearer token)",
                headers={"WWW-Authenticate": 'Bearer realm="geoportal"'},
            )
        if not identity.may_write_theme(layer.theme):
            raise HTTPProblem(403, f"{identity.name} may not write the {layer.theme} theme")
        return layer, identity

    async def _body(self, request: Request) -> bytes:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in JSON_TYPES:
            raise HTTPProblem(415, f"send the feature as one of {list(JSON_TYPES)}")
        return await request.body()

    @staticmethod
    def _fid(request: Request) -> int:
        text = request.path_params["featureId"]
        if not text.isdigit() or len(text) > 18:
            raise HTTPProblem(404, f"no feature {text!r}")
        return int(text)

    @staticmethod
    def _content_srid(request: Request) -> tuple[int, bool]:
        header = request.headers.get("content-crs", CRS84).strip().strip("<>").strip()
        try:
            info = crs_info(header)
        except Exception as exc:  # pygeoapi's ProviderInvalidQueryError and parse errors
            raise HTTPProblem(400, f"Content-Crs {header!r} is not supported") from exc
        if info.srid not in SUPPORTED_CRS:
            raise HTTPProblem(
                400,
                f"Content-Crs {header!r} is not supported; use one of "
                f"EPSG {list(SUPPORTED_CRS)} or CRS84",
            )
        return info.srid, info.flip

    # -- database ----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _transaction(self, identity: Identity) -> Any:
        try:
            async with identity_transaction(
                self.pool(), identity, self.statement_timeout_ms, "the write path"
            ) as conn:
                yield conn
        except psycopg.errors.IntegrityError as exc:
            raise _integrity_problem(exc) from exc
        except (psycopg.errors.DataError, psycopg.errors.InternalError_) as exc:
            raise _data_problem(exc) from exc

    async def _lock(
        self,
        conn: psycopg.AsyncConnection[Any],
        layer: Layer,
        fid: int,
        expected: set[str] | None,
        identity: Identity,
    ) -> None:
        """Lock the feature; 404 when missing, 412 on a stale If-Match, 403 outside the
        user's oblasts."""
        query = sql.SQL("SELECT {}, {} FROM {} AS t WHERE t.id = %s FOR UPDATE").format(
            etag_sql(layer),
            self._area_sql(layer, sql.SQL("t.geom"), identity),
            sql.Identifier(*layer.qualified_table),
        )
        # rows without geometry: checked through their parent feature by the database (0011)
        params = self._area_params(identity, [fid]) if layer.has_geometry else [fid]
        row = await (await conn.execute(query, params)).fetchone()
        if row is None:
            if layer.id in REGISTER_LAYERS and (retired := await find_retired(conn, fid)):
                raise retired_problem(retired, layer.id, self.public_url)  # 410, not 404
            raise HTTPProblem(404, f"no feature {fid} in {layer.id}")
        if expected is not None and "*" not in expected and f'"{row[0]}"' not in expected:
            raise HTTPProblem(
                412,
                "the feature changed since you read it (If-Match does not "
                "match its ETag); read it again",
                headers={"ETag": f'"{row[0]}"'},
            )
        if not row[1]:
            raise HTTPProblem(403, f"feature {fid} lies outside the oblasts of {identity.name}")

    def _area_sql(self, layer: Layer, geom: sql.Composable, identity: Identity) -> sql.Composable:
        if not identity.oblasts or identity.role == "admin" or not layer.has_geometry:
            return sql.SQL("true")
        # oblasts named by id or by name in any of the three languages (any case)
        return sql.SQL(
            "coalesce(ST_CoveredBy(ST_Transform({}, 4326), (SELECT ST_Union(o.geom) "
            "FROM base.oblasts o WHERE EXISTS (SELECT FROM unnest(%s::text[]) n "
            "WHERE lower(n) IN (lower(o.name_en), lower(o.name_ru), "
            "lower(o.name_ky), o.id::text)))), false)"
        ).format(geom)

    @staticmethod
    def _area_params(identity: Identity, params: list[Any]) -> list[Any]:
        if not identity.oblasts or identity.role == "admin":
            return params
        return [sorted(identity.oblasts), *params]

    async def _geometry(
        self,
        conn: psycopg.AsyncConnection[Any],
        layer: Layer,
        feature: FeatureInput,
        srid: tuple[int, bool],
        identity: Identity,
    ) -> Any:
        """The geometry in the storage CRS as EWKB (None when not sent); 400 when invalid,
        403 outside the user's oblasts."""
        if feature.geometry is None:
            return None
        geom: sql.Composable = sql.SQL("ST_GeomFromGeoJSON(%s)")
        if srid[1]:
            geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
        geom = sql.SQL("ST_Transform(ST_SetSRID({}, %s::int), %s::int)").format(geom)
        if (layer.geometry_type or "").startswith("Multi"):
            geom = sql.SQL("ST_Multi({})").format(geom)
        query = sql.SQL(
            "SELECT g, ST_IsValid(g), ST_IsValidReason(g), {} FROM (SELECT {} AS g) AS x"
        ).format(self._area_sql(layer, sql.SQL("g"), identity), geom)
        params = self._area_params(identity, [feature.geometry, srid[0], layer.storage_srid])
        row = await (await conn.execute(query, params)).fetchone()
        assert row is not None
        if not row[1]:
            raise HTTPProblem(400, f"geometry is not valid: {row[2]}", field="geometry")
        if not row[3]:
            raise HTTPProblem(403, f"the geometry lies outside the oblasts of {identity.name}")
        return row[0]

    async def _insert(
        self, conn: psycopg.AsyncConnection[Any], layer: Layer, feature: FeatureInput, geom: Any
    ) -> tuple[int, str]:
        names = list(feature.properties) + (["geom"] if layer.has_geometry else [])
        values = list(feature.properties.values()) + ([geom] if layer.has_geometry else [])
        query = sql.SQL("INSERT INTO {} AS t ({}) VALUES ({}) RETURNING t.id, {}").format(
            sql.Identifier(*layer.qualified_table),
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
            etag_sql(layer),
        )
        row = await (await conn.execute(query, values)).fetchone()
        assert row is not None
        return int(row[0]), f'"{row[1]}"'

    async def _update(
        self,
        conn: psycopg.AsyncConnection[Any],
        layer: Layer,
        fid: int,
        feature: FeatureInput,
        geom: Any,
    ) -> str:
        values = dict(feature.properties)
        if geom is not None:
            values["geom"] = geom
        if not values:
            row = await (
                await conn.execute(
                    sql.SQL("SELECT {} FROM {} AS t WHERE t.id = %s").format(
                        etag_sql(layer), sql.Identifier(*layer.qualified_table)
                    ),
                    [fid],
                )
            ).fetchone()
            assert row is not None
            return f'"{row[0]}"'
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = %s").format(sql.Identifier(name)) for name in values
        )
        query = sql.SQL("UPDATE {} AS t SET {} WHERE t.id = %s RETURNING {}").format(
            sql.Identifier(*layer.qualified_table), assignments, etag_sql(layer)
        )
        row = await (await conn.execute(query, [*values.values(), fid])).fetchone()
        assert row is not None
        return f'"{row[0]}"'


class _AsgiEndpoint:
    """An ASGI callable Starlette mounts as is (a bound method would be called as a
    request -> response function)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _first_line(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary if exc.diag and exc.diag.message_primary else "rejected"
    return message.splitlines()[0][:200]


# PostGIS and PostgreSQL messages of a refused value, in the client's terms (never verbatim)
_DATA_MESSAGES = (
    ("z dimension", "geometry", "geometry: 3-D coordinates are not accepted; send [x, y]"),
    ("m dimension", "geometry", "geometry: measured (M) coordinates are not accepted"),
    ("transform", "geometry", "geometry: the coordinates cannot be transformed to the layer's CRS"),
    ("coordinate", "geometry", "geometry: a coordinate is out of range"),
    ("geometry", "geometry", "geometry: not a geometry this layer can store"),
    ("geojson", "geometry", "geometry: not a GeoJSON geometry PostGIS can read"),
    ("nul (0x00)", None, "a text value contains a NUL character"),
)


def _data_problem(exc: psycopg.Error) -> HTTPProblem:
    """A 400 for a value the database refused, naming the field when it is known."""
    message = _first_line(exc).lower()
    for needle, field, detail in _DATA_MESSAGES:
        if needle in message:
            extra = {"field": field} if field else {}
            return HTTPProblem(400, detail, **extra)
    log.info("write refused by the database: %s", message)
    return HTTPProblem(400, "a value could not be stored (out of range or malformed)")


def _integrity_problem(exc: psycopg.errors.IntegrityError) -> Exception:
    """409 for a duplicate, 400 otherwise; the geometry rules of migration 0010 name the
    field `geometry` and the rule broken; an acceptance before the road's survey (0021) is
    `WorkNotSurveyedError` (409 in the error table) with the database's message."""
    constraint = (exc.diag.constraint_name or "") if exc.diag else ""
    if constraint == WorkNotSurveyedError.CONSTRAINT:
        return WorkNotSurveyedError(_first_line(exc))
    if constraint == "geometry_in_bounds":
        problem = _first_line(exc).split(" ", 4)[-1]  # "geometry of feature N <problem>"
        return HTTPProblem(400, f"geometry {problem}", field="geometry")
    status = 409 if isinstance(exc, psycopg.errors.UniqueViolation) else 400
    return HTTPProblem(status, _integrity_message(exc))


def _refusal_message(exc: psycopg.errors.InsufficientPrivilege) -> str:
    """The database's refusal: the oblast guard's own message (it names the feature and the
    user, migration 0011), else a generic one (no SQL text)."""
    message = _first_line(exc)
    if "outside the oblasts of" in message:
        return message
    return "the database refused this write for your identity"


def _integrity_message(exc: psycopg.errors.IntegrityError) -> str:
    """What broke, in the declaration's terms (field names, not SQL)."""
    column = exc.diag.column_name if exc.diag else None
    constraint = (exc.diag.constraint_name or "") if exc.diag else ""
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return f"another feature has the same value ({constraint.rsplit('_key', 1)[0]})"
    if isinstance(exc, psycopg.errors.ForeignKeyViolation):
        return "a referenced feature does not exist"
    if column:
        return f"property {column!r}: a value is required"
    if "geom" in constraint:
        return "geometry is not valid"
    return "a value breaks a rule of the layer"
