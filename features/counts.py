"""Exact ``numberMatched`` of filtered requests, counted once per data version and filter.

A filtered page that is not the last one needs a count of all matches. Counting (bounded at
:data:`~features.paging.COUNT_LIMIT` rows and a few milliseconds) costs more than the page
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

MAX_ENTRIES = 1024

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
