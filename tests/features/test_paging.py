"""Pages, counts and by-id statements of the engine, on the provtest tables."""

import json
import logging

import psycopg
import pytest

from features.crs import crs_info
from features.errors import InvalidQueryError, ItemNotFoundError
from features.items import item_id, item_text
from features.pages import FeatureQuery
from features.paging import query_page
from features.query import item_query

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def page(conn, table, **kwargs):
    result = query_page(conn, table, FeatureQuery(**kwargs))
    return json.loads(result.text), result


@pytest.fixture(scope="module")
def broken(provider_db, make_table):
    """Four points, one with a latitude of 91 forced in (no CRS can project it)."""
    with psycopg.connect(provider_db["conninfo"], autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE provtest.broken (id bigint PRIMARY KEY, name text, "
            "geom geometry(Point, 4326))"
        )
        conn.execute(
            "INSERT INTO provtest.broken SELECT i, 'b' || i, ST_Point(74, 40 + i, 4326) "
            "FROM generate_series(1, 4) i"
        )
        conn.execute("UPDATE provtest.broken SET geom = ST_Point(74, 91, 4326) WHERE id = 3")
    return make_table("broken")


@pytest.mark.parametrize("crs", ["3857", "32643"])
def test_an_untransformable_row_does_not_fail_the_page(engine_conn, broken, crs, caplog):
    with caplog.at_level(logging.WARNING, logger="features.rendering"):
        features, result = page(engine_conn, broken, target=crs_info(EPSG + crs))
    assert [f["id"] for f in features] == [1, 2, 3, 4]
    assert features[2]["geometry"] is None
    assert all(f["geometry"]["type"] == "Point" for i, f in enumerate(features) if i != 2)
    assert result.matched == 4
    assert "ids [3]" in caplog.text and f"EPSG:{crs}" in caplog.text


def test_storage_crs_pages_are_untouched_by_the_bad_row(engine_conn, broken):
    features, _ = page(engine_conn, broken)
    assert features[2]["geometry"]["coordinates"] == [74, 91]


def test_page_and_matched(engine_conn, make_table):
    points = make_table("points")
    features, result = page(engine_conn, points, limit=5, offset=22)
    assert [f["id"] for f in features] == [23, 24, 25]
    assert (result.returned, result.matched, result.last_id) == (3, 25, 25)


def test_count_off_gives_no_number_matched(engine_conn, make_table):
    result = query_page(engine_conn, make_table("points"), FeatureQuery(limit=2), count=False)
    assert result.returned == 2 and result.matched is None


def test_unknown_sort_key_is_refused_before_sql(engine_conn, make_table):
    with pytest.raises(InvalidQueryError, match="cannot sort by unknown property 'nope'"):
        page(engine_conn, make_table("points"), sortby=[{"property": "nope", "order": "+"}])


@pytest.mark.parametrize("identifier", ["x1", "1" * 19, ""])
def test_impossible_ids_are_not_found(make_table, identifier):
    with pytest.raises(ItemNotFoundError, match="not found"):
        item_id(make_table("points"), identifier)


def test_item_statement(engine_conn, make_table):
    points = make_table("points")
    query, values = item_query(points, None)
    row = engine_conn.execute(query, {**values, "p0": item_id(points, "7")}).fetchone()
    assert json.loads(item_text("7", row))["properties"]["name"] == "pt-07"
    row = engine_conn.execute(query, {**values, "p0": 999}).fetchone()
    with pytest.raises(ItemNotFoundError, match="item 999 not found"):
        item_text("999", row)
