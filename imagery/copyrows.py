"""NDVI statistics rows as one PostgreSQL binary COPY payload, built with numpy.

The format (`COPY ... (FORMAT BINARY)`, as `ingestion/copybuf.py` writes it for loads): a
signature, then per row a 16-bit field count and each field as a 32-bit length (-1: NULL)
followed by its big-endian bytes, then a trailer of -1. A row of statistics is the plot id
(int4), two texts that are the same in every row (scene, sensor), a date (int4 days since
2000-01-01) and seven float8 of which some are NULL (no valid pixel). Rows with the same
NULLs have the same layout, so each such group is one numpy structured array: no Python
runs per row, and the rows need no text formatting (`%.17g`) or parsing on either side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\0" + bytes(8)
TRAILER = b"\xff\xff"
PG_EPOCH = dt.date(2000, 1, 1)


def _group(
    plot_ids: np.ndarray, constants: Sequence[bytes], day: int, values: np.ndarray, null: tuple
) -> bytes:
    """The rows of one NULL pattern (`values`: rows x floats, `null` per float column)."""
    fields: list[tuple[str, str]] = [("n", ">i2"), ("id_len", ">i4"), ("id", ">i4")]
    for i, text in enumerate(constants):
        fields += [(f"t{i}_len", ">i4"), (f"t{i}", f"S{len(text)}")]
    fields += [("day_len", ">i4"), ("day", ">i4")]
    for i, is_null in enumerate(null):
        fields.append((f"f{i}_len", ">i4"))
        if not is_null:
            fields.append((f"f{i}", ">f8"))
    rows = np.empty(len(plot_ids), dtype=np.dtype(fields))
    rows["n"] = 2 + len(constants) + len(null)
    rows["id_len"], rows["id"] = 4, plot_ids
    for i, text in enumerate(constants):
        rows[f"t{i}_len"], rows[f"t{i}"] = len(text), text
    rows["day_len"], rows["day"] = 4, day
    for i, is_null in enumerate(null):
        rows[f"f{i}_len"] = -1 if is_null else 8
        if not is_null:
            rows[f"f{i}"] = values[:, i]
    return rows.tobytes()


def binary_rows(
    plot_ids: np.ndarray, texts: Sequence[str], day: dt.date, floats: np.ndarray
) -> bytes:
    """The whole binary COPY payload (signature to trailer) of rows `(plot_id, *texts,
    day, *floats)`; a NaN float is written as NULL."""
    constants = [text.encode("utf-8") for text in texts]
    days = (day - PG_EPOCH).days
    ids = np.asarray(plot_ids, dtype=np.int64)
    if not len(ids):
        return SIGNATURE + TRAILER
    values = np.asarray(floats, dtype=np.float64).reshape(len(ids), -1)
    nulls = np.isnan(values)
    codes = nulls @ (1 << np.arange(values.shape[1], dtype=np.int64))  # a NULL pattern's bits
    parts = [SIGNATURE]
    for code in np.unique(codes):
        rows = codes == code
        pattern = tuple(bool(code >> i & 1) for i in range(values.shape[1]))
        parts.append(_group(ids[rows], constants, days, values[rows], pattern))
    parts.append(TRAILER)
    return b"".join(parts)
