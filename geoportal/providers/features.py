"""PostGIS feature provider for pygeoapi (psycopg 3, pooled, SQL-side JSON).

Configured as ``geoportal.providers.features.PostGISFeatureProvider``; see
:class:`PostGISFeatureProvider` for the ``provider_def`` keys it reads.
Each page of features is rendered to GeoJSON text by PostgreSQL in a single
statement, so Python only does one ``json.loads`` per request.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout
from pygeoapi.crs import DEFAULT_STORAGE_CRS, CrsTransformSpec
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)

from geoportal.providers.cql import (
    CrsInfo,
    Params,
    as_date,
    as_datetime,
    crs_info,
    envelope_sql,
    invalid,
    parse_datetime,
    to_sql,
)
from geoportal.providers.keyset import CACHE, MIN_OFFSET

LOGGER = logging.getLogger(__name__)

COUNT_LIMIT = 10000  # numberMatched is only reported when exact and <= this
COUNT_BUDGET_MS = 5  # ... and when counting took less than this (then it is omitted)
_SPATIAL_TYPES = {"geometry", "geography", "raster"}
_TEXT_TYPES = {"text", "varchar", "bpchar", "name", "citext"}
_USER_ERRORS = (
    errors.DataError,
    errors.UndefinedFunction,
    errors.DatatypeMismatch,
    errors.CannotCoerce,
    errors.AmbiguousFunction,
    errors.IndeterminateDatatype,
)

_COLUMNS_SQL = """
SELECT a.attname, bt.typname, bt.typcategory,
       CASE WHEN bt.typname IN ('geometry', 'geography')
            THEN postgis_typmod_srid(a.atttypmod) END
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type bt  -- domains: their base type
  ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attnum"""

_POOLS: dict[tuple, ConnectionPool] = {}
_TABLES: dict[tuple, TableInfo] = {}
_LOCK = threading.Lock()


_SESSION_SQL = (
    "SELECT set_config('statement_timeout', %s, false),"
    " set_config('TimeZone', 'UTC', false),"
    " set_config('default_transaction_read_only', 'on', false),"
    " set_config('application_name', 'geoportal-features', false)"
)


def _configure_connection(conn: psycopg.Connection, timeout_ms: int) -> None:
    """Session settings applied once to every pooled connection."""
    conn.execute(_SESSION_SQL, [str(timeout_ms)])


def async_pool(
    conninfo: str, statement_timeout_ms: int = 30000, timeout: float = 10.0, max_size: int = 4
) -> AsyncConnectionPool:
    """A new (unopened) asyncio pool with the session settings of :func:`get_pool`;
    the caller opens it in its event loop and closes it."""

    async def configure(conn: psycopg.AsyncConnection) -> None:
        await conn.execute(_SESSION_SQL, [str(statement_timeout_ms)])

    return AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        open=False,
        timeout=timeout,
        kwargs={"autocommit": True},
        configure=configure,
        name="features-async",
    )


def get_pool(
    conninfo: str, statement_timeout_ms: int = 30000, timeout: float = 10.0, max_size: int = 4
) -> ConnectionPool:
    """The process-wide pool for ``conninfo`` (created on first use)."""
    key = (os.getpid(), conninfo, statement_timeout_ms, max_size)
    pool = _POOLS.get(key)
    if pool is None:
        with _LOCK:
            pool = _POOLS.get(key)
            if pool is None:
                pool = ConnectionPool(
                    conninfo,
                    min_size=1,
                    max_size=max_size,
                    open=True,
                    timeout=timeout,
                    name=f"features-{len(_POOLS)}",
                    kwargs={"autocommit": True},
                    configure=lambda c: _configure_connection(c, statement_timeout_ms),
                )
                # No `check` on checkout: it costs a round trip per request. A connection
                # broken by a server restart fails its request once (503) and the pool
                # replaces it when it is returned in a bad state.
                _POOLS[key] = pool
    return pool


@atexit.register
def close_pools(conninfo: str | None = None) -> None:
    """Close this process' pools, or only those of `conninfo` (at exit: all)."""
    with _LOCK:
        for key in [k for k in _POOLS if k[0] == os.getpid() and conninfo in (None, k[1])]:
            _POOLS.pop(key).close(timeout=5)


