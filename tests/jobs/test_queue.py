"""The queue's statements on the real database: submit, claim, beat, finish, dismiss, reap."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest

from geoportal.db.database import Database
from jobs import JobKind, JobNotFoundError, JobStateError, JobStatus, queue

ECHO = JobKind(name="test.echo", title="echo", run=lambda context: dict(context.job.inputs))
RETRYABLE = JobKind(
    name="test.retry", title="retry", run=lambda context: {}, retryable=True, max_attempts=3
)


def test_submit_then_read(queue_conn: psycopg.Connection) -> None:
    job = queue.submit(queue_conn, ECHO, {"a": 1}, owner="someone")
    assert job.status == JobStatus.ACCEPTED and job.attempts == 0 and job.max_attempts == 1
    again = queue.get_job(queue_conn, job.id)
    assert again.inputs == {"a": 1} and again.owner == "someone" and again.title == "echo"


def test_unknown_and_malformed_ids(queue_conn: psycopg.Connection) -> None:
    with pytest.raises(JobNotFoundError, match="no job"):
        queue.get_job(queue_conn, uuid.uuid4())
    with pytest.raises(JobNotFoundError, match="UUID"):
        queue.parse_job_id("../../etc/passwd")


def test_claim_takes_the_oldest_once(queue_conn: psycopg.Connection) -> None:
    first = queue.submit(queue_conn, ECHO, {"n": 1}, owner=None)
    second = queue.submit(queue_conn, ECHO, {"n": 2}, owner=None)
    claimed = queue.claim(queue_conn, "w1", ["test.echo"])
    assert claimed is not None and claimed.id == first.id
    assert claimed.status == JobStatus.RUNNING and claimed.attempts == 1
    assert queue.claim(queue_conn, "w2", ["test.echo"]).id == second.id  # type: ignore[union-attr]
    assert queue.claim(queue_conn, "w3", ["test.echo"]) is None


def test_claim_only_known_kinds(queue_conn: psycopg.Connection) -> None:
    queue.submit(queue_conn, ECHO, {}, owner=None)
    assert queue.claim(queue_conn, "w1", ["layers.load"]) is None


def test_concurrent_workers_never_share_a_job(database: Database, queue_conn) -> None:
    submitted = {queue.submit(queue_conn, ECHO, {"n": n}, owner=None).id for n in range(40)}
    taken: list[uuid.UUID] = []
    lock = threading.Lock()

    def drain(name: str) -> None:
        with psycopg.connect(database.owner_conninfo, autocommit=True) as conn:
            while (job := queue.claim(conn, name, ["test.echo"])) is not None:
                with lock:
                    taken.append(job.id)

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(taken) == sorted(submitted)


def test_finish_and_results(queue_conn: psycopg.Connection) -> None:
    job = queue.submit(queue_conn, ECHO, {}, owner=None)
    queue.claim(queue_conn, "w1", ["test.echo"])
    assert not queue.finish(
        queue_conn, job.id, "intruder", status=JobStatus.SUCCESSFUL, message="x"
    )
    assert queue.finish(
        queue_conn, job.id, "w1", status=JobStatus.SUCCESSFUL, message="done", results={"n": 3}
    )
    done = queue.get_job(queue_conn, job.id)
    assert done.status == JobStatus.SUCCESSFUL and done.results == {"n": 3}
    assert done.progress == 100 and done.finished is not None


def test_dismiss_stops_a_running_job_at_its_next_heartbeat(queue_conn) -> None:
    job = queue.submit(queue_conn, ECHO, {}, owner=None)
    queue.claim(queue_conn, "w1", ["test.echo"])
    assert queue.beat(queue_conn, job.id, "w1") == JobStatus.RUNNING
    assert queue.dismiss(queue_conn, job.id).status == JobStatus.DISMISSED
    assert queue.beat(queue_conn, job.id, "w1") == JobStatus.DISMISSED
    assert not queue.finish(queue_conn, job.id, "w1", status=JobStatus.SUCCESSFUL, message="")
    with pytest.raises(JobStateError, match="already dismissed"):
        queue.dismiss(queue_conn, job.id)


@pytest.mark.parametrize(("kind", "expected"), [(ECHO, "failed"), (RETRYABLE, "accepted")])
def test_reap_takes_back_jobs_of_dead_workers(queue_conn, kind: JobKind, expected: str) -> None:
    job = queue.submit(queue_conn, kind, {}, owner=None)
    queue.claim(queue_conn, "dead-worker", [kind.name])
    assert queue.reap(queue_conn, stale_after_s=60) == []  # its heartbeat is fresh
    queue_conn.execute(
        "UPDATE jobs.jobs SET heartbeat = now() - interval '5 minutes' WHERE id = %s", [job.id]
    )
    (reaped,) = queue.reap(queue_conn, stale_after_s=60)
    assert reaped.status == expected
    assert "dead-worker stopped answering" in (reaped.message or "")


def test_retryable_jobs_get_at_most_their_kind_s_attempts(queue_conn) -> None:
    assert queue.submit(queue_conn, RETRYABLE, {}, owner=None, max_attempts=99).max_attempts == 3
    assert queue.submit(queue_conn, ECHO, {}, owner=None, max_attempts=5).max_attempts == 1


def test_the_public_role_cannot_read_jobs(database: Database) -> None:
    with (
        psycopg.connect(database.public_conninfo) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT count(*) FROM jobs.jobs")
