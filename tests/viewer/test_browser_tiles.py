"""The map never goes blank: a fast zoom from the country to a street with every layer on,
against a server with the rate limiter as shipped, draws every tile in view and is never
refused (composite tiles per theme, tiles kept a minute by the browser, retries after
Retry-After). Headless Chromium with the network blocked, screenshots in var/test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

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
