"""The items fast path answers exactly as pygeoapi would, or leaves the request to pygeoapi.

Every request below goes once through the whole app and once through a second instance of
the whole app whose fast path is switched off (pygeoapi answers, behind the same middleware:
CORS, security headers, ETags), on the same database: status, the headers clients read
(Link and ETag included) and the JSON body (without its timestamp) must be the same. Besides
the listed cases, schemathesis generates items and item requests from our OpenAPI document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import hypothesis
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from starlette.routing import Mount

from geoportal.db.database import Database
from geoportal.pygeoapi_.features_fast import FeaturesFastPath
from geoportal.server.app import create_app
from geoportal.settings import Settings
from tests.security.test_schemathesis import offline
from tests.support.server import free_port, serve_asgi

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
BISHKEK_BBOX = "74.45,42.80,74.75,42.95"

CASES: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("/collections/agri_plots/items", {}, {}),
    ("/collections/agri_plots/items", {"f": "json", "limit": "5", "offset": "3"}, {}),
    ("/collections/agri_plots/items", {"limit": "3", "offset": "600"}, {}),  # keyset
    ("/collections/settlements/items", {"bbox": BISHKEK_BBOX, "limit": "50"}, {}),
    (
        "/collections/settlements/items",
        {"bbox": "42.80,74.45,42.95,74.75", "bbox-crs": f"{EPSG}4326"},
        {},
    ),
    ("/collections/settlements/items", {"crs": f"{EPSG}3857", "limit": "2"}, {}),
    (
        "/collections/settlements/items",
        {"properties": "name_en,population", "sortby": "-population", "limit": "4"},
        {},
    ),
    ("/collections/settlements/items", {"skipGeometry": "true", "q": "Osh"}, {}),
    (
        "/collections/settlements/items",
        {"filter": "population > 50000", "limit": "3", "filter-lang": "cql2-text"},
        {},
    ),
    ("/collections/settlements/items", {"capital": "true"}, {}),
    ("/collections/settlements/items", {"resulttype": "hits"}, {}),
    ("/collections/settlements/items", {"lang": "ru", "limit": "1"}, {}),
    ("/collections/settlements/items", {"limit": "1"}, {"Accept-Language": "ky"}),
    ("/collections/settlements/items", {"limit": "1"}, {"Accept": "application/geo+json"}),
    (
        "/collections/roads/items",
        {"sortby": "road_number,-width_m", "limit": "5", "unknown": "ignored"},
        {},
    ),
    (
        "/collections/irrigation_readings/items",
        {"datetime": "2024-06-01T00:00:00Z/2024-06-30T23:59:59Z", "limit": "5"},
        {},
    ),
    ("/collections/settlements/items/1", {}, {}),
    ("/collections/settlements/items/2", {"crs": f"{EPSG}3857", "lang": "ky"}, {}),
    ("/collections/irrigation_readings/items/3", {}, {}),
    ("/collections/agri_plots/items/7", {}, {}),  # editable: its ETag in the same statement
    ("/collections/agri_plots/items/8", {"crs": f"{EPSG}32643"}, {}),
    ("/collections/settlements/items/999999999", {}, {}),
    ("/collections/settlements/items/not-a-number", {}, {}),
    # refused by pygeoapi's validators: the fast path must leave them to it
    ("/collections/settlements/items", {"limit": "many"}, {}),
    ("/collections/settlements/items", {"offset": "-1"}, {}),
    ("/collections/settlements/items", {"offset": ""}, {}),
    ("/collections/settlements/items", {"bbox": "1,2,3"}, {}),
    ("/collections/settlements/items", {"sortby": "--population"}, {}),
    ("/collections/settlements/items", {"properties": "name_en,nope"}, {}),
    ("/collections/settlements/items", {"filter": "population >>> 1"}, {}),
    ("/collections/settlements/items", {"filter": "nope = 1"}, {}),
    ("/collections/settlements/items", {"filter-lang": "sql"}, {}),
    ("/collections/settlements/items", {"crs": "EPSG:999999"}, {}),
    ("/collections/settlements/items", {"bbox-crs": f"{EPSG}4326"}, {}),
    ("/collections/settlements/items", {"datetime": "yesterday"}, {}),
    ("/collections/settlements/items/1", {"crs": "nope"}, {}),
    ("/collections/nope/items", {}, {}),
    # other formats are pygeoapi's
    ("/collections/settlements/items", {"f": "jsonld", "limit": "1"}, {}),
    ("/collections/settlements/items", {"limit": "1"}, {"Accept": "text/html"}),
]


@dataclass
class Apps:
    ours: httpx.Client  # the whole app: the fast path in front of pygeoapi
    pygeoapi: httpx.Client  # the whole app with its fast path off: pygeoapi answers
    fast: FeaturesFastPath


def fast_path_of(app) -> FeaturesFastPath:
    [fast] = [
        inner
        for route in app.routes
        if isinstance(route, Mount)
        for inner in (route.app, getattr(route.app, "app", None))
        if isinstance(inner, FeaturesFastPath)
    ]  # maybe inside a CORS middleware
    return fast


@pytest.fixture(scope="module")
def apps(loaded: Database, settings: Settings) -> Iterator[Apps]:
    app, reference = create_app(settings), create_app(settings)

    async def to_pygeoapi(*args: object) -> None:
        return None  # "pygeoapi should answer"

    fast_path_of(reference).respond = to_pygeoapi  # type: ignore[method-assign]
    ours_port, pygeoapi_port = free_port(), free_port()
    with (
        serve_asgi(app, "127.0.0.1", ours_port),
        serve_asgi(reference, "127.0.0.1", pygeoapi_port),
        httpx.Client(base_url=f"http://127.0.0.1:{ours_port}", timeout=60) as ours,
        httpx.Client(base_url=f"http://127.0.0.1:{pygeoapi_port}", timeout=60) as pygeoapi,
    ):
        yield Apps(ours, pygeoapi, fast_path_of(app))


def comparable(response) -> tuple:
    content_type = response.headers.get("content-type", "")
    body: object = response.text
    if "json" in content_type:
        try:
            body = response.json()
        except ValueError:  # pygeoapi's JSON-LD of some requests is not JSON: compare text
            body = response.text
        if isinstance(body, dict):
            body.pop("timeStamp", None)
            body.pop("requestId", None)  # one per request
    elif "html" in content_type:
        body = len(response.text) > 0
    headers = {
        k: response.headers.get(k)
        for k in (
            "content-type",
            "content-language",
            "content-crs",
            "access-control-allow-origin",
            "link",
            "etag",
        )
    }
    return response.status_code, headers, body


@pytest.mark.parametrize(
    ("path", "params", "headers"),
    CASES,
    ids=[f"{p.split('/collections/')[1]}?{q}" for p, q, _ in CASES],
)
def test_same_answer_as_pygeoapi(apps: Apps, path: str, params: dict, headers: dict) -> None:
    headers = {"Origin": "https://example.org", **headers}  # a browser elsewhere (CORS)
    expected = comparable(apps.pygeoapi.get(path, params=params, headers=headers))
    got = comparable(apps.ours.get(path, params=params, headers=headers))
    assert got == expected
    assert got[0] < 500


def test_fast_path_answers_items_and_item(apps: Apps, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path, not pygeoapi, answers a JSON page and a feature (with pygeoapi's app
    replaced by one that always fails, they still succeed), and leaves HTML to pygeoapi."""

    async def unavailable(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    monkeypatch.setattr(apps.fast, "app", unavailable)
    page = apps.ours.get("/collections/agri_plots/items", params={"limit": 2})
    assert page.status_code == 200 and page.json()["numberReturned"] == 2
    feature_id = page.json()["features"][0]["id"]
    item = apps.ours.get(f"/collections/agri_plots/items/{feature_id}")
    assert item.status_code == 200 and item.json()["id"] == feature_id
    assert apps.ours.get("/collections/agri_plots/items/0").status_code == 404
    html = apps.ours.get("/collections/agri_plots/items", params={"f": "html"})
    assert html.status_code == 599


def test_next_pages_run_the_remembered_statement_in_the_event_loop(
    apps: Apps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages after the first of a filtered request: the statement remembered for the
    request's shape, run on the asyncio pool (no worker thread), pygeoapi's answer."""
    path = "/collections/agri_plots/items"
    params = {"filter": "soil_type = 'serozem'", "filter-lang": "cql2-text", "limit": "5"}
    assert apps.ours.get(path, params=params).status_code == 200  # composed, counted
    threaded: list[object] = []
    in_thread = apps.fast.items
    monkeypatch.setattr(apps.fast, "items", lambda *args: threaded.append(args) or in_thread(*args))
    for offset in ("5", "10"):
        page = {**params, "offset": offset}
        got = comparable(apps.ours.get(path, params=page))
        assert got == comparable(apps.pygeoapi.get(path, params=page))
        assert got[0] == 200 and got[2]["numberReturned"] == 5  # numberMatched if counted
    assert threaded == []


@pytest.fixture
def latitude_91(loaded: Database) -> Iterator[int]:
    """One settlement moved to latitude 91 at SQL level (no CRS can project it), forced in by
    the owner with the database's geometry rule (migration 0010) off for that statement."""
    with psycopg.connect(loaded.admin_conninfo(), autocommit=True) as conn:
        fid, geom = conn.execute(
            "SELECT id, geom FROM base.settlements ORDER BY id LIMIT 1"
        ).fetchone()
        conn.execute("ALTER TABLE base.settlements DISABLE TRIGGER geometry_upd")
        try:
            conn.execute(
                "UPDATE base.settlements SET geom = ST_Point(74, 91, 4326) WHERE id = %s", [fid]
            )
        finally:
            conn.execute("ALTER TABLE base.settlements ENABLE TRIGGER geometry_upd")
        try:
            yield fid
        finally:
            conn.execute("UPDATE base.settlements SET geom = %s WHERE id = %s", [geom, fid])


@pytest.mark.parametrize("crs", ["3857", "32643"])
def test_a_row_no_crs_can_express_never_fails_a_page(apps: Apps, latitude_91: int, crs: str):
    """Defence in depth: the page and the feature answer 200, that row's geometry null."""
    params = {"crs": f"{EPSG}{crs}", "limit": "3"}
    for client in (apps.ours, apps.pygeoapi):
        page = client.get("/collections/settlements/items", params=params)
        assert page.status_code == 200, page.text
        features = {f["id"]: f for f in page.json()["features"]}
        assert features[latitude_91]["geometry"] is None
        assert all(f["geometry"] for i, f in features.items() if i != latitude_91)
        item = client.get(f"/collections/settlements/items/{latitude_91}", params=params)
        assert item.status_code == 200, item.text
        assert item.json()["geometry"] is None


GENERATED = re.compile(
    r"^/collections/(settlements|agri_plots|irrigation_readings)/items(/\{[^}]+\})?$"
)
EXAMPLES = 12


def test_generated_requests_get_the_same_answer(apps: Apps) -> None:
    """schemathesis draws items and item requests from our OpenAPI document (parameters of
    every kind, valid and not); both paths must answer them alike."""
    document = apps.ours.get("/openapi", params={"f": "json"}).json()
    schema = schemathesis.openapi.from_dict(offline(document))
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if op.method.upper() == "GET" and GENERATED.match(op.path)
    ]
    assert len(operations) == 6
    differences: list[str] = []
    compared = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            nonlocal compared
            request = {"params": case.query or None, "headers": {"Origin": "https://example.org"}}
            expected = comparable(apps.pygeoapi.get(case.formatted_path, **request))
            got = comparable(apps.ours.get(case.formatted_path, **request))
            compared += 1
            if got != expected or got[0] >= 500:
                differences.append(f"{case.formatted_path}?{case.query}: {got} != {expected}")

        check()
    assert compared >= len(operations) * 2
    assert differences == []