@dataclass(frozen=True)
class TableInfo:
    """Introspected table: column -> (base type name, type category)."""

    columns: dict[str, tuple[str, str]]
    srid: int
    has_layer_stats: bool


@dataclass(frozen=True)
class Page:
    """A page of features as PostgreSQL rendered it."""

    text: str  # GeoJSON array of the features: '[{...},{...}]'
    returned: int
    last_id: Any  # the largest id on the page (the keyset boundary)
    matched: int | None  # exact count of all matches, or None when unknown


_TYPES = {
    "int2": "integer",
    "int4": "integer",
    "int8": "integer",
    "float4": "number",
    "float8": "number",
    "numeric": "number",
    "bool": "boolean",
    "json": "object",
    "jsonb": "object",
}
_FORMATS = {
    "date": "date",
    "timestamp": "date-time",
    "timestamptz": "date-time",
    "time": "time",
    "interval": "duration",
    "uuid": "uuid",
}


def _json_schema(typname: str, category: str) -> dict[str, str]:
    """JSON schema type (and format) of a PostgreSQL base type."""
    schema = {"type": _TYPES.get(typname, "array" if category == "A" else "string")}
    if typname in _FORMATS:
        schema["format"] = _FORMATS[typname]
    return schema


def provider_error(err: Exception, table: str) -> Exception:
    """Map a psycopg(-pool) error to a pygeoapi provider error."""
    message = getattr(getattr(err, "diag", None), "message_primary", "")
    if isinstance(err, errors.QueryCanceled):
        return ProviderQueryError(user_msg="query cancelled: statement timeout; narrow the request")
    if isinstance(err, _USER_ERRORS):
        return invalid(f"invalid query: {message}")
    if isinstance(err, errors.InternalError_) and (
        "GEOS" in (message or "") or "geometry" in (message or "")
    ):
        return invalid(f"invalid geometry: {message}")  # GEOS on bad input
    if isinstance(err, (PoolTimeout, psycopg.OperationalError)):
        LOGGER.error("database unavailable for %s: %s", table, err)
        return ProviderConnectionError(user_msg="database unavailable")
    LOGGER.error("query on %s failed: %s", table, err)
    return ProviderQueryError()


