"""A chunk of rows as one PostgreSQL binary COPY payload, built column by column (numpy,
Arrow), for `psycopg`'s `copy.write` (the caller adds `BINARY_SIGNATURE` before the chunks
and `BINARY_TRAILER` after them).

The format (PostgreSQL's `COPY ... (FORMAT BINARY)`): each row is a 16-bit field count,
then each field as a 32-bit length (-1 for NULL) followed by that many bytes, all
big-endian. Fixed-width values (int4, int8, float8, bool, date, timestamptz) are converted
as whole arrays; texts and byte strings (EWKB) go through Arrow (UTF-8 encoding in C++);
each field becomes a binary array of (length, bytes) per row and Arrow's element-wise
binary join concatenates them into rows, so no Python code runs per row or per cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PG_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")
"""PostgreSQL's epoch: dates count days and timestamps microseconds from it."""
BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\0" + bytes(8)
"""The binary COPY header: signature, flags and header extension length (both 0)."""
BINARY_TRAILER = b"\xff\xff"
"""The binary COPY trailer: a field count of -1."""
SEPARATOR = pa.scalar(b"", pa.large_binary())
"""Nothing between the joined fields."""
FIXED = {"int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "u1"}


def _fixed(kind: str, values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(rows x width uint8 bytes, null mask) of a fixed-width column."""
    series = pd.Series(values, dtype=object)
    null = series.isna().to_numpy()
    if kind == "date":
        days = pd.to_datetime(series.where(~null, None)).to_numpy("datetime64[D]")
        raw = (days - PG_EPOCH.astype("datetime64[D]")).astype(np.int64)
        data = np.where(null, 0, raw).astype(">i4")
    elif kind == "timestamptz":
        stamps = pd.to_datetime(series.where(~null, None), utc=True)
        micros = stamps.dt.tz_convert(None).to_numpy("datetime64[us]") - PG_EPOCH
        data = np.where(null, 0, micros.astype(np.int64)).astype(">i8")
    else:
        filled = series.where(~null, 0)
        data = filled.to_numpy(dtype=np.float64 if kind == "float8" else np.int64)
        data = data.astype(FIXED[kind])
    width = data.dtype.itemsize
    return np.ascontiguousarray(data).view(np.uint8).reshape(-1, width), null


def _heads(lengths: np.ndarray) -> pa.Array:
    """Each row's 32-bit big-endian length (-1: NULL) as a binary array."""
    raw = np.ascontiguousarray(lengths.astype(">i4")).view(np.uint8)
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4), len(lengths), [None, pa.py_buffer(raw)]
    )
    return fixed.cast(pa.large_binary())


def _variable(kind: str, values: Sequence[Any]) -> pa.Array:
    """A text or bytea column, each row's field (length, bytes) as one binary value; the
    UTF-8 encoding and the concatenation happen in Arrow's C++."""
    array = pa.array(values, type=pa.large_string() if kind == "text" else pa.large_binary())
    if kind == "text":
        array = array.cast(pa.large_binary())
    lengths = pc.binary_length(array).to_numpy(zero_copy_only=False)
    lengths = np.where(np.isnan(lengths.astype(float)), -1, lengths).astype(np.int64)
    return pc.binary_join_element_wise(_heads(lengths), pc.fill_null(array, b""), SEPARATOR)


def _fixed_field(kind: str, values: Sequence[Any]) -> pa.Array:
    """A fixed-width column, each row's field (length, bytes) as one binary value."""
    block, null = _fixed(kind, values)
    count, width = block.shape
    lengths = np.where(null, -1, width)
    heads = np.ascontiguousarray(lengths.astype(">i4")).view(np.uint8).reshape(-1, 4)
    both = np.ascontiguousarray(np.hstack([heads, block]))
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4 + width), count, [None, pa.py_buffer(both)]
    ).cast(pa.large_binary())
    if not null.any():
        return fixed
    return pc.if_else(pa.array(null), pa.scalar(b"\xff\xff\xff\xff", pa.large_binary()), fixed)


def binary_rows(types: Sequence[str], columns: Sequence[Sequence[Any]]) -> memoryview:
    """The rows given as `columns` (one sequence of Python values, None for NULL, per
    field) in binary COPY format, `types` naming each field's PostgreSQL type."""
    count = len(columns[0]) if columns else 0
    if not count:
        return memoryview(b"")
    fields = [
        _variable(kind, values) if kind in ("text", "bytea") else _fixed_field(kind, values)
        for kind, values in zip(types, columns, strict=True)
    ]
    start = pa.scalar(len(types).to_bytes(2, "big"), pa.large_binary())
    rows = pc.binary_join_element_wise(start, *fields, SEPARATOR)
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset :]
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[len(rows)]]
