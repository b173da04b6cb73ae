"""Hostile input (issue 15): bounded logs, early 400s, impossible geometry refused by the
database and never able to break tiles for everyone."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from geoportal.db.database import Database
from geoportal.server.logs import MESSAGE_LIMIT, TRACEBACK_LIMIT

ROADS = "/collections/roads/items"
CQL_JSON = {"Content-Type": "application/query-cql-json"}
BOUND = MESSAGE_LIMIT + 100


def admin(api_keys: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": api_keys["chief.admin"]}


@pytest.fixture(scope="module")
def road(client: httpx.Client) -> dict[str, Any]:
    """A valid road (properties of a stored one, at a chainage of its road no segment has:
    the natural key road_number + km_start is unique), near Bishkek."""
    stored = client.get(f"{ROADS}/1", params={"f": "json"}).json()
    line = [[74.60, 42.87], [74.61, 42.88]]
    return {
        "type": "Feature",
        "properties": {**stored["properties"], "km_start": 1999.0},
        "geometry": {"type": "LineString", "coordinates": line},
    }


def test_a_segment_repeating_a_number_and_chainage_is_409(
    client: httpx.Client, api_keys: dict[str, str], loaded: Database
) -> None:
    stored = client.get(f"{ROADS}/1", params={"f": "json"}).json()
    body = {"type": "Feature", "properties": stored["properties"], "geometry": stored["geometry"]}
    before = roads_count(loaded)
    response = client.post(ROADS, json=body, headers=admin(api_keys))
    assert response.status_code == 409, response.text
    assert roads_count(loaded) == before


def roads_count(db: Database) -> int:
    with psycopg.connect(db.owner_conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM roads.roads").fetchone()
    assert row is not None
    return int(row[0])


def assert_bounded(records: list[logging.LogRecord]) -> None:
    for record in records:
        assert len(record.getMessage()) <= BOUND, record.name
        assert "\n" not in record.getMessage()
        assert len(record.exc_text or "") <= TRACEBACK_LIMIT + 200


# -- logs cannot be used against the server ---------------------------------------------
@pytest.mark.parametrize(
    ("method", "url", "headers", "body"),
    [
        ("POST", ROADS, CQL_JSON, b"x" * 1_000_000),
        ("POST", ROADS, CQL_JSON, b"x" * 60_000),  # under the size limit: pygeoapi logs it
        ("POST", ROADS, CQL_JSON, b"[" * 100_000),
        ("GET", f"{ROADS}?filter=" + "x" * 40_000, {}, b""),
        ("GET", f"{ROADS}?f=html&filter=" + "x" * 20_000, {}, b""),
        ("GET", f"{ROADS}?filter=name%3D%27" + "%0A%1B" * 5_000 + "%27", {}, b""),
        ("GET", "/collections/roads/tiles/WebMercatorQuad/6/23/45?filter=" + "x" * 40_000, {}, b""),
    ],
    ids=[
        "cql-json-1mb",
        "cql-json-60kb",
        "cql-json-deep",
        "filter-40k",
        "filter-html",
        "filter-ctl",
        "tile-filter",
    ],
)
def test_hostile_filters_are_400_and_logs_stay_bounded(
    client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.request(method, url, headers=headers, content=body, timeout=20)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert len(response.content) < 10_000  # the answer does not echo the input
    assert_bounded(caplog.records)


def test_log_records_are_bounded_and_escaped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("pygeoapi.test").error("bad filter: %s", "\x1b[31m\n" + "y" * 500_000)
    try:
        raise ValueError("z" * 100_000)
    except ValueError:
        logging.getLogger("pygeoapi.test").exception("failed")
    message = caplog.records[-2].getMessage()
    assert message.startswith("bad filter: \\x1b[31m\\n")
    assert message.endswith("more characters]")
    assert_bounded(caplog.records)


def test_server_logs_with_plain_handlers() -> None:
    from rich.logging import RichHandler

    from geoportal.server.logs import plain_handlers, server_log_config

    root = logging.getLogger()
    rich = RichHandler()
    root.addHandler(rich)
    try:
        plain_handlers()
        assert rich not in root.handlers
        assert not any(isinstance(h, RichHandler) for h in root.handlers)
    finally:
        root.removeHandler(rich)
    config = server_log_config("info")
    assert "rich" not in json.dumps(config)


# -- impossible geometry ----------------------------------------------------------------
def _geometry_cases() -> Iterator[Any]:
    yield pytest.param([[74.6, 42.87], [74.6, 91.0]], "outside the range", id="lat-91")
    yield pytest.param([[74.6, 42.87], [1e308, 42.9]], "outside the range", id="lon-1e308")
    yield pytest.param([[2.35, 48.85], [2.36, 48.86]], "outside the country", id="paris")
    yield pytest.param([], "nested arrays", id="empty")
    yield pytest.param([[None, 43.16], [74.6, 42.9]], "not a number", id="null")
    yield pytest.param([["74.6", "43"], [74.6, 42.9]], "not a number", id="string")
    yield pytest.param([[74.6, 42.87, 800], [74.6, 42.9, 810]], "2-D", id="z")
    yield pytest.param([[74.6, 42.87]], "nested arrays", id="one-position")


@pytest.mark.parametrize(("coordinates", "reason"), _geometry_cases())
def test_impossible_geometry_is_400_naming_the_field(
    client: httpx.Client,
    api_keys: dict[str, str],
    loaded: Database,
    road: dict[str, Any],
    coordinates: Any,
    reason: str,
) -> None:
    before = roads_count(loaded)
    body = {**road, "geometry": {"type": "LineString", "coordinates": coordinates}}
    response = client.post(ROADS, json=body, headers=admin(api_keys))
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["field"] == "geometry"
    assert reason in problem["detail"]
    assert "ST_" not in problem["detail"] and "PostGIS" not in problem["detail"]
    assert roads_count(loaded) == before


def test_impossible_geometry_in_a_replace_is_400(
    client: httpx.Client, api_keys: dict[str, str], road: dict[str, Any]
) -> None:
    body = {**road, "geometry": {"type": "LineString", "coordinates": [[74, 42], [74, 95]]}}
    response = client.put(f"{ROADS}/1", json=body, headers=admin(api_keys))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "geometry"


def test_deeply_nested_body_is_400(client: httpx.Client, api_keys: dict[str, str]) -> None:
    response = client.post(
        ROADS,
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={**admin(api_keys), "Content-Type": "application/geo+json"},
    )
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_nul_in_a_property_is_reported_against_it(
    client: httpx.Client, api_keys: dict[str, str], road: dict[str, Any]
) -> None:
    body = {**road, "properties": {**road["properties"], "name": "Road\x00name"}}
    response = client.post(ROADS, json=body, headers=admin(api_keys))
    assert response.status_code == 400
    assert response.json()["field"] == "name"


@pytest.mark.parametrize(
    "url",
    [
        f"{ROADS}?bbox=NaN,NaN,NaN,NaN",
        f"{ROADS}?f=json&bbox=-inf,40,inf,43",
        f"{ROADS}?f=html&bbox=74,nan,75,43",
        "/collections/roads/tiles/WebMercatorQuad/6/23/45?bbox=nan,0,1,1",
        "/downloads/pmtiles?layers=roads&bbox=NaN,NaN,NaN,NaN",
    ],
)
def test_non_finite_bbox_is_400(client: httpx.Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400, response.text[:300]
    assert "bbox" in response.json()["detail"]


# -- one bad row cannot break the map ---------------------------------------------------
@pytest.fixture
def bad_road(loaded: Database) -> Iterator[int]:
    """A road reaching latitude 91, forced in by the owner with the check disabled."""
    with psycopg.connect(loaded.owner_conninfo, autocommit=True) as conn:
        conn.execute("ALTER TABLE roads.roads DISABLE TRIGGER geometry_ins")
        try:
            row = conn.execute(
                "INSERT INTO roads.roads (road_number, name, road_class, surface, width_m, "
                "lanes, iri_m_per_km, condition, aadt, last_survey, oblast, rayon, length_km, "
                "geom) SELECT road_number || '-bad', name, road_class, surface, width_m, lanes, "
                "iri_m_per_km, condition, aadt, last_survey, oblast, rayon, length_km, "
                "ST_Multi(ST_GeomFromText('LINESTRING(74.6 42.87, 74.7 91)', 4326)) "
                "FROM roads.roads ORDER BY id LIMIT 1 RETURNING id"
            ).fetchone()
        finally:
            conn.execute("ALTER TABLE roads.roads ENABLE TRIGGER geometry_ins")
        assert row is not None
        try:
            yield int(row[0])
        finally:
            conn.execute("DELETE FROM roads.roads WHERE id = %s", [row[0]])


@pytest.mark.parametrize(
    "url",
    [
        "/collections/roads/tiles/WebMercatorQuad/6/23/45",
        "/collections/roads/tiles/WebMercatorQuad/5/11/22",
        "/tiles/WebMercatorQuad/5/11/22",
        "/tiles/WebMercatorQuad/6/23/45",
        "/downloads/pmtiles?layers=roads&oblast=Chuy&minzoom=5&maxzoom=6",
    ],
)
def test_tiles_skip_a_bad_row_forced_in(client: httpx.Client, bad_road: int, url: str) -> None:
    response = client.get(url, timeout=60)
    assert response.status_code in (200, 204), response.text[:300]


def test_the_skipped_rows_are_found_to_be_logged(loaded: Database, bad_road: int) -> None:
    from layers.catalogue import load_catalogue
    from tiles.query import untransformable_rows_sql

    with psycopg.connect(loaded.public_conninfo) as conn:
        rows = conn.execute(untransformable_rows_sql(load_catalogue().get("roads"))).fetchall()
    assert [r[0] for r in rows] == [bad_road]


def test_the_database_check_is_back_after_the_forced_row(loaded: Database) -> None:
    with (
        psycopg.connect(loaded.owner_conninfo) as conn,
        pytest.raises(psycopg.errors.CheckViolation),
    ):
        conn.execute(
            "UPDATE roads.roads SET geom = ST_Multi(ST_GeomFromText("
            "'LINESTRING(74.6 42.87, 74.7 91)', 4326)) WHERE id = 1"
        )
