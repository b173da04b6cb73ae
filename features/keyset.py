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
from collections.abc import Hashable

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
