"""NDVI statistics written with binary COPY (imagery/copyrows.py) read back exactly: every
float bit for bit, NaN as NULL, texts and the date as given, rows of mixed NULL patterns."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import psycopg

from geoportal.db.database import Database
from imagery.db import copy_plot_ndvi
from imagery.zonal import STATISTICS

_TABLE = (
    "CREATE TEMP TABLE ndvi_rows (plot_id integer, scene_id text, sensor text, "
    "observed_on date, ndvi_mean float8, ndvi_median float8, ndvi_p10 float8, "
    "ndvi_p90 float8, ndvi_std float8, valid_pixels float8, valid_share float8)"
)


def _stats() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    values = rng.normal(0.4, 0.3, (50, len(STATISTICS)))
    values[3, :5] = np.nan  # no valid pixel: the statistics are NULL
    values[7, 1:4] = np.nan  # a median and quantiles missing, the mean present
    values[8] = [1 / 3, -0.0, 1e-300, 5e300, 0.1, 0.0, 1.0]
    frame = pd.DataFrame(values, columns=list(STATISTICS))
    frame.insert(0, "id", np.arange(1, 51) * 7919)
    return frame


def test_binary_copy_round_trips(database: Database) -> None:
    stats = _stats()
    with psycopg.connect(database.admin_conninfo()) as conn:
        conn.execute(_TABLE)
        copied = copy_plot_ndvi(
            conn, stats, scene_id="S2Ä_scène", sensor="sentinel-2",
            observed_on=dt.date(2025, 6, 24), table=("pg_temp", "ndvi_rows"),
        )  # fmt: skip
        rows = conn.execute("SELECT * FROM ndvi_rows ORDER BY plot_id").fetchall()
    assert copied == len(rows) == 50
    for row, (_, expected) in zip(rows, stats.iterrows(), strict=True):
        assert row[0] == expected["id"]
        assert row[1:4] == ("S2Ä_scène", "sentinel-2", dt.date(2025, 6, 24))
        for got, want in zip(row[4:], expected[list(STATISTICS)], strict=True):
            assert (got is None) if math.isnan(want) else got == want


def test_binary_copy_of_no_rows(database: Database) -> None:
    empty = pd.DataFrame(columns=["id", *STATISTICS])
    with psycopg.connect(database.admin_conninfo()) as conn:
        conn.execute(_TABLE)
        copied = copy_plot_ndvi(
            conn, empty, scene_id="s", sensor="x", observed_on=dt.date(2025, 1, 1),
            table=("pg_temp", "ndvi_rows"),
        )  # fmt: skip
        assert copied == 0
        assert conn.execute("SELECT count(*) FROM ndvi_rows").fetchone() == (0,)
