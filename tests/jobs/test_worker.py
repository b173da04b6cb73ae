"""Workers as they run: real `geoportal worker` processes, a real layer load, `kill -9`."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from demo.generate import layer_file
from geoportal.db.database import Database
from geoportal.job_kinds import job_kinds
from geoportal.settings import Settings
from jobs import Job, JobContext, JobFailedError, JobKind, JobStatus, queue
from jobs.settings import JobSettings
from jobs.worker import Worker
from layers.catalogue import Catalogue
from tests.jobs.conftest import stop_worker, worker_process

FAST = JobSettings(heartbeat_s=0.2, stale_after_s=1, poll_s=0.2)


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _count(conn: psycopg.Connection, catalogue: Catalogue, layer_id: str) -> int:
    schema, table = catalogue.get(layer_id).qualified_table
    row = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
    return int(row[0]) if row else -1


def _status(conn: psycopg.Connection, job: Job) -> JobStatus:
    return queue.get_job(conn, job.id).status


def test_a_job_s_failure_is_recorded_and_the_worker_lives_on(database: Database, queue_conn):
    def broken(context: JobContext) -> dict:
        raise KeyError("a bug")

    def refused(context: JobContext) -> dict:
        raise JobFailedError("inputs: the layer 'nope' is not declared")

    kinds = {
        "test.broken": JobKind(name="test.broken", title="broken", run=broken),
        "test.refused": JobKind(name="test.refused", title="refused", run=refused),
    }
    bug = queue.submit(queue_conn, kinds["test.broken"], {}, owner=None)
    clear = queue.submit(queue_conn, kinds["test.refused"], {}, owner=None)
    worker = Worker(database.owner_conninfo, kinds, FAST)
    assert worker.run_once() is not None and worker.run_once() is not None
    crashed, failed = queue.get_job(queue_conn, bug.id), queue.get_job(queue_conn, clear.id)
    assert crashed.status == failed.status == JobStatus.FAILED
    assert crashed.message == "internal error (KeyError); see the worker's log"
    assert failed.message == "inputs: the layer 'nope' is not declared"


def test_progress_is_visible_and_dismissal_stops_the_job(database: Database, queue_conn):
    reached = threading.Event()

    def long_job(context: JobContext) -> dict:
        for step in range(1000):
            context.progress(step // 10, f"step {step}")
            reached.set()
            time.sleep(0.01)
        return {"finished": True}

    kind = JobKind(name="test.long", title="long", run=long_job)
    job = queue.submit(queue_conn, kind, {}, owner=None)
    worker = Worker(database.owner_conninfo, {kind.name: kind}, FAST)
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    assert reached.wait(30)
    running = queue.get_job(queue_conn, job.id)
    assert running.status == JobStatus.RUNNING and running.message.startswith("step")  # type: ignore[union-attr]
    queue.dismiss(queue_conn, job.id)
    thread.join(timeout=30)
    assert not thread.is_alive()
    ended = queue.get_job(queue_conn, job.id)
    assert ended.status == JobStatus.DISMISSED and ended.results is None


def test_a_worker_process_loads_a_layer(
    loaded: Database, settings: Settings, catalogue: Catalogue, generated: Path, queue_conn
) -> None:
    path = layer_file(generated, "sports_facilities")
    before = _count(queue_conn, catalogue, "sports_facilities")
    kind = job_kinds(settings)["layers.load"]
    job = queue.submit(
        queue_conn, kind, {"layer": "sports_facilities", "path": str(path)}, owner="cli"
    )
    process = worker_process(settings, "--once")
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    done = queue.get_job(queue_conn, job.id)
    assert done.status == JobStatus.SUCCESSFUL, done.message
    results = dict(done.results or {})
    assert {k: results[k] for k in ("layer", "mode", "inserted", "deleted", "skipped")} == {
        "layer": "sports_facilities",
        "mode": "replace",
        "inserted": before,
        "deleted": before,
        "skipped": 0,
    }
    assert results["report"]["problems"] == [] and "<table>" in results["reportHtml"]
    assert _count(queue_conn, catalogue, "sports_facilities") == before


def test_a_bad_file_fails_the_job_and_keeps_the_layer(
    loaded: Database, settings: Settings, catalogue: Catalogue, tmp_path: Path, queue_conn
) -> None:
    bad = tmp_path / "roads.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', "utf-8")
    before = _count(queue_conn, catalogue, "roads")
    kind = job_kinds(settings)["layers.load"]
    job = queue.submit(queue_conn, kind, {"layer": "roads", "path": str(bad)}, owner="cli")
    Worker(loaded.owner_conninfo, job_kinds(settings), FAST).run_once()
    failed = queue.get_job(queue_conn, job.id)
    assert failed.status == JobStatus.FAILED and failed.message
    assert "internal error" not in failed.message
    assert _count(queue_conn, catalogue, "roads") == before


def test_a_refused_load_fails_the_job_with_its_report(
    loaded: Database, settings: Settings, catalogue: Catalogue, queue_conn
) -> None:
    bad = Path(__file__).parents[1] / "data" / "bad" / "bad_values.geojson"
    kind = job_kinds(settings)["layers.load"]
    inputs = {"layer": "environment_sensors", "path": str(bad), "mode": "append", "dryRun": True}
    job = queue.submit(queue_conn, kind, inputs, owner="cli")
    Worker(loaded.owner_conninfo, job_kinds(settings), FAST).run_once()
    failed = queue.get_job(queue_conn, job.id)
    assert failed.status == JobStatus.FAILED and "not loaded" in (failed.message or "")
    report = dict(failed.results or {})["report"]
    assert {p["code"] for p in report["problems"]} >= {"enum", "required", "duplicate_key"}


@pytest.mark.slow
def test_a_worker_killed_mid_load_leaves_the_layer_intact_and_the_job_failed(
    loaded: Database, settings: Settings, catalogue: Catalogue, generated: Path, queue_conn
) -> None:
    path = layer_file(generated, "buildings")
    before = _count(queue_conn, catalogue, "buildings")
    kind = job_kinds(settings)["layers.load"]
    job = queue.submit(
        queue_conn, kind, {"layer": "buildings", "path": str(path)}, owner="cli", max_attempts=1
    )
    first = worker_process(settings)

    def copying() -> bool:
        row = queue_conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %%' AND state = 'active'"
        ).fetchone()
        return bool(row and row[0])

    try:
        _wait_for(copying, "the load's COPY")
    finally:
        stop_worker(first, signal.SIGKILL)
    _wait_for(lambda: not copying(), "the server to abort the dead client's COPY")
    assert _count(queue_conn, catalogue, "buildings") == before
    assert _status(queue_conn, job) == JobStatus.RUNNING  # nobody knows yet
    second = worker_process(settings)
    try:
        _wait_for(lambda: _status(queue_conn, job) == JobStatus.FAILED, "the job to be reaped")
    finally:
        stop_worker(second)
    failed = queue.get_job(queue_conn, job.id)
    assert "stopped answering" in (failed.message or "")
    assert "rolled back" in (failed.message or "")
    assert _count(queue_conn, catalogue, "buildings") == before
