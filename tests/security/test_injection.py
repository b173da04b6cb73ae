"""A catalogue of injection attempts against the public API: each ends in a 4xx, and no
answer carries SQL, a stack trace, a database error or a restricted value."""

from __future__ import annotations

import json
from urllib.parse import unquote

import httpx
import psycopg
import pytest

from cadastre.pins import is_fictional_pin
from geoportal.db.database import Database

ITEMS = "/collections/agri_plots/items"
LEAKS = (
    "Traceback",
    "psycopg",
    "SELECT ",
    "syntax error at",
    "pg_catalog",
    "restricted.",
    "geoportal_public",
    "permission denied",
    'File "',
)

QUERY_ATTACKS = [
    # CQL2 text
    {"filter": "1=1; DROP TABLE agriculture.agri_plots"},
    {"filter": "plot_code = 'x' OR 1=1 --"},
    {"filter": "plot_code = 'x'' OR ''1''=''1'"},
    {"filter": "operator_pin IS NOT NULL"},
    {"filter": "holder_pin LIKE '2%'"},
    {"filter": "pg_sleep(5) = 1"},
    {"filter": "plot_code = (SELECT operator_pin FROM restricted.agri_plot_operators LIMIT 1)"},
    {"filter": "S_INTERSECTS(geom, POINT(0 0))); SELECT 1; --"},
    {"filter": '"plot_code""; DROP TABLE x; --" = \'a\''},
    {"filter": "area_ha > 'abc'"},
    {"filter": "plot_code = 'x'", "filter-lang": "sql"},
    {"filter": "plot_code = 'x'", "filter-crs": "EPSG:4326'; DROP TABLE x; --"},
    # CQL2 JSON
    {
        "filter-lang": "cql2-json",
        "filter": '{"op": "=", "args": [{"property": "operator_pin"}, "1"]}',
    },
    {
        "filter-lang": "cql2-json",
        "filter": '{"op": "=", "args": [{"property": "plot_code\\"; DROP TABLE x; --"}, 1]}',
    },
    {"filter-lang": "cql2-json", "filter": '{"op": "pg_sleep", "args": [5]}'},
    # sortby
    {"sortby": "plot_code;DROP TABLE x"},
    {"sortby": "(SELECT 1)"},
    {"sortby": "operator_pin"},
    {"sortby": "-holder_name"},
    # properties
    {"properties": "plot_code);--"},
    {"properties": "operator_name"},
    {"properties": "id,operator_pin"},
    # bbox, crs, datetime, limit
    {"bbox": "1,2,3"},
    {"bbox": "a,b,c,d"},
    {"bbox": "0,0,1,1);DROP TABLE x;--"},
    {"bbox": "74,42,75,43", "bbox-crs": "EPSG:4326' OR '1'='1"},
    {"crs": "http://www.opengis.net/def/crs/EPSG/0/4326'; DROP TABLE x; --"},
    {"datetime": "2020-01-01'; DROP TABLE x; --"},
    {"limit": "1; DROP TABLE x"},
    {"offset": "-1"},
]

PATH_ATTACKS = [
    f"{ITEMS}/1'",
    f"{ITEMS}/1%20OR%201=1",
    f"{ITEMS}/99999999999999999999999999",
    f"{ITEMS}/..%2F..%2Fetc%2Fpasswd",
    "/collections/agri_plots;DROP/items",
    "/collections/agri_plot_operators/items",
    "/collections/cadastre_right_holders/items/1",
    "/collections/restricted.agri_plot_operators/items",
]


PERSONAL_SOURCES = (
    ("operator_name", "operator_pin", "operator_phone", "restricted.agri_plot_operators"),
    ("holder_name", "holder_pin", "NULL", "restricted.cadastre_right_holders"),
)
"""The restricted tables and their personal columns (name, PIN, phone)."""


@pytest.fixture(scope="module")
def personal_values(loaded: Database) -> list[str]:
    """Real personal values from every restricted table: names, PINs and phones of the
    first 20 persons of each. The leak checks below look for them in every answer, so the
    fixture refuses to be empty or to hold anything but personal values."""
    values: list[str] = []
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for name, pin, phone, table in PERSONAL_SOURCES:
            rows = conn.execute(
                f"SELECT {name}, {pin}, {phone} FROM {table} "
                f"WHERE {name} IS NOT NULL AND {pin} IS NOT NULL ORDER BY feature_id LIMIT 20"
            ).fetchall()
            assert len(rows) == 20, f"{table} holds too few persons for the leak checks"
            for person_name, person_pin, person_phone in rows:
                assert len(person_name.split()) >= 2, person_name  # surname and given name
                assert is_fictional_pin(person_pin), person_pin  # a PIN of the fictional range
                values += [person_name, person_pin]
                values += [person_phone] if person_phone else []
    assert len(values) >= 80
    return values


def _said(response: httpx.Response) -> str:
    """What the server said, less the problem's `instance` (the path the client sent)."""
    text = response.text
    if response.headers.get("content-type") == "application/problem+json":
        body = response.json()
        sent = unquote(response.request.url.raw_path.decode().split("?")[0])
        assert body.pop("instance", None) in (None, sent)
        text = json.dumps(body, ensure_ascii=False)
    return text


def assert_clean(response: httpx.Response, personal: list[str]) -> None:
    assert 400 <= response.status_code < 500, (response.request.url, response.text[:300])
    said = _said(response)
    for leak in LEAKS:
        assert leak not in said, (leak, said[:300])
    for value in personal:
        assert value not in response.text


@pytest.mark.parametrize("params", QUERY_ATTACKS, ids=lambda p: ",".join(p)[:40])
def test_query_parameter_attacks(
    client: httpx.Client, params: dict[str, str], personal_values: list[str]
) -> None:
    response = client.get(ITEMS, params={"f": "json", **params})
    assert_clean(response, personal_values)


@pytest.mark.parametrize("path", PATH_ATTACKS)
def test_path_attacks(client: httpx.Client, path: str, personal_values: list[str]) -> None:
    assert_clean(client.get(path, params={"f": "json"}), personal_values)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "' OR 1=1 --"},
        {"X-API-Key": "gpk_' OR '1'='1_" + "A" * 40},
        {"Authorization": "Bearer ' OR '1'='1"},
        {"Authorization": "Bearer gpk_000000000000_" + "'" * 43},
        {"Authorization": "Basic Jyk7IERST1AgVEFCTEUgeDsgLS0="},
    ],
)
def test_credential_header_attacks_are_401(
    client: httpx.Client, headers: dict[str, str], personal_values: list[str]
) -> None:
    response = client.get(ITEMS, params={"f": "json", "limit": 1}, headers=headers)
    assert response.status_code == 401
    assert_clean(response, personal_values)


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept-Language": "' OR 1=1; DROP TABLE x; --"},
        {"Accept": "application/json'; DROP TABLE x"},
        {"X-Request-Id": "'; DROP TABLE x; --"},
        {"X-Forwarded-For": "' OR 1=1"},
    ],
)
def test_other_header_attacks_are_ignored(
    client: httpx.Client, headers: dict[str, str], personal_values: list[str]
) -> None:
    response = client.get(ITEMS, params={"f": "json", "limit": 1}, headers=headers)
    assert response.status_code < 500
    for value in personal_values:
        assert value not in response.text
    assert "Traceback" not in response.text and "psycopg" not in response.text


def test_tables_are_intact_after_the_attacks(loaded: Database) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        plots = conn.execute("SELECT count(*) FROM agriculture.agri_plots").fetchone()
    assert plots is not None and plots[0] > 1000
