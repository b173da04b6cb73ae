"""Page statements remembered per request shape, so a repeated request is not composed again.

Composing a page statement (clauses as `psycopg.sql` objects, then rendered to text) cost
about a fifth of the Python time of a filtered page (profiled with py-spy,
docs/benchmarks.md). A client paging through a result, and clients asking the same thing,
send the same request but for its offset. So the rendered statement, its bound values and
its filter's text (the key of the cached count) are kept per request shape: the table, every
parameter of the request but the offset, and the parsed filter by identity (the fast path
parses a filter text once, `geoportal.pygeoapi_.items_query.parsed_filter`; the entry holds
the filter and the table, so their ids are not reused while it lives). Only the offset's
value changes between the pages of a shape: it is the statement's last bound value.

Per process, bounded (least recently used first); a miss composes as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors

from features.database import is_transform_error
from features.keyset import MIN_OFFSET, is_id_order
from features.pages import FeatureQuery, Page, PageClauses, page_of_row
from features.params import Params
from features.rendering import shaped_query
from features.table import FeatureTable

MAX_ENTRIES = 512


@dataclass(frozen=True)
class PagePlan:
    """A rendered page statement and what its answer needs."""

    statement: bytes
    values: dict[str, Any]
    offset_name: str  # the placeholder of the offset, the last bound value
    where_text: str | None  # the filter's SQL (None: unfiltered), the count's key
    where_values: dict[str, Any]
    version: bool  # the statement reads the data version (else the counter or nothing)
    table: Any  # held: the key uses its identity
    filterq: Any  # held, as the table

    def bound(self, offset: int) -> dict[str, Any]:
        """The bound values for a page at `offset`."""
        return {**self.values, self.offset_name: int(offset)}


def shape_key(table: Any, query: Any, count: bool) -> Hashable | None:
    """The key of a request's shape (every parameter but the offset), None if a value
    cannot be a key (an unhashable value: such a request is composed every time)."""
    try:
        key = (
            id(table),
            query.resulttype,
            tuple(query.bbox),
            query.datetime,
            tuple((name, value) for name, value in query.properties),
            query.q,
            tuple((s["property"], s.get("order", "+")) for s in query.sortby),
            tuple(query.select_properties),
            query.skip_geometry,
            query.target,
            int(query.limit),
            id(query.filterq),
            count,
        )
        hash(key)
    except (TypeError, ValueError, KeyError):
        return None
    return key


class PlanCache:
    """LRU of page plans per request shape."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._plans: OrderedDict[Hashable, PagePlan] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def __len__(self) -> int:
        """Number of plans kept."""
        with self._lock:
            return len(self._plans)

    def get(self, key: Hashable, table: Any, filterq: Any) -> PagePlan | None:
        """The plan of `key` made for this very table and filter, or None."""
        with self._lock:
            plan = self._plans.get(key)
            if plan is None or plan.table is not table or plan.filterq is not filterq:
                return None
            self._plans.move_to_end(key)
            return plan

    def remember(self, key: Hashable, plan: PagePlan) -> None:
        """Keep `plan` for `key`."""
        with self._lock:
            self._plans[key] = plan
            self._plans.move_to_end(key)
            while len(self._plans) > self.max_entries:
                self._plans.popitem(last=False)


PLANS = PlanCache()


def plan_key(table: FeatureTable, query: FeatureQuery, count: bool) -> Hashable | None:
    """The key of the query's remembered statement; None for a query that is not run from
    one (hits, deep pages served by key, a value that cannot be a key)."""
    if query.resulttype == "hits" or (
        query.offset >= MIN_OFFSET and is_id_order(table, query.sortby)
    ):
        return None
    return shape_key(table, query, count)


def find_plan(table: FeatureTable, query: FeatureQuery, count: bool) -> PagePlan | None:
    """The remembered statement of the query's shape, if any (see
    :func:`features.paging.query_page`)."""
    key = plan_key(table, query, count)
    return PLANS.get(key, table, query.filterq) if key is not None else None


def page_plan(
    conn: psycopg.Connection, clauses: PageClauses, params: Params, filterq: Any
) -> PagePlan:
    """The page statement rendered once, to be run again for the shape's next pages
    (``filterq``: the request's parsed filter, held by the plan)."""
    bound = params.copy()
    statement = shaped_query(clauses, bound)
    where = clauses.where
    return PagePlan(
        statement=statement.as_bytes(conn),
        values=dict(bound.values),
        offset_name=f"p{len(bound.values) - 1}",  # page_query binds the offset last
        where_text=where.as_string(conn) if where is not None else None,
        where_values=dict(params.values),
        version=clauses.shape.version,
        table=clauses.table,
        filterq=filterq,
    )


def planned_page(conn: psycopg.Connection, plan: PagePlan, offset: int) -> Page | None:
    """The page of a remembered statement at ``offset``; None when a row's geometry cannot
    be transformed (the caller composes the page again, see
    :func:`features.rendering.fetch_page`)."""
    try:
        row = conn.execute(plan.statement, plan.bound(offset)).fetchone()
    except errors.InternalError_ as err:
        if not is_transform_error(err):
            raise
        return None
    return page_of_row(row, plan.version)


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
    return page_of_row(row, plan.version)
