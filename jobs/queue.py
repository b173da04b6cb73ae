"""The queue's statements: submit, read, claim, beat, finish, dismiss and reap jobs.

Every function takes a psycopg connection first; the caller owns the transaction (functions
that must commit on their own, like `claim`, say so). Timestamps are `timestamptz`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from jobs.errors import JobNotFoundError, JobStateError
from jobs.model import FINISHED, Job, JobKind, JobStatus

CHANNEL = "geoportal_jobs"
"""NOTIFY channel: a job was submitted (payload: its kind)."""

COLUMNS = sql.SQL(
    "id, kind, status, owner_name AS owner, title, inputs, results, message, progress, "
    "attempts, max_attempts, worker, created, started, finished, updated, heartbeat"
)
AnyConnection = psycopg.Connection[Any]


def _job(row: Mapping[str, Any]) -> Job:
    return Job(**{**row, "status": JobStatus(row["status"])})


def parse_job_id(text: str) -> uuid.UUID:
    """The job id in a URL or command line.

    Raises:
        JobNotFoundError: `text` is not a UUID (so no job has it).
    """
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise JobNotFoundError(f"no job {text!r}: job ids are UUIDs") from exc


@dataclass(frozen=True)
class Statement:
    """One statement of the queue and its bound values, run by `run` or `arun`: the server
    reads the queue through its asyncio pool, workers and the CLI through blocking
    connections, and the SQL exists once."""

    query: sql.Composable
    params: tuple[Any, ...] = ()


def run(conn: AnyConnection, statement: Statement) -> list[Job]:
    """Run a statement that returns jobs on a blocking connection."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(statement.query, statement.params)
        return [_job(row) for row in cur.fetchall()] if cur.description else []


