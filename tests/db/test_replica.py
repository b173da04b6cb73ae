"""A real streaming replica of the embedded test cluster as the features read path.

`pg_basebackup -R` as the cluster's run user into a temporary directory, started with
`pg_ctl` on a second port and socket. Writes go to the primary; the replica shows them once
replayed, and the API's feature reads (`GEOPORTAL_DATABASE_READ_URL`) come from the replica:
while its replay is paused, an edit on the primary is not visible through the API, but the
tile it touches is purged at once (tiles and their LISTEN stay on the primary).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import morecantile
import psycopg
import pytest

from geoportal.db.cluster import SUPERUSER, find_bin_dir
from geoportal.db.database import Database
from geoportal.settings import Settings, is_root
from tests.conftest import make_settings
from tests.support.server import free_port, start_server


def run_as(user: str, command: list[str]) -> None:
    """Run a PostgreSQL program as the cluster's run user (root may not run the server)."""
    kwargs: dict = {}
    if is_root():
        entry = pwd.getpwnam(user)
        kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, result.stderr


def poll(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def replica(loaded: Database, settings: Settings) -> Iterator[str]:
    """The conninfo (superuser) of a running streaming replica of the test cluster."""
    cluster = loaded.cluster
    assert cluster is not None
    bin_dir = find_bin_dir(settings.pg_bin_dir)
    root = Path(tempfile.mkdtemp(prefix="geoportal-replica-"))
    pgdata, sockets = root / "pgdata", root / "run"
    sockets.mkdir()
    if is_root():
        entry = pwd.getpwnam(cluster.run_user)
        for path in (root, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    user = cluster.run_user
    run_as(
        user,
        [str(bin_dir / "pg_basebackup"), "-D", str(pgdata), "-R", "-X", "stream", "-c", "fast"]
        + ["-h", str(cluster.socket_dir), "-p", str(settings.db_port), "-U", SUPERUSER],
    )
    options = f"-p {port} -k {sockets} -c listen_addresses='' -c hot_standby=on"
    run_as(
        user,
        [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-l", str(root / "log"), "-w"]
        + ["-o", options, "start"],
    )
    try:
        yield psycopg.conninfo.make_conninfo(
            host=str(sockets), port=str(port), dbname=settings.db_name, user=SUPERUSER
        )
    finally:
        run_as(user, [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def test_a_write_at_the_primary_appears_on_the_replica(loaded: Database, replica: str) -> None:
    with psycopg.connect(replica, autocommit=True) as standby:
        assert standby.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            standby.execute("CREATE TABLE public.replica_probe (id int)")
    with psycopg.connect(loaded.admin_conninfo(), autocommit=True) as primary:
        primary.execute("CREATE TABLE public.replica_probe (id int, note text)")
        try:
            primary.execute("INSERT INTO public.replica_probe VALUES (1, 'from the primary')")
            with psycopg.connect(replica, autocommit=True) as standby:

                def replayed() -> bool:
                    if standby.execute("SELECT to_regclass('public.replica_probe')").fetchone()[0]:
                        rows = standby.execute("SELECT note FROM public.replica_probe").fetchall()
                        return rows == [("from the primary",)]
                    return False

                assert poll(replayed)
        finally:
            primary.execute("DROP TABLE public.replica_probe")


def oblast_tile(primary: psycopg.Connection, zoom: int = 6) -> str:
    """The path of the z6 tile of oblasts holding a point of oblast 1."""
    row = primary.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
        "FROM base.oblasts WHERE id = 1) AS s"
    ).fetchone()
    assert row is not None
    tile = morecantile.tms.get("WebMercatorQuad").tile(row[0], row[1], zoom)
    return f"/collections/oblasts/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"


def test_feature_reads_come_from_the_replica(
    loaded: Database, replica: str, tmp_path: Path
) -> None:
    read_url = psycopg.conninfo.make_conninfo(replica, user="geoportal_public")
    settings = make_settings(
        tmp_path, database_url=loaded.admin_conninfo(), database_read_url=read_url
    )
    item = "/collections/oblasts/items/1"
    with (
        psycopg.connect(loaded.admin_conninfo(), autocommit=True) as primary,
        psycopg.connect(replica, autocommit=True) as standby,
        start_server(settings) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        (name,) = primary.execute("SELECT name_en FROM base.oblasts WHERE id = 1").fetchone()

        def name_on_api() -> str:
            response = client.get(item, params={"f": "json"})
            assert response.status_code == 200
            return response.json()["properties"]["name_en"]

        assert name_on_api() == name
        tile = oblast_tile(primary)
        assert [client.get(tile).headers["x-tile-cache"] for _ in range(2)][1] == "memory"
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            primary.execute("UPDATE base.oblasts SET name_en = name_en || ' (edited)' WHERE id = 1")
            assert name_on_api() == name  # the primary has the edit, the paused replica not
            # tiles and their change listener stay on the primary: the edit purged the tile
            assert poll(lambda: client.get(tile).headers["x-tile-cache"] == "database")
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
        try:
            assert poll(lambda: name_on_api() == f"{name} (edited)")
        finally:
            primary.execute("UPDATE base.oblasts SET name_en = %s WHERE id = 1", [name])
