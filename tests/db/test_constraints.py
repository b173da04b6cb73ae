"""Every declared constraint is enforced by the database itself, for every layer.

For each layer a loaded row is copied and one field at a time is set to a value its
declaration forbids; PostgreSQL must refuse the row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from geoportal.db.database import Database
from layers.catalogue import load_catalogue
from layers.model import Layer, LayerField


def _violations(layer: Layer) -> Iterator[tuple[LayerField, object, type[Exception]]]:
    for field in layer.fields:
        if field.required:
            yield field, None, psycopg.errors.NotNullViolation
        if field.enum:
            yield field, "not-a-declared-value", psycopg.errors.CheckViolation
        if field.minimum is not None:
            yield field, field.minimum - 1, psycopg.errors.CheckViolation
        if field.maximum is not None:
            yield field, field.maximum + 1, psycopg.errors.CheckViolation


CASES = [
    pytest.param(layer.id, field.name, value, error, id=f"{layer.id}.{field.name}={value}")
    for layer in load_catalogue()
    for field, value, error in _violations(layer)
]


@pytest.mark.parametrize(("layer_id", "field_name", "value", "error"), CASES)
def test_database_refuses_what_the_declaration_forbids(
    loaded: Database,
    rows_of: Callable[[str], None],
    layer_id: str,
    field_name: str,
    value: object,
    error: type[Exception],
) -> None:
    rows_of(layer_id)
    layer = load_catalogue().get(layer_id)
    table = sql.Identifier(*layer.qualified_table)
    with psycopg.connect(loaded.owner_conninfo) as conn:
        columns = [f.name for f in layer.fields] + (["geom"] if layer.has_geometry else [])
        row = conn.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY id LIMIT 1").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), table
            )
        ).fetchone()
        assert row is not None, f"{layer_id} has no data"
        values = dict(zip(columns, row, strict=True))
        values[field_name] = value
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table,
            sql.SQL(", ").join(map(sql.Identifier, values)),
            sql.SQL(", ").join(sql.Placeholder() * len(values)),
        )
        # NOT NULL and CHECK constraints are checked before the unique indexes, so the copy
        # of a row with unique fields still fails for the rule under test.
        with pytest.raises(error), conn.transaction():
            conn.execute(insert, list(values.values()))


@pytest.mark.parametrize(
    "layer_id", [layer.id for layer in load_catalogue() if any(f.unique for f in layer.fields)]
)
def test_unique_fields_are_unique(loaded: Database, layer_id: str) -> None:
    layer = load_catalogue().get(layer_id)
    table = sql.Identifier(*layer.qualified_table)
    columns = sql.SQL(", ").join(
        sql.Identifier(c)
        for c in [f.name for f in layer.fields] + (["geom"] if layer.has_geometry else [])
    )
    with (
        psycopg.connect(loaded.owner_conninfo) as conn,
        pytest.raises(psycopg.errors.UniqueViolation),
        conn.transaction(),
    ):
        for f in layer.fields:  # NULLs never collide: give a nullable key a value first
            if f.unique and not f.required:
                conn.execute(
                    sql.SQL(
                        "UPDATE {0} SET {1} = %s WHERE id = (SELECT min(id) FROM {0}) "
                        "AND {1} IS NULL"
                    ).format(table, sql.Identifier(f.name)),
                    ["unique-test" if f.type == "text" else 1],
                )
        conn.execute(
            sql.SQL("INSERT INTO {0} ({1}) SELECT {1} FROM {0} ORDER BY id LIMIT 1").format(
                table, columns
            )
        )


@pytest.mark.parametrize("layer_id", [layer.id for layer in load_catalogue() if layer.has_geometry])
def test_invalid_geometry_is_refused(
    loaded: Database, rows_of: Callable[[str], None], layer_id: str
) -> None:
    rows_of(layer_id)
    layer = load_catalogue().get(layer_id)
    bowtie = {
        "Point": None,
        "MultiPoint": None,
        "LineString": None,
        "MultiLineString": None,
        "Polygon": "POLYGON((74 42, 75 43, 75 42, 74 43, 74 42))",
        "MultiPolygon": "MULTIPOLYGON(((74 42, 75 43, 75 42, 74 43, 74 42)))",
    }[str(layer.geometry_type)]
    wrong_type = (
        "POINT(74 42)" if "Point" not in str(layer.geometry_type) else "LINESTRING(74 42, 75 43)"
    )
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for wkt, error in (
            (bowtie, psycopg.errors.CheckViolation),
            (wrong_type, psycopg.errors.InvalidParameterValue),
        ):
            if wkt is None:
                continue
            statement = sql.SQL(
                "UPDATE {} SET geom = ST_GeomFromText(%s, 4326) WHERE id = (SELECT min(id) FROM {})"
            ).format(sql.Identifier(*layer.qualified_table), sql.Identifier(*layer.qualified_table))
            with pytest.raises(error), conn.transaction():
                conn.execute(statement, [wkt])


IMPOSSIBLE = {  # migration 0010: what no layer geometry may be ("empty" is the layer type's)
    "empty": "",
    "latitude 91": "POINT(74.6 91)",
    "longitude 1e308": "POINT(1e308 42.9)",
    "Paris": "POINT(2.35 48.85)",
}


@pytest.mark.parametrize("layer_id", [layer.id for layer in load_catalogue() if layer.has_geometry])
def test_impossible_geometry_is_refused(
    loaded: Database, rows_of: Callable[[str], None], layer_id: str
) -> None:
    rows_of(layer_id)
    layer = load_catalogue().get(layer_id)
    table = sql.Identifier(*layer.qualified_table)
    # a point made into the layer's type (a tiny buffer for polygons, a segment for lines)
    shape = {
        "Point": "{}",
        "MultiPoint": "ST_Multi({})",
        "LineString": "ST_MakeLine({0}, ST_Translate({0}, 0, 1e-4))",
        "MultiLineString": "ST_Multi(ST_MakeLine({0}, ST_Translate({0}, 0, 1e-4)))",
        "Polygon": "ST_Expand({}, 1e-4)",
        "MultiPolygon": "ST_Multi(ST_Expand({}, 1e-4))",
    }[str(layer.geometry_type)]
    statement = sql.SQL("UPDATE {} SET geom = {} WHERE id = (SELECT min(id) FROM {})").format(
        table, sql.SQL(shape).format(sql.SQL("ST_GeomFromText(%(wkt)s, 4326)")), table
    )
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for name, wkt in IMPOSSIBLE.items():
            if name == "Paris" and layer_id == "country":
                continue  # the country bounds the others
            if name == "empty":
                statement_empty = sql.SQL(
                    "UPDATE {} SET geom = ST_SetSRID(ST_GeomFromText({}), 4326) "
                    "WHERE id = (SELECT min(id) FROM {})"
                ).format(table, sql.Literal(f"{layer.geometry_type} EMPTY".upper()), table)
                with pytest.raises(psycopg.errors.CheckViolation) as info, conn.transaction():
                    conn.execute(statement_empty)
            else:
                with pytest.raises(psycopg.errors.CheckViolation) as info, conn.transaction():
                    conn.execute(statement, {"wkt": wkt})
            # ST_IsValid (the table's own CHECK) may refuse a polygon at 1e308 first
            refused_by = {"geometry_in_bounds", f"{layer.table}_geom_check"}
            assert info.value.diag.constraint_name in refused_by, name
