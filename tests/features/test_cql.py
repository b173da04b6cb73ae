"""CQL2 -> PostGIS SQL translation (features.cql)."""

import datetime as dt

import psycopg
import pytest
from psycopg import sql
from pygeoapi.crs import modify_pygeofilter
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse

from features.cql import to_sql
from features.crs import crs_info
from features.errors import InvalidQueryError
from features.params import Params

FIELDS = {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "num": {"type": "integer"},
    "value": {"type": "number"},
    "day": {"type": "string", "format": "date"},
    "at": {"type": "string", "format": "date-time"},
}


def render(cql, srid=4326, fields=FIELDS):
    params = Params()
    fragment = to_sql(parse(cql), fields, "geom", srid, params)
    assert isinstance(fragment, sql.Composable)
    return fragment.as_string(None), params.values


@pytest.mark.parametrize(
    "cql, expected, values",
    [
        ("name = 'Chuy'", '"name" = %(p0)s', ["Chuy"]),
        ("num <> 3", '"num" <> %(p0)s', [3]),
        ("num < 3 AND value >= 1.5", '("num" < %(p0)s AND "value" >= %(p1)s)', [3, 1.5]),
        ("num <= 3 OR NOT (num > 10)", '("num" <= %(p0)s OR (NOT "num" > %(p1)s))', [3, 10]),
        ("name LIKE 'Ch%'", '"name" LIKE %(p0)s', ["Ch%"]),
        ("name NOT LIKE 'a_c'", '"name" NOT LIKE %(p0)s', ["a_c"]),
        ("CASEI(name) LIKE CASEI('ch%')", 'lower("name") LIKE lower(%(p0)s)', ["ch%"]),
        ("num BETWEEN 1 AND 5", '"num" BETWEEN %(p0)s AND %(p1)s', [1, 5]),
        ("num NOT IN (1, 2)", '"num" NOT IN (%(p0)s, %(p1)s)', [1, 2]),
        ("name IS NULL", '"name" IS NULL', []),
        ("name IS NOT NULL", '"name" IS NOT NULL', []),
        ("num * 2 + 1 > value", '(("num" * %(p0)s) + %(p1)s) > "value"', [2, 1]),
        ("day > DATE('2020-01-01')", '"day" > %(p0)s', [dt.date(2020, 1, 1)]),
        ("day T_BEFORE DATE('2020-01-01')", '"day" < %(p0)s', [dt.date(2020, 1, 1)]),
        (
            "S_WITHIN(geom, POLYGON((0 0, 1 0, 1 1, 0 0)))",
            'ST_Within("geom", ST_GeomFromWKB(%(p0)s, %(p1)s))',
            [bytes, 4326],
        ),
        ("INCLUDE", "TRUE", []),
    ],
)
def test_render(cql, expected, values):
    text, params = render(cql)
    assert text == expected
    assert [bytes if isinstance(v, bytes) else v for v in params.values()] == values


def test_values_are_never_in_sql_text(provider_db):
    node = parse_json({"op": "=", "args": [{"property": "name"}, "x'; DROP TABLE t; --"]})
    params = Params()
    assert to_sql(node, FIELDS, "geom", 4326, params).as_string(None) == '"name" = %(p0)s'
    assert params.values == {"p0": "x'; DROP TABLE t; --"}
    assert select_ids(provider_db, "points", node, POINT_FIELDS) == []


@pytest.mark.parametrize(
    "cql, message",
    [
        ("nosuch = 1", "unknown property 'nosuch'"),
        ("S_INTERSECTS(name, POINT(1 2))", "'name' is not a geometry"),
        ("name T_BEFORE DATE('2020-01-01')", "'name' is not a date"),
        ("day T_MEETS DATE('2020-01-01')", "T_MEETS is not supported"),
        ("ACCENTI(name) = 'x'", "unsupported filter function 'accenti'"),
        ("RELATE(geom, POINT(1 2), 'XYZ')", "DE-9IM"),
        ("BBOX(geom, 1, 2, 3, 4, 'EPSG:999999')", "unsupported CRS 'EPSG:999999'"),
    ],
)
def test_rejected(cql, message):
    with pytest.raises(InvalidQueryError) as err:
        render(cql)
    assert message in str(err.value)