async def arun(conn: psycopg.AsyncConnection[Any], statement: Statement) -> list[Job]:
    """Run a statement that returns jobs on an asyncio connection."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement.query, statement.params)
        return [_job(row) for row in await cur.fetchall()] if cur.description else []


def submit_statement(
    kind: JobKind,
    inputs: Mapping[str, Any],
    *,
    owner: str | None,
    title: str | None = None,
    max_attempts: int | None = None,
) -> Statement:
    """Queue a job of `kind` for `owner` (None: anonymous, reachable only through its id);
    workers are woken by the NOTIFY it sends when the transaction commits."""
    return Statement(
        sql.SQL(
            "WITH job AS (INSERT INTO jobs.jobs (kind, owner_name, title, inputs, max_attempts) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING {}) "
            "SELECT job.* FROM job, LATERAL (SELECT pg_notify(%s, job.kind)) AS woken"
        ).format(COLUMNS),
        (
            kind.name,
            owner,
            title or kind.title,
            Jsonb(dict(inputs)),
            kind.attempts_for(max_attempts),
            CHANNEL,
        ),
    )


def get_statement(job_id: uuid.UUID) -> Statement:
    """The job with this id (no row: no such job)."""
    return Statement(sql.SQL("SELECT {} FROM jobs.jobs WHERE id = %s").format(COLUMNS), (job_id,))


def list_statement(
    *,
    owner: str | None,
    limit: int = 100,
    before: uuid.UUID | None = None,
    statuses: Sequence[JobStatus] = (),
) -> Statement:
    """Jobs newest first: `owner`'s own, or everybody's when `owner` is None (admins).

    `before` is the id of the last job of the previous page (keyset paging on creation time).
    """
    where = [sql.SQL("true")]
    params: list[Any] = []
    if owner is not None:
        where.append(sql.SQL("owner_name = %s"))
        params.append(owner)
    if statuses:
        where.append(sql.SQL("status = ANY(%s)"))
        params.append([str(s) for s in statuses])
    if before is not None:
        where.append(sql.SQL("(created, id) < (SELECT created, id FROM jobs.jobs WHERE id = %s)"))
        params.append(before)
    query = sql.SQL(
        "SELECT {} FROM jobs.jobs WHERE {} ORDER BY created DESC, id DESC LIMIT %s"
    ).format(COLUMNS, sql.SQL(" AND ").join(where))
    return Statement(query, (*params, limit))


def dismiss_statement(job_id: uuid.UUID) -> Statement:
    """Dismiss the job unless it was already (no row: no such job, or already dismissed)."""
    return Statement(
        sql.SQL(
            "UPDATE jobs.jobs SET status = 'dismissed', results = NULL, updated = now(), "
            "finished = coalesce(finished, now()), "
            "message = coalesce(message || '; ', '') || 'dismissed' "
            "WHERE id = %s AND status <> 'dismissed' RETURNING {}"
        ).format(COLUMNS),
        (job_id,),
    )


def _only(jobs: list[Job], job_id: uuid.UUID) -> Job:
    if not jobs:
        raise JobNotFoundError(f"no job {job_id}")
    return jobs[0]


def submit(
    conn: AnyConnection,
    kind: JobKind,
    inputs: Mapping[str, Any],
    *,
    owner: str | None,
    title: str | None = None,
    max_attempts: int | None = None,
) -> Job:
    """Queue a job (`submit_statement`) on a blocking connection."""
    statement = submit_statement(kind, inputs, owner=owner, title=title, max_attempts=max_attempts)
    return run(conn, statement)[0]


def get_job(conn: AnyConnection, job_id: uuid.UUID) -> Job:
    """The job with this id.

    Raises:
        JobNotFoundError: no such job.
    """
    return _only(run(conn, get_statement(job_id)), job_id)


def list_jobs(
    conn: AnyConnection,
    *,
    owner: str | None,
    limit: int = 100,
    before: uuid.UUID | None = None,
    statuses: Sequence[JobStatus] = (),
) -> list[Job]:
    """Jobs newest first (`list_statement`) on a blocking connection."""
    return run(conn, list_statement(owner=owner, limit=limit, before=before, statuses=statuses))


def dismiss(conn: AnyConnection, job_id: uuid.UUID) -> Job:
    """Dismiss a job (OGC API Processes `DELETE /jobs/{jobId}`).

    An accepted job never runs; a running one is stopped by its worker at its next progress
    report or heartbeat (its work rolls back); a finished one loses its results.

    Raises:
        JobNotFoundError: no such job.
        JobStateError: the job was already dismissed.
    """
    dismissed = run(conn, dismiss_statement(job_id))
    if dismissed:
        return dismissed[0]
    get_job(conn, job_id)
    raise JobStateError(f"job {job_id} was already dismissed")


def claim(conn: AnyConnection, worker: str, kinds: Sequence[str]) -> Job | None:
    """Take the oldest accepted job of one of `kinds` for `worker`, committed at once.

    `FOR UPDATE SKIP LOCKED`: concurrent workers never take the same job nor wait for each
    other. The connection must be in autocommit mode (the claim is its own transaction).
    """
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("""
            UPDATE jobs.jobs SET status = 'running', worker = %s, attempts = attempts + 1,
                   started = now(), updated = now(), heartbeat = now(), progress = 0,
                   message = NULL
             WHERE id = (SELECT id FROM jobs.jobs
                          WHERE status = 'accepted' AND kind = ANY(%s)
                          ORDER BY created, id
                          LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING {}""").format(COLUMNS),
            [worker, list(kinds)],
        )
        row = cur.fetchone()
    return _job(row) if row else None


def beat(conn: AnyConnection, job_id: uuid.UUID, worker: str) -> JobStatus | None:
    """Record that `worker` still runs the job; return the job's status now.

    A status other than `running` (dismissed by its owner, or taken back by a reaper that
    thought the worker dead) tells the worker to stop; None: the job was deleted.
    """
    row = conn.execute(
        "UPDATE jobs.jobs SET heartbeat = now() WHERE id = %s AND worker = %s "
        "AND status = 'running' RETURNING status",
        [job_id, worker],
    ).fetchone()
    if row:
        return JobStatus(row[0])
    row = conn.execute("SELECT status FROM jobs.jobs WHERE id = %s", [job_id]).fetchone()
    return JobStatus(row[0]) if row else None


def set_progress(
    conn: AnyConnection, job_id: uuid.UUID, worker: str, percent: int, message: str | None
) -> JobStatus | None:
    """Record progress (clamped to 0-100) and a message; return the job's status now."""
    row = conn.execute(
        "UPDATE jobs.jobs SET progress = %s, message = coalesce(%s, message), updated = now(), "
        "heartbeat = now() WHERE id = %s AND worker = %s AND status = 'running' "
        "RETURNING status",
        [max(0, min(100, int(percent))), message, job_id, worker],
    ).fetchone()
    if row:
        return JobStatus(row[0])
    return beat(conn, job_id, worker)


def finish(
    conn: AnyConnection,
    job_id: uuid.UUID,
    worker: str,
    *,
    status: JobStatus,
    message: str | None,
    results: Mapping[str, Any] | None = None,
) -> bool:
    """End a running job as successful or failed; False when it was no longer ours."""
    if status not in (JobStatus.SUCCESSFUL, JobStatus.FAILED):
        raise ValueError(f"a worker ends a job successful or failed, not {status}")
    row = conn.execute(
        "UPDATE jobs.jobs SET status = %s, message = %s, results = %s, finished = now(), "
        "updated = now(), progress = CASE WHEN %s = 'successful' THEN 100 ELSE progress END "
        "WHERE id = %s AND worker = %s AND status = 'running' RETURNING id",
        [
            str(status),
            message,
            Jsonb(dict(results)) if results is not None else None,
            str(status),
            job_id,
            worker,
        ],
    ).fetchone()
    return row is not None


def reap(conn: AnyConnection, stale_after_s: float) -> list[Job]:
    """Take back running jobs whose worker stopped beating (killed, machine lost).

    Retryable jobs with attempts left go back to `accepted`; the others end `failed` with
    the reason. Their work was in an uncommitted transaction, so nothing half-done is
    visible. Returns the jobs changed.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("""
            UPDATE jobs.jobs j SET
                   status = CASE WHEN j.attempts < j.max_attempts THEN 'accepted'
                                 ELSE 'failed' END,
                   finished = CASE WHEN j.attempts < j.max_attempts THEN NULL ELSE now() END,
                   updated = now(),
                   message = format('worker %%s stopped answering (last heartbeat %%s)%%s',
                                    j.worker, j.heartbeat,
                                    CASE WHEN j.attempts < j.max_attempts
                                         THEN format('; queued again (attempt %%s of %%s)',
                                                     j.attempts + 1, j.max_attempts)
                                         ELSE '; its work was rolled back' END)
             WHERE j.status = 'running'
               AND j.heartbeat < now() - make_interval(secs => %s)
            RETURNING {}""").format(COLUMNS),
            [stale_after_s],
        )
        return [_job(row) for row in cur.fetchall()]


def purge(conn: AnyConnection, keep_days: int) -> int:
    """Delete finished jobs older than `keep_days`; return how many."""
    cur = conn.execute(
        "DELETE FROM jobs.jobs WHERE status = ANY(%s) "
        "AND finished < now() - make_interval(days => %s)",
        [[str(s) for s in FINISHED], keep_days],
    )
    return cur.rowcount
