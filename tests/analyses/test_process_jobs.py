"""Process jobs are durable: a synchronous execution nobody runs within its wait answers as
an asynchronous one, its job survives a restart of the server, and a worker killed with
`kill -9` while running it leaves it queued again (analyses are retryable), never stuck
"running": the next worker finishes it."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import httpx
import psycopg

from analyses.settings import ProcessSettings
from geoportal.db.database import Database
from geoportal.settings import Settings
from tests.jobs.conftest import stop_worker, worker_process
from tests.support.server import free_port, start_server


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _server_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"port": free_port(), "processes": ProcessSettings(sync_wait_s=0.5)}
    )


def test_a_job_survives_a_restart_and_a_killed_worker(loaded: Database, settings: Settings):
    with psycopg.connect(loaded.owner_conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM jobs.jobs WHERE status IN ('accepted', 'running')")
        zone = conn.execute("SELECT min(id) FROM disaster.hazard_zones").fetchone()[0]
    with start_server(_server_settings(settings)) as first, httpx.Client(timeout=60) as http:
        answer = http.post(
            f"{first.url}/processes/hazard-exposure/execution",
            json={"inputs": {"hazardZoneId": zone}},
        )  # no worker runs: the synchronous wait ends, the answer is asynchronous
        assert answer.status_code == 201, answer.text
        job = answer.headers["Location"].rsplit("/", 1)[-1]
    with (
        start_server(_server_settings(settings)) as second,
        httpx.Client(base_url=second.url, timeout=60) as http,
        psycopg.connect(loaded.owner_conninfo) as locker,
    ):
        assert http.get(f"/jobs/{job}").json()["status"] == "accepted"
        locker.execute("LOCK TABLE disaster.hazard_zones IN ACCESS EXCLUSIVE MODE")
        killed = worker_process(settings)
        try:
            _wait_for(lambda: http.get(f"/jobs/{job}").json()["status"] == "running", "running")
        finally:
            stop_worker(killed, signal.SIGKILL)
        locker.rollback()
        assert http.get(f"/jobs/{job}").json()["status"] == "running"  # nobody knows yet
        survivor = worker_process(settings)
        try:
            _wait_for(
                lambda: http.get(f"/jobs/{job}").json()["status"] in ("successful", "failed"),
                "the job to end",
            )
        finally:
            stop_worker(survivor)
        status = http.get(f"/jobs/{job}").json()
        assert status["status"] == "successful", status
        results = http.get(f"/jobs/{job}/results")
        assert results.status_code == 200 and results.json()["exposure"]["zone"]
    with psycopg.connect(loaded.owner_conninfo) as conn:
        attempts = conn.execute("SELECT attempts FROM jobs.jobs WHERE id = %s", [job]).fetchone()
    assert attempts == (2,)
