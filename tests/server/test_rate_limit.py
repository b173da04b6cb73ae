"""The rate limit of work with the shipped defaults, on a server of two worker processes:
real clients (GDAL downloading the largest public layer three times, a person zooming the
viewer from z6 to z16 with five layers on) are never refused, while a loop of expensive
anonymous queries, failed authentications and a key over its quota get 429 + Retry-After.
Each client uses its own loopback address (127.0.0.x), so each is its own payer."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pyogrio
import pytest

from geoportal.db.database import Database
from geoportal.security import keys
from geoportal.security.settings import SecuritySettings
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, missing_browser_message, open_page
from tests.support.server import LiveServer, spawn_server

pytestmark = pytest.mark.slow
IDLE = """() => { const v = window.geoportalViewer; const m = v && v.map;
  return Boolean(m && m.loaded() && m.areTilesLoaded() && !m.isMoving()); }"""
STILL = """() => { const m = window.geoportalViewer.map; return !m.isMoving(); }"""
BISHKEK = (42.8746, 74.5698)
VIEWER_LAYERS = "oblasts,roads,buildings,agri_plots,settlements"


@pytest.fixture(scope="module")
def shipped(loaded: Database, settings) -> Iterator[LiveServer]:
    """A second server on the test cluster with every shipped default (security included),
    in two worker processes."""
    assert SecuritySettings().rate_limit_per_minute > 0  # the shipped limit is on
    with spawn_server(settings, workers=2) as server:
        yield server


def client_from(server: LiveServer, address: str) -> httpx.Client:
    """An HTTP client whose requests come from `address` (a loopback address)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, timeout=60, transport=transport)


