"""A page rendered by PostgreSQL in one statement (GeoJSON text, never parsed in Python),
and what happens when one of its rows cannot be reprojected.

A row whose geometry the target CRS cannot express (a latitude of 91 forced into a table)
does not fail the page: the page is rendered again with that row's geometry null, and the
row is logged. The normal path pays nothing for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors, sql

from features.database import is_transform_error
from features.pages import Page, PageClauses, page_of_row
from features.params import Params
from features.query import page_ids_query, page_query, row_geometry_query

LOGGER = logging.getLogger(__name__)


def shaped_query(
    clauses: PageClauses, params: Params, untransformable: Sequence[Any] = ()
) -> sql.Composed:
    """The page statement of ``clauses`` (`page_query` with the shape's options)."""
    shape = clauses.shape
    return page_query(
        clauses.table,
        params,
        clauses.where,
        clauses.sortby,
        clauses.limit,
        clauses.offset,
        names=shape.names,
        skip_geometry=shape.skip_geometry,
        target=shape.target,
        with_stats=shape.with_stats,
        version=shape.version,
        untransformable=untransformable,
    )


def fetch_page(conn: psycopg.Connection, clauses: PageClauses, params: Params) -> Page:
    """One statement: the page as GeoJSON text (+ the exact counter).

    A row whose geometry the target CRS cannot express (a latitude of 91 forced into a
    table) does not fail the page: the page is rendered again with that row's geometry
    null, and the row is logged.
    """
    base = params.copy()

    def run(bound: Params, untransformable: Sequence[Any] = ()) -> Any:
        query = shaped_query(clauses, bound, untransformable)
        return conn.execute(query, bound.values).fetchone()

    try:
        row = run(params)
    except errors.InternalError_ as err:
        if not is_transform_error(err) or clauses.shape.skip_geometry:
            raise
        row = run(base, untransformable_ids(conn, clauses, base))
    return page_of_row(row, clauses.shape.version)


def untransformable_ids(
    conn: psycopg.Connection, clauses: PageClauses, params: Params
) -> list[Any]:
    """The ids of the page's rows whose geometry cannot be transformed to the shape's
    target CRS (each tried alone; only run after the page failed), logged."""
    table, target = clauses.table, clauses.shape.target
    ids_params = params.copy()
    query = page_ids_query(
        table, ids_params, clauses.where, clauses.sortby, clauses.limit, clauses.offset
    )
    ids = [row[0] for row in conn.execute(query, ids_params.values).fetchall()]
    bad = []
    for identifier in ids:
        one = Params()
        try:
            with conn.transaction():
                conn.execute(row_geometry_query(table, one, identifier, target), one.values)
        except errors.InternalError_ as err:
            if not is_transform_error(err):
                raise
            bad.append(identifier)
    LOGGER.warning(
        "%s.%s: geometry of ids %s cannot be transformed to EPSG:%s; served as null",
        table.schema,
        table.table,
        bad,
        (target or table.storage).srid,
    )
    return bad
