"""The features read path uses the pools the app's lifespan opened (`geoportal.db.pools`):
the fast path's asyncio pool and, through the providers' registry, pygeoapi's providers'
blocking pool; no provider builds a pool of its own in a server."""

from __future__ import annotations

import httpx

from geoportal.db.database import Database
from geoportal.providers import features
from geoportal.server.app import create_app
from geoportal.settings import Settings
from tests.pygeoapi_.test_features_fast import fast_path_of
from tests.support.server import free_port, serve_asgi


def test_the_read_path_uses_the_lifespans_pools(loaded: Database, settings: Settings) -> None:
    own_pools = set(features._POOLS)
    app = create_app(settings)
    pools = app.state.pools
    assert pools.get("features") is None  # nothing opened before the lifespan
    port = free_port()
    with (
        serve_asgi(app, "127.0.0.1", port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
    ):
        blocking, asyncio_pool = pools.blocking("features-blocking"), pools["features"]
        page = client.get("/collections/roads/items", params={"limit": "2", "f": "json"})
        item = client.get("/collections/roads/items/1", params={"f": "json"})
        html = client.get("/collections/roads/items", params={"limit": "1", "f": "html"})
        assert [page.status_code, item.status_code, html.status_code] == [200, 200, 200]
        provider = fast_path_of(app).collection("roads").provider
        assert provider.pool is blocking
        assert features.get_pool(Database(settings).read_conninfo) is blocking
        assert blocking.get_stats()["requests_num"] >= 2  # the fast page and pygeoapi's
        assert asyncio_pool.get_stats()["requests_num"] >= 1  # the feature by id
    assert set(features._POOLS) == own_pools  # no pool made on first use
    assert blocking.closed and asyncio_pool.closed and pools.get("features") is None
