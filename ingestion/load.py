"""Bulk loading prepared layers into PostGIS: COPY inside one transaction, atomic replace.

Readers keep seeing the previous rows (MVCC) until the transaction commits; on any error
nothing is changed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from cadastre.history import REGISTER_LAYERS
from ingestion.errors import IngestionError, RegisterReplaceError
from ingestion.vector import PreparedLayer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    """What one layer's load did."""

    layer_id: str
    feature_count: int
    repaired: int


def _replace_rows(conn: psycopg.Connection, prepared: PreparedLayer) -> None:
    schema, table = prepared.layer.qualified_table
    target = sql.Identifier(schema, table)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in prepared.columns)
    if prepared.layer.id in REGISTER_LAYERS and not _erasing(conn):
        raise RegisterReplaceError(
            f"layer {prepared.layer.id} is the land register, where nothing is ever deleted: "
            "a load cannot replace it (only the demo loader resets the generated demo register)"
        )
    conn.execute(sql.SQL("DELETE FROM {}").format(target))
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(target, columns)
    with conn.cursor().copy(copy) as writer:
        for row in prepared.rows:
            writer.write_row(row)
    # Keep the identity ahead of the explicit ids, so later inserts do not collide.
    highest = max((row[0] for row in prepared.rows), default=0)
    conn.execute(
        sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), {}, true)").format(
            sql.Literal(f"{schema}.{table}"), sql.Literal(max(highest, 1))
        )
    )
    if prepared.layer.is_restricted:
        return  # no public statistics of personal data (layer_stats is readable by all)
    time_min, time_max = _time_extent(prepared)
    conn.execute(
        "INSERT INTO catalog.layer_stats (layer_id, feature_count, bbox_4326, source_file, "
        "time_min, time_max) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (layer_id) DO UPDATE SET "
        "feature_count = EXCLUDED.feature_count, bbox_4326 = EXCLUDED.bbox_4326, "
        "source_file = EXCLUDED.source_file, time_min = EXCLUDED.time_min, "
        "time_max = EXCLUDED.time_max, loaded_at = now(), "
        "version = catalog.layer_stats.version + 1",
        [
            prepared.layer.id,
            len(prepared.rows),
            list(prepared.bbox_4326) if prepared.bbox_4326 else None,
            prepared.source_file,
            time_min,
            time_max,
        ],
    )


def _erasing(conn: psycopg.Connection) -> bool:
    """Whether this session is the owner's explicit reset of the register (migration 0024)."""
    row = conn.execute("SELECT cadastre.is_erasing()").fetchone()
    return bool(row and row[0])


def _time_extent(prepared: PreparedLayer) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Earliest and latest value of the layer's time field (UTC), or (None, None)."""
    name = prepared.layer.time_field
    if name is None:
        return None, None
    index = prepared.columns.index(name)
    values = [row[index] for row in prepared.rows if row[index] is not None]
    if not values:
        return None, None
    stamps = [
        v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time(), tzinfo=dt.UTC)
        for v in values
    ]
    return min(stamps), max(stamps)


def load_layers(
    conninfo: str,
    prepared: Sequence[PreparedLayer],
    progress: Callable[[PreparedLayer], None] | None = None,
) -> list[LoadResult]:
    """Replace the rows of every prepared layer in one transaction.

    Raises:
        IngestionError: the database refused the data (a constraint, a missing table); the
            transaction is rolled back and the previous data stays.
    """
    results = []
    try:
        with psycopg.connect(conninfo) as conn, conn.transaction():
            for item in prepared:
                _replace_rows(conn, item)
                results.append(LoadResult(item.layer.id, len(item.rows), item.repaired))
                if progress:
                    progress(item)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for item in prepared:
                table = sql.Identifier(*item.layer.qualified_table)
                conn.execute(sql.SQL("ANALYZE {}").format(table))
    except psycopg.Error as exc:
        detail = exc.diag.message_primary if exc.diag else str(exc)
        raise IngestionError(
            f"the database refused the load, nothing was changed: {detail}"
        ) from exc
    for result in results:
        log.info("loaded %s: %d features", result.layer_id, result.feature_count)
    return results
