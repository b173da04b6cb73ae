"""The formats that stream: GeoJSON, GeoJSON Sequence (RFC 8142) and CSV of one layer,
produced chunk by chunk as PostgreSQL renders them (nothing is held but the current chunk).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import psycopg

from exports.errors import InvalidExportError
from exports.plan import ExportPlan
from exports.reading import check, fetch_chunks
from exports.statements import csv_statement, geojson_statement

RS = b"\x1e"
"""GeoJSON text sequences start each feature with the record separator (RFC 8142 / 7464)."""


def _single(plan: ExportPlan) -> None:
    if len(plan.layers) != 1 or not plan.format.streams:
        raise InvalidExportError("a streamed export holds exactly one layer")


def _geojson(
    conn: psycopg.Connection[Any],
    plan: ExportPlan,
    chunk_rows: int,
    cancelled: threading.Event | None,
    count: int | None,
) -> Iterator[bytes]:
    part = plan.layers[0]
    seq = plan.format.name == "geojsonseq"
    head: dict[str, Any] = {"type": "FeatureCollection", "name": part.layer.id}
    if count is not None:
        head["numberMatched"] = count
    if plan.srid != 4326:
        head["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{plan.srid}"}}
    if not seq:
        yield (json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n').encode()
    first = True
    for rows in fetch_chunks(
        conn, geojson_statement(plan, part), chunk_rows, cancelled, binary=False
    ):
        if seq:
            yield b"".join(RS + row[0].encode() + b"\n" for row in rows)
        else:
            text = ",\n".join(row[0] for row in rows)
            yield ((",\n" if not first else "") + text).encode()
            first = False
    if not seq:
        yield b"\n]}\n"


def _csv(
    conn: psycopg.Connection[Any],
    plan: ExportPlan,
    chunk_rows: int,
    cancelled: threading.Event | None,
) -> Iterator[bytes]:
    statement = csv_statement(plan, plan.layers[0])
    size = max(64 * 1024, chunk_rows * 64)
    buffer = bytearray()
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(statement.query, statement.values) as copy:
            for data in copy:
                buffer += data
                if len(buffer) >= size:
                    check(cancelled)
                    yield bytes(buffer)
                    buffer.clear()
    if buffer:
        yield bytes(buffer)


def stream_export(
    conn: psycopg.Connection[Any],
    plan: ExportPlan,
    *,
    chunk_rows: int = 10_000,
    cancelled: threading.Event | None = None,
    count: int | None = None,
) -> Iterator[bytes]:
    """The bytes of a one-layer GeoJSON, GeoJSON Sequence or CSV export, chunk by chunk.

    Args:
        count: the exact number of matching features, stated in the GeoJSON when known.

    Raises:
        InvalidExportError: not a streamed format, or not exactly one layer.
        ExportCancelledError: `cancelled` was set.
    """
    _single(plan)
    if plan.format.name == "csv":
        return _csv(conn, plan, chunk_rows, cancelled)
    return _geojson(conn, plan, chunk_rows, cancelled, count)
