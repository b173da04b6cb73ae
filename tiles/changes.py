"""Database-driven freshness: the change notifications of migration 0005, and a listener.

Every write to a layer table ends in one `NOTIFY geoportal_tiles` per statement (committed
transactions only), with a JSON payload `{"seq": n, "table": "schema.table", "boxes":
[[xmin, ymin, xmax, ymax], ...] | null}` in CRS84 (null: the whole table changed). The same
rows are kept for a week in `catalog.tile_changes`, so a listener that was away (a restart, a
lost connection) catches up on what it missed before it trusts its caches again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from tiles.types import BBox

log = logging.getLogger(__name__)

CHANNEL = "geoportal_tiles"
APPLICATION_NAME = "geoportal-tiles-listener"
LOG_RETENTION = dt.timedelta(days=7)
"""How long `catalog.tile_changes` keeps rows (pruned by the trigger, migration 0005)."""
CATCH_UP_WINDOW = 256
"""Changes re-applied below the last one seen: concurrent transactions commit out of order."""
MAX_BOXES = 64
_LOG_STATE_SQL = """
SELECT coalesce((SELECT max(seq) FROM catalog.tile_changes), 0),
       (SELECT oid FROM pg_database WHERE datname = current_database())::text || ':'
       || 'catalog.tile_changes'::regclass::oid::text"""


@dataclass(frozen=True)
class TileChange:
    """A committed change to a table: where it happened (None: everywhere)."""

    seq: int
    schema: str
    table: str
    boxes: tuple[BBox, ...] | None


def _boxes(value: Any) -> tuple[BBox, ...] | None:
    if value is None:
        return None
    boxes = tuple(BBox(*map(float, box)) for box in value)
    if len(boxes) <= MAX_BOXES:
        return boxes
    return (
        BBox(
            min(b.xmin for b in boxes),
            min(b.ymin for b in boxes),
            max(b.xmax for b in boxes),
            max(b.ymax for b in boxes),
        ),
    )


def parse_change(payload: str) -> TileChange | None:
    """The change in a notification payload; None (logged) when malformed.

    >>> change = parse_change('{"seq": 3, "table": "base.lakes", "boxes": [[74, 42, 75, 43]]}')
    >>> change.table, change.boxes
    ('lakes', (BBox(xmin=74.0, ymin=42.0, xmax=75.0, ymax=43.0),))
    """
    try:
        data = json.loads(payload)
        schema, table = str(data["table"]).split(".", 1)
        return TileChange(int(data["seq"]), schema, table, _boxes(data.get("boxes")))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring malformed tile change %r: %s", payload[:200], exc)
        return None


def merge_changes(changes: Iterable[TileChange]) -> list[TileChange]:
    """One change per table (boxes joined; None wins), for catching up cheaply."""
    merged: dict[tuple[str, str], TileChange] = {}
    for change in changes:
        key = (change.schema, change.table)
        old = merged.get(key)
        if old is None:
            merged[key] = change
            continue
        boxes = (
            None
            if old.boxes is None or change.boxes is None
            else _boxes([*old.boxes, *change.boxes])
        )
        merged[key] = TileChange(max(old.seq, change.seq), *key, boxes)
    return list(merged.values())


class ChangeListener:
    """LISTENs for tile changes in a background task, reconnecting and catching up.

    `on_change` gets every change; `on_reset` is called when what was missed cannot be known
    (no record of the last change seen, or older than the log keeps); `on_state(True/False)`
    tells whether changes are being received, so caches are bypassed while they are not.
    """

    def __init__(
        self,
        conninfo: str,
        on_change: Callable[[TileChange], object],
        *,
        on_reset: Callable[[], None],
        on_state: Callable[[bool], None],
        state_path: Path | None = None,
        retry_s: float = 1.0,
    ) -> None:
        self.conninfo = conninfo
        self.on_change = on_change
        self.on_reset = on_reset
        self.on_state = on_state
        self.state_path = state_path
        self.retry_s = retry_s
        self.last_seq: int | None = None
        self.database = ""
        """Identity of the database whose changes `last_seq` counts (oids of the database and
        of the change log): a state file of another database is not trusted."""
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, wait_s: float = 10.0) -> bool:
        """Start listening; True when listening within `wait_s` seconds."""
        self._task = asyncio.create_task(self._run(), name="tile-change-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), wait_s)
        return self.ready.is_set()

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo,
                    autocommit=True,
                    connect_timeout=10,
                    application_name=APPLICATION_NAME,
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await self._catch_up(conn)
                    self.ready.set()
                    self.on_state(True)
                    await self._receive(conn)
            except (psycopg.Error, OSError) as exc:
                log.warning("tile change listener lost its connection: %s", exc)
            except Exception:  # never die silently: caches would go stale
                log.exception("tile change listener failed; restarting it")
            self.ready.clear()
            self.on_state(False)
            await asyncio.sleep(self.retry_s)

    async def _receive(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for notify in conn.notifies(timeout=30.0):
                change = parse_change(notify.payload)
                if change is not None:
                    self._apply(change)
            await conn.execute("SELECT 1")  # a dead connection raises here
            self._save_state()  # "listening until now": a restart need not clear the disk

    def _apply(self, change: TileChange) -> None:
        try:
            self.on_change(change)
        except Exception:  # a bad handler must not stop the listener; log and go on
            log.exception("applying tile change %s failed", change.seq)
        self.last_seq = max(self.last_seq or 0, change.seq)
        self._save_state()

    async def _catch_up(self, conn: psycopg.AsyncConnection[Any]) -> None:
        cur = await conn.execute(_LOG_STATE_SQL)
        row = await cur.fetchone()
        current, self.database = (int(row[0]), str(row[1])) if row else (0, "")
        since = self.last_seq if self.last_seq is not None else self._load_state()
        if since is None or since > current:  # unknown gap, or another database
            self.on_reset()
        else:
            cur = await conn.execute(
                "SELECT seq, table_name, boxes FROM catalog.tile_changes WHERE seq > %s "
                "ORDER BY seq",
                [since - CATCH_UP_WINDOW],
            )
            rows = await cur.fetchall()
            changes = [
                c
                for c in (
                    parse_change(json.dumps({"seq": seq, "table": name, "boxes": boxes}))
                    for seq, name, boxes in rows
                )
                if c is not None
            ]
            for change in merge_changes(changes):
                self.on_change(change)
        self.last_seq = current
        self._save_state()

    def _load_state(self) -> int | None:
        """The last change seen by any process sharing the disk cache, if still in the log
        of this database."""
        if self.state_path is None:
            return 0  # memory cache only: it starts empty, nothing to catch up
        try:
            state = json.loads(self.state_path.read_text("utf-8"))
            at = dt.datetime.fromisoformat(state["at"])
            seq = int(state["seq"])
            database = str(state["database"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if database != self.database:
            return None
        if dt.datetime.now(dt.UTC) - at > LOG_RETENTION - dt.timedelta(hours=1):
            return None
        return seq

    def _save_state(self) -> None:
        if self.state_path is None or self.last_seq is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps(
                {
                    "seq": self.last_seq,
                    "database": self.database,
                    "at": dt.datetime.now(dt.UTC).isoformat(),
                }
            ),
            "utf-8",
        )
        tmp.replace(self.state_path)