def largest_public_layer(database: Database) -> tuple[str, int]:
    """The public layer with the most features in the loaded demo, and its count."""
    with psycopg.connect(database.public_conninfo) as conn:
        row = conn.execute(
            "SELECT layer_id, feature_count FROM catalog.layer_stats "
            "ORDER BY feature_count DESC LIMIT 1"
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_gdal_downloads_the_largest_public_layer_three_times(
    shipped: LiveServer, loaded: Database, tmp_path: Path
) -> None:
    layer, count = largest_public_layer(loaded)
    for attempt in range(3):
        target = tmp_path / f"{layer}-{attempt}.gpkg"
        result = subprocess.run(
            ["ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{shipped.url}", layer],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0 and "429" not in result.stderr, result.stderr[-2000:]
        assert pyogrio.read_info(target)["features"] == count
    spent_s = _shared_level_s(loaded, "ip:127.0.0.1")
    print(f"\nwork spent by GDAL after three downloads (shared level): {spent_s:.1f} s")
    assert spent_s < SecuritySettings().rate_limit_burst  # still room left


def _shared_level_s(database: Database, bucket: str) -> float:
    """The level of a payer in the shared table, after the processes' next flush."""
    with psycopg.connect(database.owner_conninfo, autocommit=True) as conn:
        first = conn.execute("SELECT clock_timestamp()").fetchone()
        deadline = time.monotonic() + 10
        row = None
        while time.monotonic() < deadline:  # until a flush after `first` (about 1 s)
            row = conn.execute(
                "SELECT level_ms - rate_ms_per_s * extract(epoch FROM clock_timestamp() "
                "- updated_at), updated_at > %s FROM auth.rate_spending WHERE bucket = %s",
                [first[0] if first else None, bucket],
            ).fetchone()
            if row is None or row[1]:
                break
    return max(0.0, float(row[0])) / 1000 if row else 0.0


def _wait_idle(page: Any) -> None:
    page.wait_for_function(IDLE, timeout=60_000)


def test_a_viewer_session_zooming_into_bishkek_is_never_refused(shipped: LiveServer) -> None:
    problem = missing_browser_message()
    if problem:
        pytest.fail(f"the viewer session needs headless Chromium: {problem}")
    from playwright.sync_api import sync_playwright

    statuses: list[tuple[int, str]] = []
    lat, lon = BISHKEK
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            with open_page(browser, shipped.url) as record:
                page = record.page
                page.on("response", lambda r: statuses.append((r.status, r.url)))
                page.goto(f"{shipped.url}/map#map=6/{lat}/{lon}/0/0&layers={VIEWER_LAYERS}")
                page.wait_for_selector("body[data-map-ready=true]", timeout=30_000)
                _wait_idle(page)
                # one zoom step at a time, as a person scrolls in: the next step as soon as the
                # map stands still, before every tile of the last one is there
                for zoom in range(7, 17):
                    page.evaluate(
                        "([z, c]) => window.geoportalViewer.map.easeTo("
                        "{zoom: z, center: c, duration: 400})",
                        [zoom, [lon, lat]],
                    )
                    page.wait_for_function(STILL, timeout=30_000)
                _wait_idle(page)  # and looks at the street until everything is drawn
        finally:
            browser.close()
    tiles = [url for _, url in statuses if "/tiles/" in url]
    assert len(tiles) > 100  # a real session: tiles of every zoom were loaded
    refused = [(status, url) for status, url in statuses if status == 429]
    assert refused == []


def test_failed_authentications_are_limited_per_address(shipped: LiveServer) -> None:
    with client_from(shipped, "127.0.0.9") as client:
        statuses = []
        for _ in range(40):
            answer = client.get("/collections", headers={"X-API-Key": "gpk_bad"})
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                break
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_key_gets_the_quota_an_administrator_set(shipped: LiveServer, loaded: Database) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        if not conn.execute("SELECT 1 FROM auth.users WHERE name = 'quota.small'").fetchone():
            keys.add_user(conn, "quota.small", "agency", ["roads"], [])
        keys.set_user_quota(conn, "quota.small", 0.6)  # 10 ms a second, 300 ms at once
        key = keys.create_key(conn, "quota.small", note="tests")
    refused = _loop_until_refused(shipped, "127.0.0.11", {"X-API-Key": key}, threads=1, limit_s=30)
    assert refused is not None, "a key over its quota was never refused"
    assert int(refused.headers["retry-after"]) >= 1
    with client_from(shipped, "127.0.0.11") as client:  # the address itself is not spent
        assert client.get("/collections/roads/items", params={"limit": 1}).status_code == 200


def _expensive(layer: str) -> dict[str, str]:
    return {"filter": "id > 0", "sortby": "-id", "limit": "10000"}


def _loop_until_refused(
    server: LiveServer,
    address: str,
    headers: dict[str, str],
    threads: int,
    limit_s: float,
    layer: str = "roads",
) -> httpx.Response | None:
    """Send expensive queries from `address` on `threads` threads until one is refused
    (returned) or `limit_s` passed (None)."""
    deadline = time.monotonic() + limit_s

    def loop() -> httpx.Response | None:
        with client_from(server, address) as client:
            while time.monotonic() < deadline:
                answer = client.get(
                    f"/collections/{layer}/items", params=_expensive(layer), headers=headers
                )
                if answer.status_code == 429:
                    return answer
                assert answer.status_code == 200, answer.text[:300]
        return None

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda _: loop(), range(threads)))
    return next((r for r in results if r is not None), None)


def test_a_loop_of_expensive_anonymous_queries_is_refused(
    shipped: LiveServer, loaded: Database
) -> None:
    layer, _ = largest_public_layer(loaded)
    refused = _loop_until_refused(shipped, "127.0.0.7", {}, threads=4, limit_s=60, layer=layer)
    assert refused is not None, "60 s of expensive queries were never refused"
    assert int(refused.headers["retry-after"]) >= 1
    body = refused.json()
    assert body["status"] == 429 and body["code"] == "TooManyRequests"
    with client_from(shipped, "127.0.0.8") as other:  # another address is not affected
        assert other.get(f"/collections/{layer}/items", params={"limit": 1}).status_code == 200
