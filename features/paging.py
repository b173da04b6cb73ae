"""Pages of features: one statement per page, keyset paging for deep offsets, and exact
counts that are cheap or absent (docs/architecture.md, "numberMatched").

Every function takes the connection first; the caller owns the connection and its
transaction (an autocommit pooled connection in the server).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, sql

from features.counts import CACHE as COUNTS
from features.counts import COUNT_LIMIT, count_key, data_version, matched_count
from features.crs import CrsInfo
from features.database import is_transform_error
from features.errors import ItemNotFoundError
from features.keyset import CACHE, MIN_OFFSET
from features.params import Params
from features.query import (
    SortKey,
    from_clause,
    page_ids_query,
    page_query,
    row_geometry_query,
    where_clause,
)
from features.statements import PLANS, PagePlan, shape_key
from features.table import FeatureTable, has_integer_id

LOGGER = logging.getLogger(__name__)

__all__ = ["COUNT_LIMIT", "FeatureQuery", "Page", "item_id", "item_text", "query_page"]

_BIGINT = re.compile(r"-?[0-9]{1,18}")


@dataclass(frozen=True)
class Page:
    """A page of features as PostgreSQL rendered it."""

    text: str  # GeoJSON array of the features: '[{...},{...}]'
    returned: int
    last_id: Any  # the largest id on the page (the keyset boundary)
    matched: int | None  # exact count of all matches, or None when unknown
    version: int | None = None  # the layer's data version, read with a filtered page


@dataclass(frozen=True, kw_only=True)
class FeatureQuery:
    """An items request, its parameters as OGC API Features names them (bbox in the
    storage CRS, ``target`` the CRS of the answer, None for the storage CRS)."""

    offset: int = 0
    limit: int = 10
    resulttype: str = "results"
    bbox: Sequence[float] = ()
    datetime: str | None = None
    properties: Sequence[tuple[str, Any]] = ()
    sortby: Sequence[SortKey] = ()
    select_properties: Sequence[str] = ()
    skip_geometry: bool = False
    q: str | None = None
    filterq: Any = None
    target: CrsInfo | None = None


@dataclass(frozen=True)
class PageShape:
    """What a page statement renders besides its rows: columns, geometry, and the layer's
    counter (``with_stats``: unfiltered pages) or data version (``version``: filtered pages,
    the key of their cached count, so that a page needs one round trip)."""

    names: Sequence[str]
    skip_geometry: bool
    target: CrsInfo | None
    with_stats: bool
    version: bool = False


def selected_names(table: FeatureTable, select: Sequence[str]) -> list[str]:
    """The properties a page renders (the id is the feature's id, not a property)."""
    return [n for n in (select or table.fields) if n in table.fields and n != table.id_field]


def shaped_query(
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    sortby: Sequence[SortKey],
    limit: int,
    offset: int,
    shape: PageShape,
    untransformable: Sequence[Any] = (),
) -> sql.Composed:
    """The page statement of a request shape (`page_query` with the shape's options)."""
    return page_query(
        table,
        params,
        where,
        sortby,
        limit,
        offset,
        names=shape.names,
        skip_geometry=shape.skip_geometry,
        target=shape.target,
        with_stats=shape.with_stats,
        version=shape.version,
        untransformable=untransformable,
    )


def fetch_page(
    conn: psycopg.Connection,
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    sortby: Sequence[SortKey],
    limit: int,
    offset: int,
    shape: PageShape,
) -> Page:
    """One statement: the page as GeoJSON text (+ the exact counter).

    A row whose geometry the target CRS cannot express (a latitude of 91 forced into a
    table) does not fail the page: the page is rendered again with that row's geometry
    null, and the row is logged.
    """
    base = params.copy()

    def run(bound: Params, untransformable: Sequence[Any] = ()) -> Any:
        query = shaped_query(table, bound, where, sortby, limit, offset, shape, untransformable)
        return conn.execute(query, bound.values).fetchone()

    try:
        row = run(params)
    except errors.InternalError_ as err:
        if not is_transform_error(err) or shape.skip_geometry:
            raise
        bad = untransformable_ids(conn, table, base, where, sortby, limit, offset, shape.target)
        row = run(base, bad)
    text, returned, last_id, counter = row
    if shape.version:
        return Page(text, returned, last_id, None, counter)
    return Page(text, returned, last_id, counter)


def untransformable_ids(
    conn: psycopg.Connection,
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    sortby: Sequence[SortKey],
    limit: int,
    offset: int,
    target: CrsInfo | None,
) -> list[Any]:
    """The ids of the page's rows whose geometry cannot be transformed to ``target``
    (each tried alone; only run after the page failed), logged."""
    ids_params = params.copy()
    query = page_ids_query(table, ids_params, where, sortby, limit, offset)
    ids = [row[0] for row in conn.execute(query, ids_params.values).fetchall()]
    bad = []
    for identifier in ids:
        one = Params()
        try:
            with conn.transaction():
                conn.execute(row_geometry_query(table, one, identifier, target), one.values)
        except errors.InternalError_ as err:
            if not is_transform_error(err):
                raise
            bad.append(identifier)
    LOGGER.warning(
        "%s.%s: geometry of ids %s cannot be transformed to EPSG:%s; served as null",
        table.schema,
        table.table,
        bad,
        (target or table.storage).srid,
    )
    return bad


def is_id_order(table: FeatureTable, sortby: Sequence[SortKey]) -> bool:
    """True when rows are ordered by the integer id alone (keyset paging applies)."""
    if not has_integer_id(table):
        return False
    return not sortby or list(sortby) == [{"property": table.id_field, "order": "+"}]


def keyset_start(
    conn: psycopg.Connection,
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    offset: int,
) -> tuple[Hashable, int | None] | None:
    """(cache key, last id before `offset`) for keyset paging, or None to use
    plain OFFSET. Walks only the id index from the nearest known boundary."""
    version = data_version(conn, table)
    if version is None:
        return None
    where_text = where.as_string(conn) if where is not None else ""
    key = (
        table.schema,
        table.table,
        version,
        where_text,
        tuple(sorted((k, repr(v)) for k, v in params.values.items())),
    )
    known = CACHE.nearest(key, offset)
    if known is not None and known[0] == offset:
        return key, known[1]
    walk = params.copy()
    conds = [where] if where is not None else []
    if known is not None:
        conds.append(sql.SQL("{} > {}").format(sql.Identifier(table.id_field), walk.add(known[1])))
    skip = offset - (known[0] if known else 0) - 1
    query = sql.SQL("SELECT {0} {1} ORDER BY {0} OFFSET {2} LIMIT 1").format(
        sql.Identifier(table.id_field),
        from_clause(table, sql.SQL(" AND ").join(conds) if conds else None),
        walk.add(skip),
    )
    row = conn.execute(query, walk.values).fetchone()
    if row is None:
        return key, None  # fewer rows than the offset: the page is empty
    CACHE.remember(key, offset, int(row[0]))
    return key, int(row[0])


def keyset_page(
    conn: psycopg.Connection,
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    limit: int,
    offset: int,
    shape: PageShape,
) -> Page | None:
    """A deep page by key instead of OFFSET; None when keyset does not apply."""
    start = keyset_start(conn, table, params, where, offset)
    if start is None:
        return None
    key, after = start
    if after is None:
        return Page("[]", 0, None, None)
    conds = [where] if where is not None else []
    conds.append(sql.SQL("{} > {}").format(sql.Identifier(table.id_field), params.add(after)))
    page = fetch_page(conn, table, params, sql.SQL(" AND ").join(conds), [], limit, 0, shape)
    if page.returned and page.returned == limit:
        CACHE.remember(key, offset + limit, int(page.last_id))
    return page


def compose_where(table: FeatureTable, query: FeatureQuery) -> tuple[Params, sql.Composable | None]:
    """The filters of a query and their bound values.

    Raises:
        InvalidQueryError: a malformed or unknown parameter.
    """
    params = Params()
    where = where_clause(
        table,
        params,
        bbox=query.bbox,
        datetime_=query.datetime,
        properties=query.properties,
        q=query.q,
        filterq=query.filterq,
    )
    return params, where


def query_page(
    conn: psycopg.Connection, table: FeatureTable, query: FeatureQuery, *, count: bool = True
) -> Page:
    """The page of a query as GeoJSON text, never parsed in Python.

    ``matched`` is exact or ``None``: the layer's counter for an unfiltered request, the
    page itself when it is the last one, otherwise a bounded count made once per data
    version and filter (:func:`matched_count`; ``count=False``: None). A statement is
    composed once per request shape (``features.statements``) and run again for the next
    pages with their offset.

    Raises:
        InvalidQueryError: a malformed or unknown parameter (before any statement runs).
    """
    key = plan_key(table, query, count)
    plan = PLANS.get(key, table, query.filterq) if key is not None else None
    page = planned_page(conn, plan, query.offset) if plan is not None else None
    if plan is not None and page is not None:
        return Page(
            page.text,
            page.returned,
            page.last_id,
            planned_count(conn, table, query, plan, page, count),
        )
    params, where = compose_where(table, query)
    where_values = dict(params.values)
    if query.resulttype == "hits":
        return Page("[]", 0, None, matched_count(conn, table, params, where, where_values))
    stats = count and table.info.has_layer_stats
    shape = PageShape(
        selected_names(table, query.select_properties),
        query.skip_geometry,
        query.target,
        with_stats=bool(stats and where is None),
        version=bool(stats and where is not None),
    )
    limit, offset, sortby = query.limit, query.offset, list(query.sortby)
    page = None
    if key is not None:
        plan = page_plan(conn, table, params, where, sortby, limit, offset, shape, query)
        page = planned_page(conn, plan, offset)
        if page is not None:
            PLANS.remember(key, plan)
    elif offset >= MIN_OFFSET and is_id_order(table, sortby):
        page = keyset_page(conn, table, params, where, limit, offset, shape)
    if page is None:
        page = fetch_page(conn, table, params, where, sortby, limit, offset, shape)
    matched = page.matched
    if matched is None and count:
        if is_last_page(page, limit, offset):
            matched = offset + page.returned
        else:
            matched = matched_count(conn, table, params, where, where_values, page.version)
    return Page(page.text, page.returned, page.last_id, matched if count else None)


def plan_key(table: FeatureTable, query: FeatureQuery, count: bool) -> Hashable | None:
    """The key of the query's remembered statement; None for a query that is not run from
    one (hits, deep pages served by key, a value that cannot be a key)."""
    if query.resulttype == "hits" or (
        query.offset >= MIN_OFFSET and is_id_order(table, query.sortby)
    ):
        return None
    return shape_key(table, query, count)


def find_plan(table: FeatureTable, query: FeatureQuery, count: bool) -> PagePlan | None:
    """The remembered statement of the query's shape, if any (see :func:`query_page`)."""
    key = plan_key(table, query, count)
    return PLANS.get(key, table, query.filterq) if key is not None else None


def is_last_page(page: Page, limit: int, offset: int) -> bool:
    """True when the page itself tells how many rows match (fewer rows than asked)."""
    return 0 < limit and page.returned < limit and bool(page.returned or offset == 0)


def page_plan(
    conn: psycopg.Connection,
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    sortby: Sequence[SortKey],
    limit: int,
    offset: int,
    shape: PageShape,
    query: FeatureQuery,
) -> PagePlan:
    """The page statement rendered once, to be run again for the shape's next pages."""
    bound = params.copy()
    statement = shaped_query(table, bound, where, sortby, limit, offset, shape)
    return PagePlan(
        statement=statement.as_bytes(conn),
        values=dict(bound.values),
        offset_name=f"p{len(bound.values) - 1}",  # page_query binds the offset last
        where_text=where.as_string(conn) if where is not None else None,
        where_values=dict(params.values),
        version=shape.version,
        table=table,
        filterq=query.filterq,
    )


def planned_page(conn: psycopg.Connection, plan: PagePlan, offset: int) -> Page | None:
    """The page of a remembered statement at ``offset``; None when a row's geometry cannot
    be transformed (the caller composes the page again, see :func:`fetch_page`)."""
    try:
        row = conn.execute(plan.statement, plan.bound(offset)).fetchone()
    except errors.InternalError_ as err:
        if not is_transform_error(err):
            raise
        return None
    text, returned, last_id, counter = row
    if plan.version:
        return Page(text, returned, last_id, None, counter)
    return Page(text, returned, last_id, counter)


async def planned_page_async(
    conn: psycopg.AsyncConnection, plan: PagePlan, offset: int
) -> Page | None:
    """:func:`planned_page` on an asyncio connection (a server's event loop)."""
    try:
        row = await (await conn.execute(plan.statement, plan.bound(offset))).fetchone()
    except errors.InternalError_ as err:
        if not is_transform_error(err):
            raise
        return None
    text, returned, last_id, counter = row
    if plan.version:
        return Page(text, returned, last_id, None, counter)
    return Page(text, returned, last_id, counter)


def known_matched(
    table: FeatureTable, query: FeatureQuery, plan: PagePlan, page: Page, count: bool
) -> tuple[bool, int | None]:
    """(known, matched) of a page of a remembered statement without a statement: the
    counter, the page itself, or the cached count; known False when it must be counted."""
    if not count or page.matched is not None:
        return True, page.matched if count else None
    if is_last_page(page, query.limit, query.offset):
        return True, query.offset + page.returned
    if plan.where_text is not None and page.version is not None:
        return COUNTS.get(count_key(table, page.version, plan.where_text, plan.where_values))
    return False, None


def planned_count(
    conn: psycopg.Connection,
    table: FeatureTable,
    query: FeatureQuery,
    plan: PagePlan,
    page: Page,
    count: bool,
) -> int | None:
    """``matched`` of a page of a remembered statement (as :func:`query_page`)."""
    known, matched = known_matched(table, query, plan, page, count)
    if known:
        return matched
    params, where = compose_where(table, query)  # count once for this version
    return matched_count(
        conn, table, params, where, dict(params.values), page.version, plan.where_text
    )


def item_id(table: FeatureTable, identifier: Any) -> Any:
    """The id value to bind for a requested id.

    Raises:
        ItemNotFoundError: an id that cannot exist (not a bigint for an integer id).
    """
    value: Any = str(identifier)
    if has_integer_id(table):
        if not _BIGINT.fullmatch(value):  # fits a bigint
            raise ItemNotFoundError(f"item {identifier} not found")
        value = int(value)
    return value


def item_text(identifier: Any, row: tuple | None) -> str:
    """The feature of a by-id statement's row as GeoJSON text.

    Raises:
        ItemNotFoundError: no such row.
    """
    if row is None or not row[1]:
        raise ItemNotFoundError(f"item {identifier} not found")
    return str(row[0][1:-1])  # the one feature of the '[...]' array
