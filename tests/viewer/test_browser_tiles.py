"""The map never goes blank: a fast zoom from the country to a street with every layer on,
against a server with the rate limiter as shipped, draws every tile in view and is never
refused (composite tiles per theme, tiles kept a minute by the browser, retries after
Retry-After). Headless Chromium with the network blocked, screenshots in var/test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from geoportal.db.database import Database
from geoportal.security.settings import SecuritySettings
from tests.conftest import make_settings
from tests.support.browser import open_page
from tests.support.server import LiveServer, start_server
from tests.viewer.test_browser import assert_clean, browser, wait_idle  # noqa: F401

pytestmark = pytest.mark.slow
BISHKEK = (74.6, 42.87)
ZOOM_REPLAY = """async () => { const m = window.geoportalViewer.map;
  for (let z = 7; z <= 16; z += 1) {
    await new Promise((done) => { m.once('zoomend', done); m.zoomTo(z, {duration: 250}); });
  } }"""
NOT_DRAWN = """() => Object.entries(window.geoportalViewer.map.style.tileManagers)
  .filter(([, manager]) => manager.used)
  .flatMap(([id, manager]) => manager._inViewTiles.getAllTiles()
    .filter((tile) => tile.state !== 'loaded')
    .map((tile) => `${id} ${tile.tileID.canonical.z}/${tile.tileID.canonical.y}/`
      + `${tile.tileID.canonical.x}: ${tile.state}`))"""


@pytest.fixture(scope="module")
def limited_server(
    loaded: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server as shipped (rate limiter on, default budgets), with a cold tile cache."""
    assert SecuritySettings().rate_limit_per_minute > 0
    settings = make_settings(
        tmp_path_factory.mktemp("limited"),
        database_url=loaded.admin_conninfo(),
        security=SecuritySettings(),
    )
    with start_server(settings) as server:
        yield server


def test_fast_zoom_with_every_layer_on_draws_every_tile(
    browser: object,  # noqa: F811 (the module fixture of test_browser.py)
    limited_server: LiveServer,
) -> None:
    with limited_server.client() as client:
        layers = [layer["id"] for layer in client.get("/map/config.json").json()["layers"]]
    assert len(layers) > 20
    lon, lat = BISHKEK
    with open_page(browser, limited_server.url) as record:
        statuses: list[tuple[int, str]] = []
        record.page.on("response", lambda r: statuses.append((r.status, r.url)))
        record.page.goto(
            f"{limited_server.url}/map#map=6/{lat}/{lon}/0/0&layers={','.join(layers)}"
        )
        record.page.wait_for_selector("body[data-map-ready=true]", timeout=30_000)
        record.page.evaluate(ZOOM_REPLAY)
        wait_idle(record)
        not_drawn = record.page.evaluate(NOT_DRAWN)
        refused = [(status, url) for status, url in statuses if status == 429]
        tiles = [url for status, url in statuses if "/tiles/WebMercatorQuad/" in url]
        record.screenshot("viewer-12-fast-zoom-every-layer")
        assert not_drawn == [], not_drawn
        assert refused == [], refused
        assert any("/WebMercatorQuad/16/" in url for url in tiles)
        assert record.page.is_hidden("#notice")
        assert_clean(record)


def test_a_refused_tile_is_asked_again_after_retry_after(
    browser: object,  # noqa: F811
    live_server: LiveServer,
) -> None:
    """Every basemap tile is refused twice (429, Retry-After: 1) before it is let through:
    the viewer says the server is busy, asks again and draws every tile."""
    refused: dict[str, int] = {}
    with open_page(browser, live_server.url) as record:

        def busy(route: Any) -> None:
            url = route.request.url
            if refused.get(url, 0) < 2:
                refused[url] = refused.get(url, 0) + 1
                route.fulfill(status=429, headers={"Retry-After": "1"}, body="busy")
            else:
                route.continue_()

        record.page.route("**/tiles/WebMercatorQuad/*/*/*", busy)
        record.page.goto(f"{live_server.url}/map#map=7/42.5/74.6/0/0&layers=country,oblasts")
        record.page.wait_for_selector("#notice:not([hidden])", timeout=30_000)
        assert "busy" in record.page.inner_text("#notice")
        record.screenshot("viewer-21-tiles-retrying")
        record.page.wait_for_selector("body[data-map-ready=true]", timeout=30_000)
        wait_idle(record)
        assert record.page.evaluate(NOT_DRAWN) == []
        assert refused and all(count == 2 for count in refused.values())
        record.page.wait_for_selector("#notice[hidden]", state="attached", timeout=10_000)
        # the 429s of the test's own stand-in are the only console errors
        assert all("429" in error for error in record.errors), record.errors
