"""PostGIS feature provider for pygeoapi: a thin adapter over the ``features`` engine.

Configured as ``geoportal.providers.features.PostGISFeatureProvider``; see
:class:`PostGISFeatureProvider` for the ``provider_def`` keys it reads. The engine
(``features/``) builds the SQL and pages; this module owns what pygeoapi needs: the provider
interface, its CRS objects, which connection pool it uses (the server's, registered by
:func:`serving_pool`), and the mapping of the engine's errors to
pygeoapi's provider errors (:func:`to_provider_error`).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout
from pygeoapi.crs import DEFAULT_STORAGE_CRS, CrsTransformSpec
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderGenericError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)

from features.counts import COUNT_LIMIT
from features.crs import CrsInfo, crs_info
from features.database import classify_error, is_transform_error
from features.errors import (
    DatabaseUnavailableError,
    FeaturesError,
    InvalidQueryError,
    ItemNotFoundError,
    QueryTimeoutError,
    TableNotFoundError,
)
from features.items import item_id, item_text
from features.pages import FeatureQuery, Page
from features.paging import query_page
from features.query import item_query
from features.statements import PagePlan, find_plan
from features.table import FeatureTable, TableInfo, feature_table, read_table_info
from geoportal.db import pools
from geoportal.db.pools import features_spec

LOGGER = logging.getLogger(__name__)

__all__ = ["COUNT_LIMIT", "Page", "PostGISFeatureProvider", "get_pool", "provider_error"]

_T = TypeVar("_T")
_TABLES: dict[tuple, TableInfo] = {}
_LOCK = threading.Lock()

_POOLS: dict[tuple, ConnectionPool] = {}
"""Pools built here for a provider used outside a server (tests, scripts), per process,
database and options."""
_SERVING: dict[str, list[ConnectionPool]] = {}
"""The pools servers opened in their lifespans, per conninfo, the latest last (tests run
several apps in one process; each app's pool serves until its lifespan ends)."""


@contextmanager
def serving_pool(conninfo: str, pool: ConnectionPool) -> Iterator[ConnectionPool]:
    """While the block runs, every provider of ``conninfo`` uses ``pool`` (the server's
    lifespan-opened blocking pool, `geoportal.db.pools`) whatever its pool options."""
    with _LOCK:
        _SERVING.setdefault(conninfo, []).append(pool)
    try:
        yield pool
    finally:
        with _LOCK:
            serving = _SERVING[conninfo]
            serving.remove(pool)
            if not serving:
                del _SERVING[conninfo]


def get_pool(
    conninfo: str, statement_timeout_ms: int = 30000, timeout: float = 10.0, max_size: int = 4
) -> ConnectionPool:
    """The server's pool for ``conninfo`` (:func:`serving_pool`); outside a server, this
    process' pool for the database and options, made from the features spec on first use."""
    serving = _SERVING.get(conninfo)
    if serving:
        return serving[-1]
    key = (os.getpid(), conninfo, statement_timeout_ms, max_size)
    pool = _POOLS.get(key)
    if pool is None:
        with _LOCK:
            pool = _POOLS.get(key)
            if pool is None:
                spec = features_spec(
                    statement_timeout_ms, timeout, max_size, name=f"features-{len(_POOLS)}"
                )
                pool = pools.sync_pool(spec, conninfo)
                _POOLS[key] = pool
    return pool


@atexit.register
def close_pools(conninfo: str | None = None) -> None:
    """Close this process' own pools (not a server's), or only those of `conninfo`."""
    with _LOCK:
        for key in [k for k in _POOLS if k[0] == os.getpid() and conninfo in (None, k[1])]:
            _POOLS.pop(key).close(timeout=5)


def invalid(message: str) -> ProviderInvalidQueryError:
    """A 400 error whose message is shown to the client."""
    return ProviderInvalidQueryError(user_msg=message)


def to_provider_error(err: FeaturesError) -> ProviderGenericError:
    """The pygeoapi provider error of an engine error (its status and message)."""
    if isinstance(err, InvalidQueryError):
        return invalid(str(err))
    if isinstance(err, ItemNotFoundError):
        return ProviderItemNotFoundError(user_msg=str(err))
    if isinstance(err, TableNotFoundError):
        return ProviderQueryError(str(err), user_msg=str(err))
    if isinstance(err, QueryTimeoutError):
        return ProviderQueryError(user_msg=str(err))
    if isinstance(err, DatabaseUnavailableError):
        return ProviderConnectionError(user_msg=str(err))
    return ProviderQueryError()  # logged where it happened; the user sees "check logs"


def provider_error(err: Exception, table: str) -> ProviderGenericError:
    """Map a psycopg(-pool) error to a pygeoapi provider error."""
    return to_provider_error(classify_error(err, table))


@contextmanager
def engine_errors(table: str) -> Iterator[None]:
    """Engine and database errors raised inside become pygeoapi provider errors."""
    try:
        yield
    except FeaturesError as err:
        raise to_provider_error(err) from None
    except (PoolTimeout, psycopg.Error) as err:
        raise provider_error(err, table) from None


def maps_engine_errors(table: str) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """Decorator form of :func:`engine_errors`."""

    def decorate(function: Callable[..., _T]) -> Callable[..., _T]:
        @wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> _T:
            with engine_errors(table):
                return function(*args, **kwargs)

        return wrapper

    return decorate


def target_crs(spec: CrsTransformSpec | None) -> CrsInfo | None:
    """The engine's view of pygeoapi's `crs` transform (None: the storage CRS)."""
    return crs_info(spec.target_crs_uri) if spec else None


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
        self.id_field = self.id_field or "id"
        options = self.options or {}
        #: statement timeout (ms), pool timeout (s), pool size of a pool of its own
        #: (outside a server: :func:`get_pool`)
        self.pool_settings: tuple[int, float, int] = (
            int(options.get("statement_timeout_ms", 30000)),
            float(options.get("pool_timeout", 10)),
            int(options.get("pool_max_size", 4)),
        )
        self._pool: ConnectionPool | None = None  # on first query (:attr:`pool`)
        geom_field = provider_def.get("geom_field", "geom")  # none: e.g. sensor readings
        with engine_errors(self.table):
            self.engine: FeatureTable = feature_table(
                self._table_info(geom_field),
                schema=self.schema,
                table=self.table,
                layer_id=data.get("layer_id") or self.table,
                id_field=self.id_field,
                geom_field=geom_field,
                storage=crs_info(provider_def.get("storage_crs") or DEFAULT_STORAGE_CRS),
                time_field=self.time_field,
                search_fields=data.get("search_fields") or [],
                properties=self.properties or [],
            )
        self.geom_field: str | None = self.engine.geom_field
        self._fields = self.get_fields()
        self._item_statements: dict[tuple[CrsInfo | None, bool, bool], tuple[str, dict]] = {}

    @property
    def pool(self) -> ConnectionPool:
        """The pool of this provider's queries, found on first use (:func:`get_pool`: in a
        server, the lifespan's), again after it closed (the server's lifespan ended)."""
        if self._pool is None or self._pool.closed:
            self._pool = get_pool(self.conninfo, *self.pool_settings)
        return self._pool

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A connection of the pool; engine and psycopg errors become provider errors (the
        only place the provider reaches its pool)."""
        with engine_errors(self.table), self.pool.connection() as conn:
            yield conn

    def _table_info(self, geom_field: str | None) -> TableInfo:
        """The table's columns, read once per process over a connection of its own: pygeoapi
        builds providers to write its OpenAPI document before the server's pools open."""
        key = (self.conninfo, self.schema, self.table, geom_field)
        if key not in _TABLES:
            with (
                engine_errors(self.table),
                psycopg.connect(self.conninfo, connect_timeout=10, autocommit=True) as conn,
            ):
                _TABLES[key] = read_table_info(conn, self.schema, self.table, geom_field)
        return _TABLES[key]

    def get_fields(self) -> dict[str, dict[str, str]]:
        """Exposed columns as pygeoapi fields (geometry excluded, id kept)."""
        return {name: dict(schema) for name, schema in self.engine.fields.items()}

    def feature_query(
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
    ) -> FeatureQuery:
        """The engine's query of pygeoapi's arguments (those of :meth:`query`)."""
        with engine_errors(self.table):
            return FeatureQuery(
                offset=offset,
                limit=limit,
                resulttype=resulttype,
                bbox=bbox or (),
                datetime=datetime_,
                properties=properties or (),
                sortby=sortby or (),
                select_properties=select_properties or (),
                skip_geometry=skip_geometry,
                q=q,
                filterq=filterq,
                target=target_crs(crs_transform_spec),
            )

    def query_page(self, **kwargs: Any) -> Page:
        """The page of a query as GeoJSON text, never parsed in Python.

        Same arguments as :meth:`query`; ``matched`` is exact or ``None``.
        """
        query = self.feature_query(**kwargs)
        with self._connection() as conn:
            return query_page(conn, self.engine, query, count=bool(self.count))

    def page_plan(self, **kwargs: Any) -> tuple[PagePlan, FeatureQuery] | None:
        """The remembered statement of a query's shape and the query (arguments of
        :meth:`query`), or None: what a caller with its own connection runs
        (`features.statements.planned_page_async`)."""
        query = self.feature_query(**kwargs)
        plan = find_plan(self.engine, query, bool(self.count))
        return None if plan is None else (plan, query)

    def query(
        self, offset: int = 0, limit: int = 10, resulttype: str = "results", **kwargs: Any
    ) -> dict[str, Any]:
        """Query features; returns a GeoJSON FeatureCollection dict.

        ``numberMatched`` is present only when exact: the catalog counter
        for unfiltered requests, otherwise a count bounded at 10000.
        """
        page = self.query_page(offset=offset, limit=limit, resulttype=resulttype, **kwargs)
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
        geometry: bool = True,
    ) -> tuple[str, dict[str, Any]]:
        """The by-id statement and its values (run it with :meth:`item_text`).

        Unknown-shaped ids (not an integer for an integer id) raise 404. The
        statement is composed once per target CRS: composing costs more than
        running it. ``tag``, an expression over the row ``p`` (every column is
        selected), becomes a fifth column of the result, so a caller gets, say,
        the feature's entity tag in the same statement; a provider serves one
        table, so one tag expression per provider is assumed. ``geometry=False``: the
        statement to run again when the feature's geometry cannot be transformed to the
        requested CRS (see :func:`features.database.is_transform_error`).
        """
        with engine_errors(self.table):
            value = item_id(self.engine, identifier)
            target = target_crs(spec)
        key = (target, tag is not None, geometry)
        if key not in self._item_statements:
            self._item_statements[key] = item_query(self.engine, target, tag, geometry=geometry)
        query, values = self._item_statements[key]
        return query, {**values, "p0": value}  # p0: the id, added first

    def item_text(self, identifier: Any, row: tuple | None) -> str:
        """The feature of a by-id statement's row as GeoJSON text (404 if none)."""
        with engine_errors(self.table):
            return item_text(identifier, row)

    @staticmethod
    def not_found(identifier: Any) -> ProviderItemNotFoundError:
        """The 404 of an unknown feature id."""
        return ProviderItemNotFoundError(user_msg=f"item {identifier} not found")

    def get_text(self, identifier: Any, crs_transform_spec: CrsTransformSpec | None = None) -> str:
        """One feature by id as GeoJSON text; unknown or malformed ids raise 404."""
        query, values = self.item_statement(identifier, crs_transform_spec)
        try:
            with self._connection() as conn:
                try:
                    row = conn.execute(query, values).fetchone()
                except psycopg.errors.InternalError_ as err:
                    if not is_transform_error(err):
                        raise
                    row = conn.execute(
                        *self.untransformable(identifier, crs_transform_spec)
                    ).fetchone()
        except ProviderInvalidQueryError:
            raise self.not_found(identifier) from None
        return self.item_text(identifier, row)

    def untransformable(
        self, identifier: Any, spec: CrsTransformSpec | None, tag: sql.Composable | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The by-id statement to run when the feature's geometry cannot be transformed to
        the requested CRS: the feature with geometry null (logged)."""
        LOGGER.warning(
            "%s.%s: geometry of id %s cannot be transformed to %s; served as null",
            self.schema,
            self.table,
            identifier,
            spec.target_crs_uri if spec else "the storage CRS",
        )
        return self.item_statement(identifier, spec, tag, geometry=False)

    def get(
        self, identifier: Any, crs_transform_spec: CrsTransformSpec | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """One feature by id; unknown or malformed ids raise 404."""
        return json.loads(self.get_text(identifier, crs_transform_spec))

    def __repr__(self) -> str:
        return f"<PostGISFeatureProvider> {self.schema}.{self.table}"
