"""PostGISFeatureProvider against the provtest tables (see conftest.py)."""

import pytest
from pygeoapi.crs import create_crs_transform_spec
from pygeoapi.provider.base import (
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)
from pygeofilter.parsers.cql2_text import parse

from geoportal.providers import features

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def ids(result):
    return [f["id"] for f in result["features"]]


def spec(provider_def_crs, target):
    """CrsTransformSpec as pygeoapi builds it for ?crs=target."""
    return create_crs_transform_spec(
        {"storage_crs": provider_def_crs, "crs": [CRS84, target]}, target
    )


@pytest.fixture(scope="module")
def points(make_provider):
    return make_provider("points", search_fields=["name", "category"])


def test_fields_are_introspected(make_provider):
    assert make_provider("events").fields == {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "day": {"type": "string", "format": "date"},
        "at": {"type": "string", "format": "date-time"},
    }
    restricted = make_provider("points", properties=["name"])
    assert list(restricted.fields) == ["id", "name"]
    assert list(restricted.query(limit=1)["features"][0]["properties"]) == ["name"]


@pytest.mark.parametrize(
    "table, extra, message",
    [
        ("no_such_table", {}, "provtest.no_such_table: table"),
        ("points", {"id_field": "nope"}, "id_field nope not found"),
        ("points", {"time_field": "nope"}, "time_field nope not found"),
    ],
)
def test_bad_config_is_a_clear_error(make_provider, table, extra, message):
    with pytest.raises(ProviderQueryError) as err:
        make_provider(table, **extra)
    assert message in err.value.message


def test_one_pool_per_conninfo(make_provider, points):
    assert make_provider("polygons").pool is points.pool
    assert sum(1 for key in features._POOLS if key[1] == points.conninfo) == 1


def test_first_page_and_counter(points):
    result = points.query(limit=3)
    assert result["type"] == "FeatureCollection"
    assert ids(result) == [1, 2, 3]
    assert result["numberReturned"] == 3 and result["numberMatched"] == 25
    feature = result["features"][0]
    assert feature == {
        "type": "Feature",
        "id": 1,
        "geometry": {"type": "Point", "coordinates": [70.2, 40.1]},
        "properties": {"name": "pt-01", "category": "b", "value": 1.5, "num": 1, "flag": False},
    }


def test_number_matched_comes_from_layer_stats(make_provider):
    stale = make_provider("points", layer_id="provtest_points_stale")
    assert stale.query(limit=1)["numberMatched"] == 999
    assert stale.query(resulttype="hits")["numberMatched"] == 999
    # filtered requests are counted exactly
    assert stale.query(properties=[("category", "a")])["numberMatched"] == 8


@pytest.mark.parametrize(
    "offset, limit, expected",
    [(0, 10, list(range(1, 11))), (20, 10, [21, 22, 23, 24, 25]), (25, 10, []), (7, 2, [8, 9])],
)
def test_paging(points, offset, limit, expected):
    result = points.query(offset=offset, limit=limit, skip_geometry=True)
    assert ids(result) == expected
    assert result["numberReturned"] == len(expected)


@pytest.mark.parametrize(
    "sortby, expected",
    [
        ([{"property": "category", "order": "+"}], [3, 6, 9]),
        ([{"property": "category", "order": "-"}], [2, 5, 8]),
        ([{"property": "num", "order": "-"}, {"property": "id", "order": "-"}], [24, 19, 14]),
    ],
)
def test_sortby_with_id_tie_breaker(points, sortby, expected):
    assert ids(points.query(limit=3, sortby=sortby)) == expected


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"bbox": [70.5, 40.2, 71.1, 40.6]}, [3, 4, 5]),
        ({"properties": [("num", "0"), ("flag", "false")]}, [5, 15, 25]),
        ({"properties": [("category", "c"), ("value", "3")]}, [2]),
        ({"q": "PT-0"}, list(range(1, 10))),
        ({"q": "100%"}, [25]),
        ({"q": "%_p"}, [25]),
        ({"q": "pt-1 a"}, [12, 15, 18]),
        ({"filterq": parse("value > 30 AND flag = true")}, [22, 24]),
        (
            {"filterq": parse("name LIKE 'pt-2%'"), "q": "2", "bbox": [74, 40, 76, 45]},
            [20, 21, 22, 23],
        ),
    ],
)
def test_filters(points, kwargs, expected):
    result = points.query(limit=100, skip_geometry=True, **kwargs)
    assert ids(result) == expected
    assert result["numberMatched"] == len(expected)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"properties": [("num", "abc")]}, "invalid input syntax for type"),
        ({"filterq": parse("nosuch = 1")}, "unknown property 'nosuch'"),
        ({"filterq": parse("name > 3")}, "operator does not exist"),
        ({"filterq": parse("value / 0 > 1")}, "division by zero"),
        ({"sortby": [{"property": "geom", "order": "+"}]}, "property 'geom'"),
    ],
)
def test_bad_input_is_400_without_sql(points, kwargs, message):
    with pytest.raises(ProviderInvalidQueryError) as err:
        points.query(**kwargs)
    assert message in err.value.message
    assert "SELECT" not in err.value.message


