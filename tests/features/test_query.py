"""The SQL clauses: identifiers quoted, values bound, the same text for the same request."""

import datetime as dt

import pytest

from features.crs import crs_info
from features.datetimes import datetime_clause, parse_datetime
from features.errors import InvalidQueryError
from features.params import Params
from features.query import geometry_clause, order_by_clause, where_clause

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def text(conn, composable):
    return composable.as_string(conn)


def test_where_clause_binds_every_value(engine_conn, make_table):
    points = make_table("points", search_fields=["name"])
    params = Params()
    where = where_clause(
        points, params, bbox=[70, 40, 72, 41], properties=[("category", "a'; --")], q="pt 1"
    )
    sql_text = text(engine_conn, where)
    assert "a'; --" not in sql_text and "pt" not in sql_text
    assert '"geom" && ST_MakeEnvelope(' in sql_text
    assert '"category" = %(p5)s' in sql_text
    assert params.values["p5"] == "a'; --"
    assert sql_text.count('"name" ILIKE') == 2


def test_unfiltered_request_has_no_where(make_table):
    assert where_clause(make_table("points"), Params()) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bbox": [1, 2, 3]}, "bbox needs 4 or 6 numbers"),
        ({"properties": [("nope", "1")]}, "unknown property 'nope'"),
        ({"datetime_": "yesterday"}, "invalid datetime 'yesterday'"),
    ],
)
def test_bad_input_names_the_value(make_table, kwargs, message):
    with pytest.raises(InvalidQueryError, match=message):
        where_clause(make_table("points"), Params(), **kwargs)


def test_order_by_adds_the_id(engine_conn, make_table):
    clause = order_by_clause(make_table("points"), [{"property": "name", "order": "-"}], "p")
    assert text(engine_conn, clause) == '"p"."name" DESC, "p"."id" ASC'


def test_geometry_clause_transforms_and_flips(engine_conn, make_table):
    params = Params()
    clause = geometry_clause(make_table("points"), params, crs_info(EPSG + "4326"))
    assert text(engine_conn, clause).startswith(
        'COALESCE(ST_AsGeoJSON(ST_FlipCoordinates(p."geom")'
    )
    params = Params()
    clause = geometry_clause(make_table("points"), params, crs_info(EPSG + "3857"))
    assert "ST_Transform" in text(engine_conn, clause) and params.values["p0"] == 3857


@pytest.mark.parametrize(
    ("column_type", "value", "expected"),
    [
        ("date", "2020-01-01/2020-06-30", [dt.date(2020, 1, 1), dt.date(2020, 6, 30)]),
        (
            "timestamptz",
            "2020-01-01",
            [dt.datetime(2020, 1, 1, tzinfo=dt.UTC)] * 1 + [dt.datetime(2020, 1, 2, tzinfo=dt.UTC)],
        ),
        ("text", "../2020-01-01T00:00:00Z", [dt.datetime(2020, 1, 1, tzinfo=dt.UTC)]),
    ],
)
def test_datetime_clause(engine_conn, column_type, value, expected):
    params = Params()
    clause = datetime_clause(params, "at", column_type, value)
    assert list(params.values.values()) == expected
    assert ("CAST" in text(engine_conn, clause)) == (column_type == "text")


def test_open_interval_has_no_condition():
    assert datetime_clause(Params(), "at", "date", "../..") is None
    assert parse_datetime("../..") == (None, None)


def test_interval_ending_before_it_starts_is_refused():
    with pytest.raises(InvalidQueryError, match="start > end"):
        parse_datetime("2021-01-01/2020-01-01")
