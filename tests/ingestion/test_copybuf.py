"""The chunk's binary COPY payload (`ingestion.copybuf`) is byte for byte what psycopg's own
row-by-row binary COPY writer produces, NULLs and every field type included."""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg
from psycopg._copy_base import BinaryFormatter
from psycopg.adapt import Transformer
from psycopg.pq import Format

from ingestion.copybuf import BINARY_SIGNATURE, BINARY_TRAILER, binary_rows

TYPES = ["int4", "bool", "int8", "text", "float8", "date", "timestamptz", "int4", "bytea"]


def _psycopg_rows(types: list[str], rows: list[tuple[object, ...]]) -> bytes:
    transformer = Transformer()
    transformer.set_dumper_types(
        [psycopg.postgres.types.get(name).oid for name in types], Format.BINARY
    )
    formatter = BinaryFormatter(transformer)
    out = bytearray()
    for row in rows:
        out += formatter.write_row(row)
    out += formatter.end()
    return bytes(out)


def test_the_payload_matches_psycopgs_row_writer() -> None:
    stamp = dt.datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=dt.UTC)
    rows = [
        (1, True, 7, "Бишкек", 1.5, dt.date(2026, 1, 2), stamp, -3, b"\x01\x02"),
        (2, False, None, None, None, None, None, None, None),
        (3, True, 2**40, "", -0.25, dt.date(1999, 12, 31), stamp, 2**31 - 1, b""),
    ]
    columns = [list(column) for column in zip(*rows, strict=True)]
    columns[0] = np.array(columns[0])  # the pipeline passes row numbers as a numpy array
    payload = BINARY_SIGNATURE + bytes(binary_rows(TYPES, columns)) + BINARY_TRAILER
    assert payload == _psycopg_rows(TYPES, rows)
