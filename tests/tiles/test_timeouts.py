"""Tile queries never outlive their use: a statement timeout, and cancellation when the
client goes away."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import psycopg

from geoportal.db.database import Database
from geoportal.settings import Settings
from layers.catalogue import Catalogue
from tests.tiles.conftest import TileServerHandle, serve_tiles
from tests.tiles.support import BISHKEK, tile_path

SLOW_TILE = tile_path("/collections/tt_slow/tiles", 8, *BISHKEK)  # 10 rows x 0.5 s
ACTIVE_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'geoportal-tiles'"
    " AND state = 'active' AND query LIKE '%tt_slow%'"
)


def test_statement_timeout_is_a_503(
    settings: Settings, tile_catalogue: Catalogue, tmp_path: Path
) -> None:
    with (
        serve_tiles(settings, tile_catalogue, tmp_path, statement_timeout_ms=200) as server,
        server.client() as http,
    ):
        started = time.monotonic()
        response = http.get(SLOW_TILE)
        assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "took longer than 200 ms" in response.json()["detail"]


def test_a_client_that_leaves_cancels_its_query(
    tile_server: TileServerHandle, base_data: Database
) -> None:
    outcome: list[BaseException] = []

    def fetch() -> None:
        with httpx.Client(base_url=tile_server.url, timeout=1.0) as http:
            try:
                http.get(SLOW_TILE)
            except httpx.ReadTimeout as exc:
                outcome.append(exc)

    client = threading.Thread(target=fetch)
    with psycopg.connect(base_data.admin_conninfo(), autocommit=True) as conn:

        def active() -> int:
            row = conn.execute(ACTIVE_SQL).fetchone()
            return int(row[0]) if row else 0

        client.start()
        deadline = time.monotonic() + 1
        while not active():
            assert time.monotonic() < deadline, "the tile query never started"
            time.sleep(0.02)
        client.join()  # the client gave up after 1 s
        left = time.monotonic()
        while active() and time.monotonic() - left < 4:
            time.sleep(0.02)
        assert not active()
    assert time.monotonic() - left < 1.5  # the query alone runs 5 s
    assert len(outcome) == 1  # the client did give up