def test_unknown_property_lists_valid_ones():
    with pytest.raises(InvalidQueryError) as err:
        render("nosuch = 1")
    assert "valid properties: at, day, id, name, num, value" in str(err.value)


def test_bbox_and_foreign_crs_geometry_are_transformed_to_storage():
    text, params = render("BBOX(geom, 74, 42, 75, 43)", srid=7694)
    assert text.count("ST_Transform(ST_Segmentize(ST_MakeEnvelope") == 2
    assert params["p4"] == 4326 and params["p6"] == 7694
    text, params = render("S_INTERSECTS(geom, SRID=3857;POINT(1 2))")
    assert "ST_Transform(ST_GeomFromWKB" in text
    assert list(params.values())[1:] == [3857, 4326]


def test_lat_lon_filter_geometry_is_flipped():
    """modify_pygeofilter tags geometries with the storage CRS axis order."""
    node = modify_pygeofilter(
        parse("S_INTERSECTS(geometry, POINT(74 42))"),
        filter_crs_uri="http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        storage_crs_uri="http://www.opengis.net/def/crs/EPSG/0/4326",
        geometry_column_name="geom",
    )
    params = Params()
    text = to_sql(node, FIELDS, "geom", 4326, params).as_string(None)
    assert text == ('ST_Intersects("geom", ST_FlipCoordinates(ST_GeomFromWKB(%(p0)s, %(p1)s)))')


@pytest.mark.parametrize(
    "uri, srid, flip, digits",
    [
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, False, 7),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, 7),
        ("http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False, 3),
        ("http://www.opengis.net/def/crs/EPSG/0/7694", 7694, False, 3),
        ("urn:ogc:def:crs:EPSG::32643", 32643, False, 3),
        ("EPSG:7692", 7692, False, 3),
    ],
)
def test_crs_info(uri, srid, flip, digits):
    assert crs_info(uri) == (srid, flip, digits)


# -- against PostGIS: translated filters select the expected rows ------------

POINT_FIELDS = {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "category": {"type": "string"},
    "value": {"type": "number"},
    "num": {"type": "integer"},
    "flag": {"type": "boolean"},
}
EVENT_FIELDS = {
    "id": {"type": "integer"},
    "title": {"type": "string"},
    "day": {"type": "string", "format": "date"},
    "at": {"type": "string", "format": "date-time"},
}


