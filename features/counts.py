"""Exact ``numberMatched`` of filtered requests, counted once per data version and filter.

A filtered page that is not the last one needs a count of all matches. Counting (bounded at
:data:`COUNT_LIMIT` rows and a few milliseconds) costs more than the page
itself, and a client paging through a result asks the same question on every page. The
answer depends only on the table's data and the filter, so it is kept here per (table, data
version, filter text, filter values): the data version (``catalog.layer_stats.version``) is
bumped by every load and every write, so a change to the layer is never answered with an old
count. A count that was over its bound or its time budget is kept too (as unknown), so such
a filter does not pay for a failed count on every page either.

The cache is per process and bounded (least recently used entries go first); correctness
never depends on it, only speed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import psycopg
from psycopg import errors, sql

from features.params import Params
from features.query import count_query
from features.table import FeatureTable

MAX_ENTRIES = 1024
COUNT_LIMIT = 10000  # numberMatched is only reported when exact and <= this
COUNT_BUDGET_MS = 5  # ... and when counting took less than this (then it is omitted)

_MISSING = object()


class CountCache:
    """LRU of exact counts (or None: unknown) per (table, data version, filter)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._counts: OrderedDict[Hashable, int | None] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def __len__(self) -> int:
        """Number of counts kept."""
        with self._lock:
            return len(self._counts)

    def get(self, key: Hashable) -> tuple[bool, int | None]:
        """(known, count): whether ``key`` was counted, and its count (None: unknown)."""
        with self._lock:
            value = self._counts.get(key, _MISSING)
            if value is _MISSING:
                return False, None
            self._counts.move_to_end(key)
            return True, value  # type: ignore[return-value]

    def remember(self, key: Hashable, count: int | None) -> None:
        """Keep the count of ``key``."""
        with self._lock:
            self._counts[key] = count
            self._counts.move_to_end(key)
            while len(self._counts) > self.max_entries:
                self._counts.popitem(last=False)


CACHE = CountCache()


def count_matches(
    conn: psycopg.Connection, table: FeatureTable, params: Params, where: sql.Composable | None
) -> int | None:
    """Exact count, or ``None`` when above :data:`COUNT_LIMIT` or over its time budget."""
    if where is None and table.info.has_layer_stats:
        row = conn.execute(
            "SELECT feature_count FROM catalog.layer_stats WHERE layer_id = %s", [table.layer_id]
        ).fetchone()
        if row is not None:
            return int(row[0])
    query = count_query(table, params, where, COUNT_LIMIT + 1)
    # A selective filter without an index scans the whole table to count few rows: the
    # count also gets a time budget, and numberMatched is omitted when it runs out.
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('statement_timeout', %s, true)", [str(COUNT_BUDGET_MS)])
            count = conn.execute(query, params.values).fetchone()[0]
    except errors.QueryCanceled:
        return None
    return count if count <= COUNT_LIMIT else None


def matched_count(
    conn: psycopg.Connection,
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    where_values: dict[str, Any],
    version: int | None = None,
    where_text: str | None = None,
) -> int | None:
    """Exact count of a query's matches (None: over its bound or budget), counted once per
    data version and filter (``features.counts``); ``where_values``: the filter's values;
    ``version``: the layer's data version when the page statement read it already;
    ``where_text``: the filter's SQL when known (a remembered statement's)."""
    if where is None:
        return count_matches(conn, table, params, where)
    if version is None:
        version = data_version(conn, table)
    if version is None:
        return count_matches(conn, table, params, where)
    key = count_key(table, version, where_text or where.as_string(conn), where_values)
    known, count = CACHE.get(key)
    if not known:
        count = count_matches(conn, table, params, where)
        CACHE.remember(key, count)
    return count


def count_key(
    table: FeatureTable, version: int, where_text: str, where_values: dict[str, Any]
) -> Hashable:
    """The key of a filtered count in ``features.counts``."""
    values = tuple(sorted((k, repr(v)) for k, v in where_values.items()))
    return (table.schema, table.table, version, where_text, values)


def data_version(conn: psycopg.Connection, table: FeatureTable) -> int | None:
    """The layer's data version (bumped by every load and edit), None if unknown."""
    if not table.info.has_layer_stats:
        return None
    row = conn.execute(
        "SELECT version FROM catalog.layer_stats WHERE layer_id = %s", [table.layer_id]
    ).fetchone()
    return int(row[0]) if row else None
