"""Fixtures of the analyses' tests: an owner transaction on the demo database, rolled back
after each test, and helpers to add hand-made features to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from geoportal.db.database import Database


@pytest.fixture
def tx(loaded: Database) -> Iterator[psycopg.Connection[Any]]:
    """An owner connection inside a transaction that is rolled back after the test."""
    with psycopg.connect(loaded.owner_conninfo) as conn:
        try:
            yield conn
        finally:
            conn.rollback()


def insert(
    conn: psycopg.Connection[Any],
    table: str,
    wkt: str | None = None,
    *,
    multi: bool = True,
    **values: Any,
) -> int:
    """Insert one feature into `schema.table` (geometry as WKT, CRS84, made multi unless
    `multi` is false); return its id."""
    schema, name = table.split(".")
    columns = list(values)
    placeholders = [sql.Placeholder()] * len(columns)
    params = list(values.values())
    if wkt is not None:
        columns.append("geom")
        geometry = "ST_Multi(ST_GeomFromText({}, 4326))" if multi else "ST_GeomFromText({}, 4326)"
        placeholders.append(sql.SQL(geometry).format(sql.Placeholder()))
        params.append(wkt)
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(schema, name),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(placeholders),
    )
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def square(lon: float, lat: float, half_deg: float) -> str:
    """A WKT square centred on (lon, lat)."""
    w, e, s, n = lon - half_deg, lon + half_deg, lat - half_deg, lat + half_deg
    return f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))"