@pytest.mark.parametrize(
    "field, datetime_, expected",
    [
        ("day", "2020-03-20", [2]),
        ("day", "2020-03-20T10:00:00Z", [2]),
        ("day", "2020-01-01/2020-06-21", [1, 2, 3]),
        ("day", "../2020-03-20", [1, 2]),
        ("day", "2020-06-22/..", [4]),
        ("at", "2020-03-20T12:30:00Z", [2]),
        ("at", "2020-06-21", [3]),
        ("at", "2020-06-21T00:00:00Z/2021-01-01T00:00:00Z", [3, 4]),
        ("at", "2020-01-01T00:00:01Z/2021-01-01", [2, 3, 4]),
        ("at", "../..", [1, 2, 3, 4, 5]),
    ],
)
def test_datetime(make_provider, field, datetime_, expected):
    provider = make_provider("events", time_field=field)
    assert ids(provider.query(datetime_=datetime_)) == expected


@pytest.mark.parametrize("datetime_", ["yesterday", "2020-13-01", "2021-01-01/2020-01-01", "a/b/c"])
def test_invalid_datetime(make_provider, datetime_):
    with pytest.raises(ProviderInvalidQueryError):
        make_provider("events", time_field="at").query(datetime_=datetime_)


def test_datetime_ignored_without_time_field(make_provider):
    assert len(make_provider("events").query(datetime_="2020-01-01")["features"]) == 5


@pytest.mark.parametrize(
    "storage, target, coords",
    [
        (CRS84, None, [74.6, 42.87]),
        (CRS84, EPSG + "4326", [42.87, 74.6]),
        (CRS84, EPSG + "3857", [8304434.013, 5292205.408]),
        (CRS84, EPSG + "7694", [3306809.389, 4763024.862]),
        (EPSG + "7694", CRS84, [74.6, 42.87]),
        (EPSG + "7694", None, [3306809.389, 4763024.862]),
        (EPSG + "7694", EPSG + "32643", [467327.989, 4746456.273]),
    ],
)
def test_crs_transform_in_sql(make_provider, storage, target, coords):
    provider = make_provider("metric", storage_crs=storage)
    crs_spec = spec(storage, target) if target else None
    feature = provider.get(1, crs_transform_spec=crs_spec)
    assert feature["geometry"]["coordinates"] == pytest.approx(coords, abs=1e-6)
    listed = provider.query(limit=1, crs_transform_spec=crs_spec)
    assert listed["features"][0]["geometry"] == feature["geometry"]


def test_metric_bbox_and_filter_in_storage_crs(make_provider):
    provider = make_provider("metric", storage_crs=EPSG + "7694")
    bbox = [3300000, 4750000, 3340000, 4770000]  # already in storage CRS
    assert ids(provider.query(bbox=bbox)) == [1, 3]
    assert ids(provider.query(filterq=parse("BBOX(geom, 75.2, 42.8, 75.4, 42.9)"))) == [2]


def test_select_properties_and_skip_geometry(points):
    feature = points.query(limit=1, select_properties=["value", "name"], skip_geometry=True)[
        "features"
    ][0]
    assert feature["geometry"] is None
    assert feature["properties"] == {"name": "pt-01", "value": 1.5}


def test_nulls(make_provider):
    result = make_provider("nullable").query()
    assert result["features"][1]["properties"] == {"label": None, "amount": None}
    assert result["features"][2]["geometry"] is None
    assert result["features"][0]["properties"]["amount"] == 10.5


def test_more_than_50_columns(make_provider):
    feature = make_provider("wide").get(1)
    assert len(feature["properties"]) == 60
    assert feature["properties"]["c59"] == 59


@pytest.mark.parametrize(
    "kwargs, matched",
    [
        ({}, None),  # no layer_stats row and more than 10000 rows
        ({"properties": [("k", "3")]}, 1200),
        ({"filterq": parse("id > 1000")}, None),
        ({"filterq": parse("id > 2000")}, 10000),
    ],
)
def test_bounded_count(make_provider, kwargs, matched):
    provider = make_provider("many")
    for resulttype in ("results", "hits"):
        result = provider.query(limit=5, resulttype=resulttype, **kwargs)
        assert result.get("numberMatched") == matched
        assert len(result["features"]) == (5 if resulttype == "results" else 0)


def test_count_disabled(make_provider):
    result = make_provider("polygons", count=False).query()
    assert "numberMatched" not in result and result["numberReturned"] == 4


def test_get(points):
    feature = points.get("7")
    assert feature["id"] == 7 and feature["properties"]["name"] == "pt-07"


@pytest.mark.parametrize("identifier", ["abc", "999", "1.5", "", "7 OR 1=1", " 7", "7_0", "9" * 30])
def test_get_missing_is_404(points, identifier):
    with pytest.raises(ProviderItemNotFoundError):
        points.get(identifier)


def test_statement_timeout_is_a_query_error(make_provider):
    provider = make_provider("points", options={"statement_timeout_ms": 100})
    assert provider.pool is not make_provider("points").pool
    with pytest.raises(ProviderQueryError) as err:
        with provider._connection() as conn:
            conn.execute("SELECT pg_sleep(1)")
    assert "statement timeout" in err.value.message


def test_unreachable_database_is_a_connection_error(provider_db):
    provider_def = {
        "type": "feature",
        "name": "x",
        "id_field": "id",
        "data": {"conninfo": "host=/nonexistent dbname=x connect_timeout=1", "table": "t"},
        "options": {"pool_timeout": 0.5},
    }
    try:
        with pytest.raises(ProviderConnectionError):
            features.PostGISFeatureProvider(provider_def)
    finally:
        features.close_pools(provider_def["data"]["conninfo"])  # stop its reconnection attempts


def test_a_closed_pool_is_replaced(make_provider):
    """A provider kept for the life of the process (the fast path keeps one per collection)
    survives close_pools(): its next query opens the process' new pool."""
    provider = make_provider("points")
    features.close_pools(provider.conninfo)
    assert provider.query(limit=1)["numberReturned"] == 1
    assert not provider.pool.closed
