"""Freshness: triggers publish the changed area; the listener of every server process drops
exactly the cached tiles it touches, so the next fetch shows the edit."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from geoportal.db.database import Database
from geoportal.settings import Settings
from layers.catalogue import Catalogue
from tests.tiles.conftest import TileServerHandle, serve_tiles
from tests.tiles.support import BISHKEK, OSH, features, tile_path
from tiles.changes import APPLICATION_NAME, parse_change

PARCEL_TILES = "/collections/tt_parcels/tiles"
MOVE_SQL = "UPDATE tiletest.tt_parcels SET geom = ST_Multi(ST_Translate(geom, %s, 0)) WHERE id = 1"


def latest_changes(conn: psycopg.Connection[Any], since: int) -> list[tuple[str, Any]]:
    return conn.execute(
        "SELECT table_name, boxes FROM catalog.tile_changes WHERE seq > %s ORDER BY seq", [since]
    ).fetchall()


def last_seq(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT coalesce(max(seq), 0) FROM catalog.tile_changes").fetchone()
    return int(row[0]) if row else 0


def wait_for(check: Any, seconds: float = 3.0) -> Any:
    """Poll `check()` until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"not true within {seconds} s"
            return result
        time.sleep(0.05)


def listener_pids(admin: psycopg.Connection[Any]) -> set[int]:
    """Backends of the tile change listeners (of every server process of the tests)."""
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APPLICATION_NAME]
    ).fetchall()
    return {int(row[0]) for row in rows}


def big_parcel_x(http: httpx.Client, path: str) -> tuple[float, str] | None:
    """Mean x (tile units) of the big parcel in a tile, and where the tile came from."""
    response = http.get(path)
    for feature in features(response, "tt_parcels"):
        if feature["properties"]["name"] == "big":
            ring = feature["geometry"]["coordinates"][0]
            return sum(p[0] for p in ring) / len(ring), response.headers["x-tile-cache"]
    return None


def test_an_update_publishes_old_and_new_boxes(owner: psycopg.Connection[Any]) -> None:
    since = last_seq(owner)
    owner.execute(MOVE_SQL, [0.5])
    owner.execute(MOVE_SQL, [-0.5])
    changes = latest_changes(owner, since)
    assert [name for name, _ in changes] == ["tiletest.tt_parcels"] * 2
    boxes = changes[0][1]
    assert len(boxes) == 2  # the old and the new version of the row
    assert boxes[0][0] == pytest.approx(74.55, abs=1e-6)
    assert boxes[1][0] == pytest.approx(75.05, abs=1e-6)


def test_a_bulk_statement_notifies_once(owner: psycopg.Connection[Any]) -> None:
    since = last_seq(owner)
    owner.execute("LISTEN geoportal_tiles")
    owner.execute(
        "INSERT INTO tiletest.tt_places (id, name, population, phone, geom) "
        "SELECT 1000 + i, 'bulk ' || i, i, NULL, "
        "ST_SetSRID(ST_MakePoint(70 + i * 0.001, 40), 4326) "
        "FROM generate_series(1, 500) AS i"
    )
    owner.execute("DELETE FROM tiletest.tt_places WHERE name LIKE 'bulk %'")
    notes = [parse_change(n.payload) for n in owner.notifies(timeout=1.0, stop_after=2)]
    assert [n.table for n in notes if n] == ["tt_places", "tt_places"]
    boxes = latest_changes(owner, since)[0][1]
    assert len(boxes) == 1 and boxes[0][0] == pytest.approx(70.001)  # one box around all
    skipped = last_seq(owner)
    with owner.transaction():
        owner.execute("SET LOCAL geoportal.tiles_notify = 'off'")
        owner.execute("UPDATE tiletest.tt_places SET population = population WHERE id = 1")
        owner.execute("SELECT catalog.tiles_publish_change('tiletest.tt_places', NULL)")
    assert [boxes for _, boxes in latest_changes(owner, skipped)] == [None]


def test_the_public_role_cannot_publish(tile_server: TileServerHandle) -> None:
    conninfo = tile_server.routes.server.conninfo
    with psycopg.connect(conninfo) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT catalog.tiles_publish_change('base.lakes', NULL)")


def test_an_edit_shows_in_the_next_fetch_and_spares_other_tiles(
    client: httpx.Client, owner: psycopg.Connection[Any]
) -> None:
    near = tile_path(PARCEL_TILES, 10, *BISHKEK)
    far = tile_path(PARCEL_TILES, 10, *OSH)
    before = big_parcel_x(client, near)
    assert before is not None and big_parcel_x(client, near)[1] == "memory"  # type: ignore[index]
    client.get(far)
    assert client.get(far).headers["x-tile-cache"] == "memory"
    try:
        owner.execute(MOVE_SQL, [0.02])  # about 190 m east: same tile, new position
        moved = wait_for(lambda: (r := big_parcel_x(client, near)) and r[0] > before[0] + 1 and r)
        assert moved[1] == "database"
        assert client.get(far).headers["x-tile-cache"] == "memory"  # untouched
    finally:
        owner.execute(MOVE_SQL, [-0.02])
    wait_for(lambda: (r := big_parcel_x(client, near)) and abs(r[0] - before[0]) < 0.01)


