"""Introspection of a table and the JSON schema of its columns."""

import pytest

from features.crs import crs_info
from features.errors import TableNotFoundError
from features.table import feature_table, json_schema, read_table_info

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.mark.parametrize(
    ("typname", "category", "schema"),
    [
        ("int8", "N", {"type": "integer"}),
        ("numeric", "N", {"type": "number"}),
        ("bool", "B", {"type": "boolean"}),
        ("jsonb", "U", {"type": "object"}),
        ("_text", "A", {"type": "array"}),
        ("text", "S", {"type": "string"}),
        ("date", "D", {"type": "string", "format": "date"}),
        ("timestamptz", "D", {"type": "string", "format": "date-time"}),
        ("uuid", "U", {"type": "string", "format": "uuid"}),
    ],
)
def test_json_schema(typname, category, schema):
    assert json_schema(typname, category) == schema


def test_columns_srid_and_fields(engine_conn, make_table):
    metric = make_table("metric", storage_crs="http://www.opengis.net/def/crs/EPSG/0/7694")
    assert metric.info.columns["geom"][0] == "geometry"
    assert metric.srid == 7694 and metric.geom_field == "geom"
    assert dict(metric.fields) == {"id": {"type": "integer"}, "name": {"type": "string"}}


def test_exposed_properties_keep_the_id(make_table):
    points = make_table("points", properties=["name"])
    assert list(points.fields) == ["id", "name"]


def test_unknown_table_names_it(engine_conn):
    with pytest.raises(TableNotFoundError, match="provtest.nope: table not found"):
        read_table_info(engine_conn, "provtest", "nope", "geom")


def test_unknown_configured_column_names_it(engine_conn):
    info = read_table_info(engine_conn, "provtest", "points", "geom")
    with pytest.raises(TableNotFoundError, match="time_field when not found"):
        feature_table(
            info,
            schema="provtest",
            table="points",
            layer_id="x",
            id_field="id",
            geom_field="geom",
            storage=crs_info(CRS84),
            time_field="when",
        )


def test_search_fields_are_only_existing_columns(make_table):
    assert make_table("points", search_fields=["name", "nope"]).search_fields == ("name",)