class PostGISFeatureProvider(BaseProvider):
    """OGC API Features provider on a PostGIS table or view.

    ``provider_def`` keys: ``data.conninfo`` (libpq conninfo/URL),
    ``data.schema`` (default ``public``), ``data.table``, ``data.layer_id``
    (``catalog.layer_stats`` key, default the table name),
    ``data.search_fields`` (``q``), ``id_field``, ``geom_field``,
    ``storage_crs``, ``time_field``, ``properties``, ``count`` and
    ``options.statement_timeout_ms`` / ``pool_timeout`` / ``pool_max_size``.
    """

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        data = self.data if isinstance(self.data, dict) else {}
        if not data.get("conninfo") or not data.get("table"):
            raise ProviderConnectionError(user_msg="provider data needs conninfo and table")
        self.conninfo: str = data["conninfo"]
        self.schema: str = data.get("schema") or "public"
        self.table: str = data["table"]
        self.layer_id: str = data.get("layer_id") or self.table
        self.id_field = self.id_field or "id"
        # A table without geometry (e.g. sensor readings) names no geom_field.
        self.geom_field: str | None = provider_def.get("geom_field", "geom")
        self.storage: CrsInfo = crs_info(provider_def.get("storage_crs") or DEFAULT_STORAGE_CRS)
        options = self.options or {}
        #: statement timeout (ms), pool timeout (s), pool size: of this pool, and of an
        #: asyncio pool for the same collection (:func:`async_pool`)
        self.pool_settings: tuple[int, float, int] = (
            int(options.get("statement_timeout_ms", 30000)),
            float(options.get("pool_timeout", 10)),
            int(options.get("pool_max_size", 4)),
        )
        self.pool = get_pool(self.conninfo, *self.pool_settings)
        self.table_info = self._table_info()
        if not any(typ in _SPATIAL_TYPES for typ, _ in self.table_info.columns.values()):
            self.geom_field = None  # a table without geometry: features have geometry null
        self._check_config()
        self.srid: int = self.table_info.srid or self.storage.srid
        self.search_fields = [
            f for f in data.get("search_fields") or [] if f in self.table_info.columns
        ]
        self._fields = self.get_fields()
        self._item_statements: dict[tuple[str | None, bool], tuple[str, dict]] = {}

    # -- metadata ----------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """Pooled connection; psycopg errors become provider errors."""
        if self.pool.closed:  # closed by close_pools(): this process' new pool
            self.pool = get_pool(self.conninfo, *self.pool_settings)
        try:
            with self.pool.connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.Error) as err:
            raise provider_error(err, self.table) from None

    def _table_info(self) -> TableInfo:
        key = (self.conninfo, self.schema, self.table, self.geom_field)
        if key in _TABLES:
            return _TABLES[key]
        with self._connection() as conn:
            rows = conn.execute(_COLUMNS_SQL, [self.schema, self.table]).fetchall()
            try:
                conn.execute("SELECT 1 FROM catalog.layer_stats LIMIT 0")
                has_stats = True
            except psycopg.Error:
                has_stats = False
        if not rows:
            msg = f"{self.schema}.{self.table}: table not found in database"
            raise ProviderQueryError(msg, user_msg=msg)
        srids = {name: srid for name, _, _, srid in rows}
        info = TableInfo(
            {name: (typ, cat) for name, typ, cat, _ in rows},
            srids.get(self.geom_field) or 0,
            has_stats,
        )
        _TABLES[key] = info
        return info

    def _check_config(self) -> None:
        for what in ("id_field", "geom_field", "time_field"):
            col = getattr(self, what)
            if col and col not in self.table_info.columns:
                msg = f"{self.schema}.{self.table}: {what} {col} not found in the database"
                raise ProviderQueryError(msg, user_msg=msg)

    def get_fields(self) -> dict[str, dict[str, str]]:
        """Exposed columns as pygeoapi fields (geometry excluded, id kept)."""
        return {
            name: _json_schema(typ, cat)
            for name, (typ, cat) in self.table_info.columns.items()
            if typ not in _SPATIAL_TYPES
            and (not self.properties or name in self.properties or name == self.id_field)
        }

    # -- SQL clauses -------------------------------------------------------
    def from_clause(self, where: sql.Composable | None) -> sql.Composable:
        """``FROM schema.table [WHERE ...]``."""
        return sql.SQL("FROM {}{}").format(
            sql.Identifier(self.schema, self.table),
            sql.SQL(" WHERE {}").format(where) if where else sql.SQL(""),
        )

    def geometry_clause(self, params: Params, spec: CrsTransformSpec | None) -> sql.Composable:
        """GeoJSON text of ``p.geom`` in the requested CRS, or ``null``."""
        if self.geom_field is None:
            return sql.SQL("'null'")
        target = crs_info(spec.target_crs_uri) if spec else self.storage
        geom: sql.Composable = sql.SQL("p.{}").format(sql.Identifier(self.geom_field))
        if target.srid != self.srid:
            geom = sql.SQL("ST_Transform({}, {})").format(geom, params.add(target.srid))
        if target.flip:
            geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
        return sql.SQL("COALESCE(ST_AsGeoJSON({}, {}, 0), 'null')").format(
            geom, params.add(target.digits)
        )

    def properties_clause(self, names: list[str]) -> sql.Composable:
        """JSON object of the selected properties, in column order."""
        cols = [sql.SQL("p.{}").format(sql.Identifier(n)) for n in names]
        if len(names) <= 50:  # json_build_object takes <= 100 arguments
            return sql.SQL("json_build_object({})").format(
                sql.SQL(", ").join(
                    sql.SQL("{}, {}").format(sql.Literal(n), c)
                    for n, c in zip(names, cols, strict=True)
                )
            )
        return sql.SQL("(SELECT row_to_json(r) FROM (SELECT {}) AS r)").format(
            sql.SQL(", ").join(cols)
        )

    def feature_clause(
        self, params: Params, names: list[str], skip_geometry: bool, spec: CrsTransformSpec | None
    ) -> sql.Composable:
        geom = sql.SQL("'null'") if skip_geometry else self.geometry_clause(params, spec)
        return sql.SQL(
            """'{{"type":"Feature","id":' || COALESCE(to_json(p.{})::text,"""
            """ 'null') || ',"geometry":' || {} || ',"properties":' || {}"""
            """::text || '}}'"""
        ).format(sql.Identifier(self.id_field), geom, self.properties_clause(names))

    def order_by_clause(self, sortby: list[dict], alias: str | None = None) -> sql.Composable:
        """Requested sort keys plus the id as tie-breaker (stable paging)."""
        keys: dict[str, str] = {}
        for item in sortby or []:
            name = item["property"]
            if name not in self.fields:
                raise invalid(f"cannot sort by unknown property {name!r}")
            keys.setdefault(name, "DESC" if item.get("order") == "-" else "ASC")
        keys.setdefault(self.id_field, "ASC")
        return sql.SQL(", ").join(
            sql.SQL("{} {}").format(
                sql.Identifier(*([alias] if alias else []), name), sql.SQL(direction)
            )
            for name, direction in keys.items()
        )

    def datetime_clause(self, params: Params, datetime_: str) -> sql.Composable | None:
        """OGC ``datetime`` (instant or interval) on ``time_field``."""
        start, end = parse_datetime(datetime_)
        typ = self.table_info.columns[self.time_field][0]
        is_date = typ == "date"
        col: sql.Composable = sql.Identifier(self.time_field)
        if typ not in ("date", "timestamp", "timestamptz"):
            col = sql.SQL("CAST({} AS timestamptz)").format(col)
        conds = []
        if start is not None:
            low = as_date(start) if is_date else as_datetime(start)
            conds.append(sql.SQL("{} >= {}").format(col, params.add(low)))
        if end is not None:
            high = as_date(end) if is_date else as_datetime(end, end=True)
            open_ = not is_date and high != end
            conds.append(
                sql.SQL("{} {} {}").format(col, sql.SQL("<" if open_ else "<="), params.add(high))
            )
        return sql.SQL(" AND ").join(conds) if conds else None

    def where_clause(
        self,
        params: Params,
        bbox: list | None = None,
        datetime_: str | None = None,
        properties: list | None = None,
        q: str | None = None,
        filterq: Any = None,
    ) -> sql.Composable | None:
        """AND of all filters, or ``None`` when the request is unfiltered."""
        conds: list[sql.Composable] = []
        if bbox and self.geom_field is None:
            raise invalid("this collection has no geometry: bbox does not apply")
        if bbox:
            if len(bbox) not in (4, 6):
                raise invalid("bbox needs 4 or 6 numbers")
            box = bbox if len(bbox) == 4 else [bbox[i] for i in (0, 1, 3, 4)]
            env = envelope_sql(params, tuple(box), self.storage, self.srid)
            geom = sql.Identifier(self.geom_field)
            conds.append(sql.SQL("{0} && {1} AND ST_Intersects({0}, {1})").format(geom, env))
        for name, value in properties or []:
            if name not in self.fields:
                raise invalid(f"unknown property {name!r}")
            conds.append(sql.SQL("{} = {}").format(sql.Identifier(name), params.add(str(value))))
        if datetime_:
            parse_datetime(datetime_)  # a malformed value is a 400 on any layer
        if datetime_ and self.time_field:
            cond = self.datetime_clause(params, datetime_)
            conds.extend([cond] if cond is not None else [])
        for term in (q or "").split() if self.search_fields else []:
            escaped = term.replace("\\", "\\\\").replace("%", "\\%")
            pattern = params.add("%" + escaped.replace("_", "\\_") + "%")
            conds.append(
                sql.SQL("({})").format(
                    sql.SQL(" OR ").join(
                        sql.SQL("{} ILIKE {}").format(self._text(f), pattern)
                        for f in self.search_fields
                    )
                )
            )
        if filterq is not None:
            conds.append(to_sql(filterq, self.fields, self.geom_field or "", self.srid, params))
        return sql.SQL(" AND ").join(conds) if conds else None

    def _text(self, name: str) -> sql.Composable:
        if self.table_info.columns[name][0] in _TEXT_TYPES:
            return sql.Identifier(name)
        return sql.SQL("CAST({} AS text)").format(sql.Identifier(name))

    def select_clause(
        self,
        params: Params,
        names: list[str],
        sortby: list,
        skip_geometry: bool,
        spec: CrsTransformSpec | None,
        with_stats: bool,
        tag: sql.Composable | None = None,
    ) -> sql.Composable:
        """The page of rows ``p``: GeoJSON array text, row count, largest id, counter
        (and ``min(tag)``, when given: the tag of a one-row page)."""
        stats = (
            sql.SQL("(SELECT feature_count FROM catalog.layer_stats WHERE layer_id = {})").format(
                params.add(self.layer_id)
            )
            if with_stats
            else sql.SQL("NULL::bigint")
        )
        return sql.SQL(
            "SELECT '[' || COALESCE(string_agg({}, ',' ORDER BY {}), '') "
            "|| ']', count(*), max(p.{}), {}{}"
        ).format(
            self.feature_clause(params, names, skip_geometry, spec),
            self.order_by_clause(sortby, "p"),
            sql.Identifier(self.id_field),
            stats,
            sql.SQL(", min({})").format(tag) if tag is not None else sql.SQL(""),
        )

    # -- execution ---------------------------------------------------------
    def page_query(
        self,
        params: Params,
        where: sql.Composable | None,
        sortby: list,
        limit: int,
        offset: int,
        names: list[str],
        skip_geometry: bool,
        spec: CrsTransformSpec | None,
        with_stats: bool,
        tag: sql.Composable | None = None,
    ) -> sql.Composed:
        """The statement of one page: GeoJSON text, row count, last id, counter
        (and the tag, see :meth:`select_clause`)."""
        columns = [self.id_field, *names, *(s["property"] for s in sortby)]
        if not skip_geometry and self.geom_field is not None:
            columns.append(self.geom_field)
        return sql.SQL("{} FROM (SELECT {} {} ORDER BY {} LIMIT {} OFFSET {}) AS p").format(
            self.select_clause(params, names, sortby, skip_geometry, spec, with_stats, tag),
            sql.SQL(", ").join(map(sql.Identifier, dict.fromkeys(columns))),
            self.from_clause(where),
            self.order_by_clause(sortby),
            params.add(int(limit)),
            params.add(int(offset)),
        )

    def _page(
        self,
        conn: psycopg.Connection,
        params: Params,
        where: sql.Composable | None,
        sortby: list,
        limit: int,
        offset: int,
        names: list[str],
        skip_geometry: bool,
        spec: CrsTransformSpec | None,
        with_stats: bool,
    ) -> Page:
        """One statement: the page as GeoJSON text (+ the exact counter)."""
        query = self.page_query(
            params, where, sortby, limit, offset, names, skip_geometry, spec, with_stats
        )
        text, returned, last_id, counter = conn.execute(query, params.values).fetchone()
        return Page(text, returned, last_id, counter)

    def _count(
        self, conn: psycopg.Connection, params: Params, where: sql.Composable | None
    ) -> int | None:
        """Exact count, or ``None`` when above :data:`COUNT_LIMIT`."""
        if where is None and self.table_info.has_layer_stats:
            row = conn.execute(
                "SELECT feature_count FROM catalog.layer_stats WHERE layer_id = %s", [self.layer_id]
            ).fetchone()
            if row is not None:
                return int(row[0])
        query = sql.SQL("SELECT count(*) FROM (SELECT 1 {} LIMIT {}) AS s").format(
            self.from_clause(where), params.add(COUNT_LIMIT + 1)
        )
        # A selective filter without an index scans the whole table to count few rows: the
        # count also gets a time budget, and numberMatched is omitted when it runs out.
        try:
            with conn.transaction():
                conn.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [str(COUNT_BUDGET_MS)]
                )
                count = conn.execute(query, params.values).fetchone()[0]
        except errors.QueryCanceled:
            return None
        return count if count <= COUNT_LIMIT else None

    def _is_id_order(self, sortby: list | None) -> bool:
        """True when rows are ordered by the integer id alone (keyset paging applies)."""
        if self.fields.get(self.id_field, {}).get("type") != "integer":
            return False
        return not sortby or sortby == [{"property": self.id_field, "order": "+"}]

    def _version(self, conn: psycopg.Connection) -> int | None:
        """The layer's data version (bumped by every load and edit), None if unknown."""
        if not self.table_info.has_layer_stats:
            return None
        row = conn.execute(
            "SELECT version FROM catalog.layer_stats WHERE layer_id = %s", [self.layer_id]
        ).fetchone()
        return int(row[0]) if row else None

    def _keyset_start(
        self, conn: psycopg.Connection, params: Params, where: sql.Composable | None, offset: int
    ) -> tuple[Any, int | None] | None:
        """(cache key, last id before `offset`) for keyset paging, or None to use
        plain OFFSET. Walks only the id index from the nearest known boundary."""
        version = self._version(conn)
        if version is None:
            return None
        where_text = where.as_string(conn) if where is not None else ""
        key = (
            self.schema,
            self.table,
            version,
            where_text,
            tuple(sorted((k, repr(v)) for k, v in params.values.items())),
        )
        known = CACHE.nearest(key, offset)
        if known is not None and known[0] == offset:
            return key, known[1]
        walk = Params()
        walk.values.update(params.values)
        conds = [where] if where is not None else []
        if known is not None:
            conds.append(
                sql.SQL("{} > {}").format(sql.Identifier(self.id_field), walk.add(known[1]))
            )
        skip = offset - (known[0] if known else 0) - 1
        query = sql.SQL("SELECT {0} {1} ORDER BY {0} OFFSET {2} LIMIT 1").format(
            sql.Identifier(self.id_field),
            self.from_clause(sql.SQL(" AND ").join(conds) if conds else None),
            walk.add(skip),
        )
        row = conn.execute(query, walk.values).fetchone()
        if row is None:
            return key, None  # fewer rows than the offset: the page is empty
        CACHE.remember(key, offset, int(row[0]))
        return key, int(row[0])

    def _keyset_page(
        self,
        conn: psycopg.Connection,
        params: Params,
        where: sql.Composable | None,
        limit: int,
        offset: int,
        names: list[str],
        skip_geometry: bool,
        spec: CrsTransformSpec | None,
        with_stats: bool,
    ) -> Page | None:
        """A deep page by key instead of OFFSET; None when keyset does not apply."""
        start = self._keyset_start(conn, params, where, offset)
        if start is None:
            return None
        key, after = start
        if after is None:
            return Page("[]", 0, None, None)
        conds = [where] if where is not None else []
        conds.append(sql.SQL("{} > {}").format(sql.Identifier(self.id_field), params.add(after)))
        page = self._page(
            conn,
            params,
            sql.SQL(" AND ").join(conds),
            [],
            limit,
            0,
            names,
            skip_geometry,
            spec,
            with_stats,
        )
        if page.returned and page.returned == limit:
            CACHE.remember(key, offset + limit, int(page.last_id))
        return page

    def query_page(
        self,
        offset: int = 0,
        limit: int = 10,
        resulttype: str = "results",
        bbox: list | None = None,
        datetime_: str | None = None,
        properties: list | None = None,
        sortby: list | None = None,
        select_properties: list | None = None,
        skip_geometry: bool = False,
        q: str | None = None,
        filterq: Any = None,
        crs_transform_spec: CrsTransformSpec | None = None,
        **kwargs: Any,
    ) -> Page:
        """The page of a query as GeoJSON text, never parsed in Python.

        Same arguments as :meth:`query`; ``matched`` is exact or ``None``.
        """
        params = Params()
        where = self.where_clause(params, bbox, datetime_, properties, q, filterq)
        names = [
            n for n in (select_properties or self.fields) if n in self.fields and n != self.id_field
        ]
        with self._connection() as conn:
            if resulttype == "hits":
                return Page("[]", 0, None, self._count(conn, params, where))
            stats = where is None and self.count and self.table_info.has_layer_stats
            page = None
            if offset >= MIN_OFFSET and self._is_id_order(sortby):
                page = self._keyset_page(
                    conn,
                    params,
                    where,
                    limit,
                    offset,
                    names,
                    skip_geometry,
                    crs_transform_spec,
                    stats,
                )
            if page is None:
                page = self._page(
                    conn,
                    params,
                    where,
                    sortby or [],
                    limit,
                    offset,
                    names,
                    skip_geometry,
                    crs_transform_spec,
                    stats,
                )
            matched = page.matched
            if matched is None and self.count:
                if 0 < limit and page.returned < limit and (page.returned or offset == 0):
                    matched = offset + page.returned
                else:
                    matched = self._count(conn, params, where)
        return Page(page.text, page.returned, page.last_id, matched if self.count else None)

    def query(
        self, offset: int = 0, limit: int = 10, resulttype: str = "results", **kwargs: Any
    ) -> dict[str, Any]:
        """Query features; returns a GeoJSON FeatureCollection dict.

        ``numberMatched`` is present only when exact: the catalog counter
        for unfiltered requests, otherwise a count bounded at 10000.
        """
        page = self.query_page(offset, limit, resulttype, **kwargs)
        result: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": json.loads(page.text),
            "numberReturned": page.returned,
        }
        if page.matched is not None:
            result["numberMatched"] = int(page.matched)
        return result

    def item_statement(
        self,
        identifier: Any,
        spec: CrsTransformSpec | None = None,
        tag: sql.Composable | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """The by-id statement and its values (run it with :meth:`item_text`).

        Unknown-shaped ids (not an integer for an integer id) raise 404. The
        statement is composed once per target CRS: composing costs more than
        running it. ``tag``, an expression over the row ``p`` (every column is
        selected), becomes a fifth column of the result, so a caller gets, say,
        the feature's entity tag in the same statement; a provider serves one
        table, so one tag expression per provider is assumed.
        """
        value: Any = str(identifier)
        if self.fields[self.id_field]["type"] == "integer":
            if not re.fullmatch(r"-?[0-9]{1,18}", value):  # fits a bigint
                raise self.not_found(identifier)
            value = int(value)
        key = (spec.target_crs_uri if spec else None, tag is not None)
        if key not in self._item_statements:
            params = Params()
            where = sql.SQL("{} = {}").format(sql.Identifier(self.id_field), params.add(None))
            names = [n for n in self.fields if n != self.id_field]
            query = self.page_query(params, where, [], 1, 0, names, False, spec, False, tag)
            self._item_statements[key] = (query.as_string(None), dict(params.values))
        query, values = self._item_statements[key]
        return query, {**values, "p0": value}  # p0: the id, added first

    def item_text(self, identifier: Any, row: tuple | None) -> str:
        """The feature of a by-id statement's row as GeoJSON text (404 if none)."""
        if row is None or not row[1]:
            raise self.not_found(identifier)
        return row[0][1:-1]  # the one feature of the '[...]' array

    @staticmethod
    def not_found(identifier: Any) -> ProviderItemNotFoundError:
        """The 404 of an unknown feature id."""
        return ProviderItemNotFoundError(user_msg=f"item {identifier} not found")

    def get_text(self, identifier: Any, crs_transform_spec: CrsTransformSpec | None = None) -> str:
        """One feature by id as GeoJSON text; unknown or malformed ids raise 404."""
        query, values = self.item_statement(identifier, crs_transform_spec)
        try:
            with self._connection() as conn:
                row = conn.execute(query, values).fetchone()
        except ProviderInvalidQueryError:
            raise self.not_found(identifier) from None
        return self.item_text(identifier, row)

    def get(
        self, identifier: Any, crs_transform_spec: CrsTransformSpec | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """One feature by id; unknown or malformed ids raise 404."""
        return json.loads(self.get_text(identifier, crs_transform_spec))

    def __repr__(self) -> str:
        return f"<PostGISFeatureProvider> {self.schema}.{self.table}"
