"""Two server processes on different ports standing for two hosts on one database: an edit
through one purges the tile cache of the other (the primary's NOTIFY reaches every host)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import morecantile
import psycopg

from geoportal.db.database import Database
from geoportal.security import keys
from tests.conftest import make_settings
from tests.support.server import start_server

USER = "ops.sports"
POINT = (74.6, 42.87)  # Bishkek


def poll(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def api_key(db: Database) -> str:
    with psycopg.connect(db.owner_conninfo) as conn:
        if not conn.execute("SELECT 1 FROM auth.users WHERE name = %s", [USER]).fetchone():
            keys.add_user(conn, USER, "agency", ["sports"], [])
        return keys.create_key(conn, USER, note="two hosts test")


def test_an_edit_through_one_host_purges_the_tiles_of_the_other(
    loaded: Database, tmp_path: Path
) -> None:
    headers = {"X-API-Key": api_key(loaded)}
    tile = morecantile.tms.get("WebMercatorQuad").tile(*POINT, 12)
    path = f"/collections/sports_facilities/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    hosts = [make_settings(tmp_path / name, database_url=loaded.admin_conninfo()) for name in "ab"]
    with (
        start_server(hosts[0]) as a,
        start_server(hosts[1]) as b,
        a.client() as client_a,
        b.client() as client_b,
    ):
        assert [client_b.get(path).headers["x-tile-cache"] for _ in range(2)][1] == "memory"
        stored = client_a.get("/collections/sports_facilities/items/1", params={"f": "json"})
        body = {
            "type": "Feature",
            "properties": stored.json()["properties"],
            "geometry": {"type": "Point", "coordinates": list(POINT)},
        }
        created = client_a.post("/collections/sports_facilities/items", json=body, headers=headers)
        assert created.status_code == 201, created.text
        try:
            assert poll(lambda: client_b.get(path).headers["x-tile-cache"] == "database")
        finally:
            deleted = client_a.delete(
                created.headers["location"],
                headers={**headers, "If-Match": created.headers["etag"]},
            )
            assert deleted.status_code == 204
