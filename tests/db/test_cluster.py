"""The embedded cluster's lifecycle, on a cluster of its own (not the session's)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from geoportal.db.cluster import EmbeddedCluster
from geoportal.db.database import Database
from geoportal.settings import is_root
from tests.conftest import make_settings


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[EmbeddedCluster]:
    cluster = EmbeddedCluster(make_settings(tmp_path / "data"))
    try:
        yield cluster
    finally:
        cluster.destroy()


def _select_one(cluster: EmbeddedCluster) -> int:
    with psycopg.connect(cluster.conninfo(dbname="postgres")) as conn:
        row = conn.execute("SELECT 1").fetchone()
    return row[0] if row else 0


def test_up_is_idempotent_and_down_stops(own_cluster: EmbeddedCluster) -> None:
    assert own_cluster.up() is True
    assert _select_one(own_cluster) == 1
    first_pid = own_cluster.status().pid
    assert own_cluster.up() is False
    assert own_cluster.status().pid == first_pid
    assert own_cluster.down() is True
    assert own_cluster.status().running is False
    assert own_cluster.down() is False
    with pytest.raises(psycopg.OperationalError):
        _select_one(own_cluster)


def test_up_recovers_from_a_stale_pid_file(own_cluster: EmbeddedCluster) -> None:
    own_cluster.up()
    pid = own_cluster.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # a crash: postmaster.pid stays behind
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # children notice the postmaster is gone
    pid_file = own_cluster.pgdata / "postmaster.pid"
    assert pid_file.exists()
    # Worse still: the PID in the file now belongs to another program (this test process).
    lines = pid_file.read_text().splitlines()
    pid_file.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")
    assert own_cluster.status().running is False
    assert own_cluster.up() is True
    assert _select_one(own_cluster) == 1


def test_status_before_initdb(own_cluster: EmbeddedCluster) -> None:
    state = own_cluster.status()
    assert (state.initialised, state.running, state.pid) == (False, False, None)


def test_cluster_listens_on_a_socket_only(own_cluster: EmbeddedCluster) -> None:
    own_cluster.up()
    with psycopg.connect(own_cluster.conninfo(dbname="postgres")) as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()
    assert listen == ("",)


@pytest.mark.skipif(not is_root(), reason="only root has to hand PostgreSQL to another user")
def test_runs_as_unprivileged_user_under_root(own_cluster: EmbeddedCluster) -> None:
    own_cluster.up()
    pid = own_cluster.status().pid
    assert pid is not None
    assert os.stat(f"/proc/{pid}").st_uid != 0
    assert own_cluster.cluster_dir.stat().st_uid != 0


def test_database_is_created_once(tmp_path: Path) -> None:
    database = Database(make_settings(tmp_path / "data"))
    assert database.cluster is not None
    try:
        database.cluster.up()
        assert database.ensure_database() is True
        assert database.ensure_database() is False
    finally:
        database.cluster.destroy()