def select_ids(db, table, node, fields, srid=4326):
    params = Params()
    where = to_sql(node, fields, "geom", srid, params)
    query = sql.SQL("SELECT id FROM {} WHERE {} ORDER BY id").format(
        sql.Identifier(db["schema"], table), where
    )
    with psycopg.connect(db["conninfo"], autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return [r[0] for r in conn.execute(query, params.values)]


@pytest.mark.parametrize(
    "cql, ids",
    [
        ("category = 'a' AND num = 0", [15]),
        ("value BETWEEN 3 AND 6 AND flag = true", [2, 4]),
        ("name LIKE '100\\%%'", [25]),
        ("name LIKE '100_pure'", [24]),
        ("CASEI(name) = casei('PT-07')", [7]),
        ("num * 10 + id = 44", [4]),
        ("id IN (3, 4, 99) AND NOT flag = true", [3]),
        ("S_INTERSECTS(geom, POLYGON((70 40, 71 40, 71 40.55, 70 40.55, 70 40)))", [1, 2, 3, 4, 5]),
        ("BBOX(geom, 74.7, 42.3, 75.1, 42.6)", [24, 25]),
        ("S_DISJOINT(geom, POLYGON((70 40, 74 40, 74 44, 70 44, 70 40))) AND id < 22", [21]),
    ],
)
def test_points_filter(provider_db, cql, ids):
    assert select_ids(provider_db, "points", parse(cql), POINT_FIELDS) == ids


@pytest.mark.parametrize(
    "cql, ids",
    [
        ("S_CONTAINS(geom, POINT(74.2 42.2))", [1]),
        ("S_WITHIN(geom, POLYGON((73 41, 77 41, 77 45, 73 45, 73 41)))", [1, 3]),
        ("S_OVERLAPS(geom, POLYGON((74.5 42.5, 76 42.5, 76 44, 74.5 44, 74.5 42.5)))", [1]),
        ("S_TOUCHES(geom, POLYGON((75 42, 76 42, 76 42.4, 75 42.4, 75 42)))", [1]),
        ("S_CROSSES(geom, LINESTRING(69 40.5, 70.5 40.5))", [2]),
        ("S_EQUALS(geom, MULTIPOLYGON(((80 40, 81 40, 81 41, 80 41, 80 40))))", [4]),
        ("population IS NULL OR name_ru LIKE 'Ч%'", [1, 4]),
    ],
)
def test_polygons_filter(provider_db, cql, ids):
    fields = {
        "id": {"type": "integer"},
        "name_en": {"type": "string"},
        "name_ru": {"type": "string"},
        "population": {"type": "integer"},
    }
    assert select_ids(provider_db, "polygons", parse(cql), fields) == ids


@pytest.mark.parametrize(
    "cql, ids",
    [
        ("day T_BEFORE DATE('2020-03-20')", [1]),
        ("day T_AFTER DATE('2020-06-21')", [4]),
        ("day T_EQUALS DATE('2020-03-20')", [2]),
        ("at T_DURING INTERVAL('2020-01-01T00:00:00Z', '2020-12-31T23:59:59Z')", [2, 3]),
        ("at T_INTERSECTS INTERVAL('2020-01-01T00:00:00Z', '2021-01-01T00:00:00Z')", [1, 2, 3, 4]),
        ("at > TIMESTAMP('2020-06-21T23:59:58Z')", [3, 4]),
        ("day >= DATE('2020-03-20') AND at < TIMESTAMP('2020-06-21T00:00:00Z')", [2]),
    ],
)
def test_temporal_filter(provider_db, cql, ids):
    assert select_ids(provider_db, "events", parse(cql), EVENT_FIELDS) == ids


def test_time_disjoint(provider_db):
    """T_DISJOINT has no CQL2 text syntax in pygeofilter; build the AST."""
    interval = values.Interval(
        dt.datetime(2020, 1, 2, tzinfo=dt.UTC), dt.datetime(2020, 12, 31, tzinfo=dt.UTC)
    )
    node = ast.TimeDisjoint(ast.Attribute("at"), interval)
    assert select_ids(provider_db, "events", node, EVENT_FIELDS) == [1, 4]


def test_cql2_json_and_metric_storage(provider_db):
    """CQL2 JSON in CRS84 against a table stored in EPSG:7694 (metres)."""
    node = parse_json(
        {
            "op": "s_intersects",
            "args": [
                {"property": "geometry"},
                {
                    "type": "Polygon",
                    "coordinates": [
                        [[74.5, 42.8], [74.9, 42.8], [74.9, 42.95], [74.5, 42.95], [74.5, 42.8]]
                    ],
                },
            ],
        }
    )
    node = modify_pygeofilter(
        node,
        filter_crs_uri="http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        storage_crs_uri="http://www.opengis.net/def/crs/EPSG/0/7694",
        geometry_column_name="geom",
    )
    fields = {"id": {"type": "integer"}, "name": {"type": "string"}}
    assert select_ids(provider_db, "metric", node, fields, 7694) == [1, 3]
    bbox = parse("BBOX(geom, 75.2, 42.8, 75.4, 42.9)")
    assert select_ids(provider_db, "metric", bbox, fields, 7694) == [2]
