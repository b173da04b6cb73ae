"""Reading an export's rows from PostgreSQL in bounded chunks (a server-side cursor), and the
counts that decide how it is answered.

Every reader holds at most one chunk of rows: memory does not grow with the export.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pyarrow as pa

from exports.errors import EmptyAreaError, ExportCancelledError
from exports.plan import ExportPlan, LayerExport, count_features
from exports.statements import Statement, arrow_schema, rows_statement

OnRows = Callable[[str, int], None]
"""Told (layer id, rows) after each chunk is written."""

_cursor_names = itertools.count()


def check(cancelled: threading.Event | None) -> None:
    """Raise when the export was cancelled.

    Raises:
        ExportCancelledError: `cancelled` is set.
    """
    if cancelled is not None and cancelled.is_set():
        raise ExportCancelledError("the export was cancelled")


def fetch_chunks(
    conn: psycopg.Connection[Any],
    statement: Statement,
    chunk_rows: int,
    cancelled: threading.Event | None = None,
    *,
    binary: bool = True,
) -> Iterator[list[tuple[Any, ...]]]:
    """The statement's rows, `chunk_rows` at a time, from a server-side cursor in its own
    transaction (closed, and the transaction ended, when the iterator is closed)."""
    with conn.transaction():
        name = f"export_{next(_cursor_names)}"
        with conn.cursor(name=name, binary=binary) as cur:
            cur.execute(statement.query, statement.values)
            while rows := cur.fetchmany(chunk_rows):
                check(cancelled)
                yield rows


def record_batches(
    conn: psycopg.Connection[Any],
    plan: ExportPlan,
    part: LayerExport,
    chunk_rows: int,
    cancelled: threading.Event | None = None,
    on_rows: OnRows | None = None,
) -> pa.RecordBatchReader:
    """The layer's rows as a stream of Arrow record batches (`arrow_schema`), one chunk each."""
    schema = arrow_schema(part)

    def batches() -> Iterator[pa.RecordBatch]:
        for rows in fetch_chunks(conn, rows_statement(plan, part), chunk_rows, cancelled):
            columns = list(zip(*rows, strict=True))
            yield pa.record_batch(
                [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
                schema=schema,
            )
            if on_rows is not None:
                on_rows(part.layer.id, len(rows))

    return pa.RecordBatchReader.from_batches(schema, batches())


def count_within(conn: psycopg.Connection[Any], plan: ExportPlan, bound: int) -> int | None:
    """The export's features in all, or None when there are more than `bound`."""
    total = 0
    for part in plan.layers:
        total += count_features(conn, part, bound - total + 1)
        if total > bound:
            return None
    return total


def count_layers(conn: psycopg.Connection[Any], plan: ExportPlan) -> dict[str, int]:
    """The exact number of features of each layer (for a progress bar)."""
    return {part.layer.id: count_features(conn, part, 2**62) for part in plan.layers}


def without_empty_layers(conn: psycopg.Connection[Any], plan: ExportPlan) -> ExportPlan:
    """A regional extract keeps the layers that have features in its area; layers asked by
    name are kept even when empty (an empty layer is an answer too)."""
    if plan.query.layers:
        return plan
    kept = tuple(part for part in plan.layers if count_features(conn, part, 1) > 0)
    if not kept:
        raise EmptyAreaError("no public layer has features in this area (or with this filter)")
    return replace(plan, layers=kept)
