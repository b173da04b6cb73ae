"""Pages of features: one statement per page, keyset paging for deep offsets, and exact
counts that are cheap or absent (docs/architecture.md, "numberMatched").

:func:`query_page` chooses how a page is served: the statement remembered for the request's
shape (``features.statements``), by key for a deep id-ordered page (``features.keyset``), or
composed and rendered (``features.rendering``); and how its ``numberMatched`` is known: the
layer's counter, the page itself, or a count made once per data version and filter
(``features.counts``). The values it takes and returns are in ``features.pages``; a feature
by id is ``features.items``.

Every function takes the connection first; the caller owns the connection and its
transaction (an autocommit pooled connection in the server).
"""

from __future__ import annotations

from collections.abc import Hashable

import psycopg
from psycopg import sql

from features.counts import CACHE as COUNTS
from features.counts import COUNT_LIMIT, count_key, matched_count
from features.items import item_id, item_text
from features.keyset import MIN_OFFSET, is_id_order, keyset_page
from features.pages import (
    FeatureQuery,
    Page,
    PageClauses,
    PageShape,
    compose_where,
    is_last_page,
    selected_names,
)
from features.params import Params
from features.rendering import fetch_page
from features.statements import (
    PLANS,
    PagePlan,
    find_plan,
    page_plan,
    plan_key,
    planned_page,
    planned_page_async,
)
from features.table import FeatureTable

__all__ = [
    "COUNT_LIMIT",
    "FeatureQuery",
    "Page",
    "find_plan",
    "item_id",
    "item_text",
    "known_matched",
    "planned_page_async",
    "query_page",
]


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
    return composed_page(conn, table, query, key, count)


def composed_page(
    conn: psycopg.Connection,
    table: FeatureTable,
    query: FeatureQuery,
    key: Hashable | None,
    count: bool,
) -> Page:
    """The page of a query whose statement is composed for it (and remembered under
    ``key`` when there is one), with its ``matched`` (as :func:`query_page`)."""
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
    page = served_page(conn, table, query, params, where, shape, key)
    limit, offset = query.limit, query.offset
    matched = page.matched
    if matched is None and count:
        if is_last_page(page, limit, offset):
            matched = offset + page.returned
        else:
            matched = matched_count(conn, table, params, where, where_values, page.version)
    return Page(page.text, page.returned, page.last_id, matched if count else None)


def served_page(
    conn: psycopg.Connection,
    table: FeatureTable,
    query: FeatureQuery,
    params: Params,
    where: sql.Composable | None,
    shape: PageShape,
    key: Hashable | None,
) -> Page:
    """The page itself: from a statement rendered now and remembered under ``key``, by key
    for a deep id-ordered page, or (when neither applies or a row cannot be reprojected)
    composed with its fallback (:func:`features.rendering.fetch_page`)."""
    clauses = PageClauses(table, where, list(query.sortby), query.limit, query.offset, shape)
    page = None
    if key is not None:
        plan = page_plan(conn, clauses, params, query.filterq)
        page = planned_page(conn, plan, clauses.offset)
        if page is not None:
            PLANS.remember(key, plan)
    elif clauses.offset >= MIN_OFFSET and is_id_order(table, clauses.sortby):
        page = keyset_page(conn, clauses, params)
    if page is None:
        page = fetch_page(conn, clauses, params)
    return page


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