def test_every_process_sharing_a_disk_cache_is_told(
    settings: Settings, tile_catalogue: Catalogue, owner: psycopg.Connection[Any], tmp_path: Path
) -> None:
    path = tile_path(PARCEL_TILES, 9, *BISHKEK)
    with (
        serve_tiles(settings, tile_catalogue, tmp_path) as one,
        serve_tiles(settings, tile_catalogue, tmp_path) as two,
        one.client() as a,
        two.client() as b,
    ):
        first = big_parcel_x(a, path)
        assert first is not None and big_parcel_x(b, path)[1] == "disk"  # type: ignore[index]
        try:
            owner.execute(MOVE_SQL, [0.05])
            for http in (a, b):
                wait_for(lambda h=http: (r := big_parcel_x(h, path)) and r[0] > first[0] + 1)
        finally:
            owner.execute(MOVE_SQL, [-0.05])


def test_a_restarted_server_catches_up_on_missed_changes(
    settings: Settings, tile_catalogue: Catalogue, owner: psycopg.Connection[Any], tmp_path: Path
) -> None:
    path = tile_path(PARCEL_TILES, 9, *BISHKEK)
    with serve_tiles(settings, tile_catalogue, tmp_path) as server, server.client() as http:
        first = big_parcel_x(http, path)
        assert first is not None
    state = json.loads((tmp_path / "changes.json").read_text())
    assert state["seq"] >= 1
    try:
        owner.execute(MOVE_SQL, [0.05])  # nobody is listening now
        with serve_tiles(settings, tile_catalogue, tmp_path) as server, server.client() as http:
            after = big_parcel_x(http, path)
            assert after is not None and after[0] > first[0] + 1 and after[1] == "database"
    finally:
        owner.execute(MOVE_SQL, [-0.05])


def test_a_load_replacing_a_layer_invalidates_its_tiles(
    client: httpx.Client, owner: psycopg.Connection[Any]
) -> None:
    path = tile_path("/collections/tt_places/tiles", 12, 74.62, 42.9)
    names = {f["properties"]["name"] for f in features(client.get(path), "tt_places")}
    assert "place 6" in names
    rows = owner.execute(
        "SELECT id, name, population, phone, geom FROM tiletest.tt_places ORDER BY id"
    ).fetchall()
    try:
        with owner.transaction():  # what ingestion/load.py does: DELETE + COPY, one commit
            owner.execute("DELETE FROM tiletest.tt_places")
            with owner.cursor().copy(
                "COPY tiletest.tt_places (id, name, population, phone, geom) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row([row[0], f"renamed {row[0]}", *row[2:]])
        wait_for(
            lambda: (
                "renamed 6"
                in {f["properties"]["name"] for f in features(client.get(path), "tt_places")}
            )
        )
    finally:
        with owner.transaction():
            owner.execute("DELETE FROM tiletest.tt_places")
            with owner.cursor().copy(
                "COPY tiletest.tt_places (id, name, population, phone, geom) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)


def test_a_listener_that_lost_its_connection_catches_up(
    client: httpx.Client, owner: psycopg.Connection[Any], base_data: Database
) -> None:
    near = tile_path(PARCEL_TILES, 10, *BISHKEK)
    before = big_parcel_x(client, near)
    assert before is not None and big_parcel_x(client, near)[1] == "memory"  # type: ignore[index]
    with psycopg.connect(base_data.admin_conninfo(), autocommit=True) as admin:
        killed = listener_pids(admin)
        assert killed, "no tile change listener to cut off"
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", [list(killed)])
        try:
            owner.execute(MOVE_SQL, [0.02])  # while the listener reconnects
            wait_for(lambda: (r := big_parcel_x(client, near)) and r[0] > before[0] + 1)
            # The listener is back (a new backend) and caught up: tiles are cached again, and
            # the cached tile is still the new one.
            wait_for(lambda: listener_pids(admin) - killed, seconds=15)
            assert wait_for(lambda: big_parcel_x(client, near)[1] == "memory", seconds=10)  # type: ignore[index]
            assert big_parcel_x(client, near)[0] > before[0] + 1  # type: ignore[index]
        finally:
            owner.execute(MOVE_SQL, [-0.02])
    wait_for(lambda: (r := big_parcel_x(client, near)) and abs(r[0] - before[0]) < 0.01)


def test_a_disk_cache_of_unknown_freshness_is_cleared(
    settings: Settings, tile_catalogue: Catalogue, tmp_path: Path
) -> None:
    stale = tmp_path / "basemap" / "WebMercatorQuad" / "6" / "45" / "23.mvt"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale")
    (tmp_path / "changes.json").write_text(
        json.dumps({"seq": 1, "database": "another:database", "at": "2099-01-01T00:00:00+00:00"})
    )
    with serve_tiles(settings, tile_catalogue, tmp_path):
        assert not stale.exists()
    state = json.loads((tmp_path / "changes.json").read_text())
    assert state["database"] != "another:database"
