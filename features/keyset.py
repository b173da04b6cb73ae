"""Keyset paging behind the OGC `offset` parameter.

OGC API Features pages with `offset`, and OFFSET makes PostgreSQL walk every skipped row.
When a result is ordered by the integer id, we remember, per query and per data version,
the last id before a given offset (`after[offset]`). A request at a known offset becomes
`WHERE id > after[offset] ORDER BY id LIMIT n`, as cheap as the first page; an unknown
offset walks only the id index from the nearest known one, once. The data version
(`catalog.layer_stats.version`, bumped by every load and edit) is part of the key, so a
change to the layer can never serve a stale boundary.

The cache is per process (each worker learns its own boundaries); correctness never depends
on it, only speed.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence

import psycopg
from psycopg import sql

from features.counts import data_version
from features.pages import Page, PageClauses
from features.params import Params
from features.query import SortKey, from_clause
from features.rendering import fetch_page
from features.table import FeatureTable, has_integer_id

MAX_QUERIES = 512
MAX_OFFSETS_PER_QUERY = 256
MIN_OFFSET = 500
"""Below this, plain OFFSET is as fast as any lookup."""


class KeysetCache:
    """LRU of `after[offset] = id` maps, one per (query, data version)."""

    def __init__(self) -> None:
        self._maps: OrderedDict[Hashable, dict[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of boundaries known, over all queries."""
        with self._lock:
            return sum(len(b) for b in self._maps.values())

    def nearest(self, key: Hashable, offset: int) -> tuple[int, int] | None:
        """(known offset <= `offset`, the last id before it), or None."""
        with self._lock:
            boundaries = self._maps.get(key)
            if not boundaries:
                return None
            self._maps.move_to_end(key)
            known = sorted(boundaries)
            index = bisect.bisect_right(known, offset) - 1
            if index < 0:
                return None
            return known[index], boundaries[known[index]]

    def remember(self, key: Hashable, offset: int, last_id: int) -> None:
        """Record that the rows from `offset` on have ids greater than `last_id`."""
        with self._lock:
            boundaries = self._maps.setdefault(key, {})
            self._maps.move_to_end(key)
            if len(boundaries) >= MAX_OFFSETS_PER_QUERY:
                boundaries.pop(next(iter(boundaries)))
            boundaries[offset] = last_id
            while len(self._maps) > MAX_QUERIES:
                self._maps.popitem(last=False)


CACHE = KeysetCache()


def is_id_order(table: FeatureTable, sortby: Sequence[SortKey]) -> bool:
    """True when rows are ordered by the integer id alone (keyset paging applies)."""
    if not has_integer_id(table):
        return False
    return not sortby or list(sortby) == [{"property": table.id_field, "order": "+"}]


def keyset_key(
    conn: psycopg.Connection,
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    version: int,
) -> Hashable:
    """The key of a query's boundaries in :data:`CACHE`: table, data version, filter."""
    where_text = where.as_string(conn) if where is not None else ""
    return (
        table.schema,
        table.table,
        version,
        where_text,
        tuple(sorted((k, repr(v)) for k, v in params.values.items())),
    )


def walk_ids(
    conn: psycopg.Connection,
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    offset: int,
    known: tuple[int, int] | None,
) -> int | None:
    """The last id before `offset`, walking only the id index from the boundary ``known``
    (offset, id), or from the start; None when fewer rows than the offset match."""
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
    return None if row is None else int(row[0])


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
    key = keyset_key(conn, table, params, where, version)
    known = CACHE.nearest(key, offset)
    if known is not None and known[0] == offset:
        return key, known[1]
    after = walk_ids(conn, table, params, where, offset, known)
    if after is None:
        return key, None  # fewer rows than the offset: the page is empty
    CACHE.remember(key, offset, after)
    return key, after


def keyset_page(conn: psycopg.Connection, clauses: PageClauses, params: Params) -> Page | None:
    """A deep page of id-ordered ``clauses`` by key instead of OFFSET; None when keyset
    does not apply."""
    table, where = clauses.table, clauses.where
    start = keyset_start(conn, table, params, where, clauses.offset)
    if start is None:
        return None
    key, after = start
    if after is None:
        return Page("[]", 0, None, None)
    conds = [where] if where is not None else []
    conds.append(sql.SQL("{} > {}").format(sql.Identifier(table.id_field), params.add(after)))
    where_by_key = sql.SQL(" AND ").join(conds)
    by_key = PageClauses(table, where_by_key, [], clauses.limit, 0, clauses.shape)
    page = fetch_page(conn, by_key, params)
    if page.returned and page.returned == clauses.limit:
        CACHE.remember(key, clauses.offset + clauses.limit, int(page.last_id))
    return page
