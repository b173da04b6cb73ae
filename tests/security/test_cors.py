"""CORS decided in one place (the security middleware) on every kind of route: a restricted
origin list (a second server process with GEOPORTAL_SECURITY__CORS_ALLOW_ORIGINS) answers
only the allowed origin, with `Vary: Origin`; the default (`*`) answers everyone."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from geoportal.db.database import Database
from tests.support.server import LiveServer, spawn_server

ALLOWED = "https://geoportal.gov.kg"
EVIL = "https://evil.example"
ROUTES = {  # kind of route: path
    "landing": "/",
    "collections (pygeoapi)": "/collections?f=json",
    "items (fast path)": "/collections/roads/items?limit=1",
    "item (fast path)": "/collections/oblasts/items/1",
    "items filter (pygeoapi)": "/collections/roads/items?filter=id%20%3E%200&limit=1",
    "tile": "/collections/roads/tiles/WebMercatorQuad/5/11/22",
    "tileset": "/collections/roads/tiles/WebMercatorQuad",
    "basemap tile": "/tiles/WebMercatorQuad/5/11/22",
    "search": "/search?q=Bishkek",
    "viewer config": "/map/config.json",
    "static": "/map/static/app.js",
    "download": "/downloads/pmtiles?layers=oblasts&oblast=Talas&maxzoom=5",
    "error 404": "/collections/nowhere/items",
    "error 400": "/collections/roads/items?bbox=a,b",
    "tile error": "/collections/roads/tiles/WebMercatorQuad/99/0/0",
}


@pytest.fixture(scope="module")
def restricted(loaded: Database, settings) -> Iterator[LiveServer]:
    with spawn_server(
        settings,
        GEOPORTAL_SECURITY__CORS_ALLOW_ORIGINS=f'["{ALLOWED}"]',
        GEOPORTAL_SECURITY__RATE_LIMIT_PER_MINUTE="0",
    ) as server:
        yield server


def _get(server: LiveServer, path: str, origin: str) -> httpx.Response:
    with server.client() as client:
        answer = client.get(path, headers={"Origin": origin, "Accept": "application/json"})
    assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
    return answer


@pytest.mark.parametrize("path", ROUTES.values(), ids=ROUTES.keys())
def test_a_restricted_origin_list_is_honoured(restricted: LiveServer, path: str) -> None:
    evil = _get(restricted, path, EVIL)
    assert "access-control-allow-origin" not in evil.headers
    allowed = _get(restricted, path, ALLOWED)
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in allowed.headers["vary"]


@pytest.mark.parametrize("path", ROUTES.values(), ids=ROUTES.keys())
def test_the_default_allows_every_origin(live_server: LiveServer, path: str) -> None:
    answer = _get(live_server, path, EVIL)
    assert answer.headers.get_list("access-control-allow-origin") == ["*"]


def test_preflight_follows_the_list(restricted: LiveServer) -> None:
    request = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key",
    }
    with restricted.client() as client:
        evil = client.options("/collections/roads/items", headers={"Origin": EVIL, **request})
        allowed = client.options("/collections/roads/items", headers={"Origin": ALLOWED, **request})
    assert evil.status_code == 204 and "access-control-allow-origin" not in evil.headers
    assert "access-control-allow-methods" not in evil.headers
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in allowed.headers["access-control-allow-methods"]
