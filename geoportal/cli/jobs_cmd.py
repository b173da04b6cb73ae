"""`geoportal worker` and `geoportal jobs ...`: the durable job queue from the command line.

A worker claims jobs from the database (`FOR UPDATE SKIP LOCKED`) and runs them; start as
many as the machine has cores for, on this host or others that reach the same database.
`geoportal serve` starts one next to the server unless told `--job-workers 0`.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from types import FrameType

import psycopg
import typer
from rich.console import Console
from rich.table import Column, Table

from geoportal.db.database import Database
from geoportal.job_kinds import job_kinds
from geoportal.server.jobs_routes import status_info
from geoportal.settings import Settings
from jobs import FINISHED, Job, JobsError, JobStatus, queue
from jobs.worker import Worker

console = Console()
log = logging.getLogger(__name__)
jobs_app = typer.Typer(
    help="Jobs of the durable queue (uploads, exports, imagery, processes): list, show, "
    "dismiss. `geoportal worker` runs them.",
    no_args_is_help=True,
)


def _connect(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(Database(settings).owner_conninfo, connect_timeout=10, autocommit=True)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def worker(
    once: bool = typer.Option(False, "--once", help="Run the jobs waiting now, then exit."),
) -> None:
    """Run jobs from the queue until stopped (Ctrl-C or SIGTERM finishes the current job's
    heartbeat and exits; a job cut short is taken back by the next worker)."""
    settings = Settings()
    kinds = job_kinds(settings)
    runner = Worker(Database(settings).owner_conninfo, kinds, settings.jobs)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("worker %s: stopping after the current job", runner.name)
        runner.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    try:
        if once:
            done = 0
            while runner.run_once() is not None:
                done += 1
            console.print(f"{done} job(s) run")
            return
        runner.run_forever()
    except psycopg.OperationalError as exc:
        _fail(f"the database is not reachable ({str(exc).strip().splitlines()[0]})")
    except KeyboardInterrupt:
        log.info("worker %s: interrupted", runner.name)


@jobs_app.command("list")
def list_jobs(
    owner: str = typer.Option(None, help="Only this user's jobs."),
    status: list[JobStatus] = typer.Option([], help="Only jobs in this state (repeatable)."),
    limit: int = typer.Option(50, min=1, max=1000, help="How many, newest first."),
) -> None:
    """List jobs, newest first."""
    settings = Settings()
    with _connect(settings) as conn:
        found = queue.list_jobs(conn, owner=owner, limit=limit, statuses=status)
    # the id whole and on one line, however narrow the terminal: `jobs show` needs all of it
    table = Table(
        Column("id", no_wrap=True, min_width=36),
        "kind",
        "status",
        "progress",
        "owner",
        "created",
        "message",
    )
    for job in found:
        table.add_row(
            str(job.id),
            job.kind,
            str(job.status),
            f"{job.progress}%",
            job.owner or "(anonymous)",
            job.created.isoformat(timespec="seconds"),
            (job.message or "")[:80],
        )
    console.print(table)


def _get(settings: Settings, job_id: str) -> Job:
    with _connect(settings) as conn:
        return queue.get_job(conn, queue.parse_job_id(job_id))


@jobs_app.command("show")
def show(
    job_id: str = typer.Argument(..., help="The job's id (a UUID)."),
    wait: bool = typer.Option(False, "--wait", help="Poll until the job has finished."),
) -> None:
    """Show a job's status info (as `GET /jobs/{jobId}` answers it) and its results."""
    settings = Settings()
    try:
        job = _get(settings, job_id)
        while wait and job.status not in FINISHED:
            time.sleep(1)
            job = _get(settings, job_id)
    except JobsError as exc:
        _fail(str(exc))
    document = status_info(job, settings.public_url)
    if job.results is not None:
        document["results"] = job.results
    console.print_json(json.dumps(document))
    if job.status == JobStatus.FAILED:
        raise typer.Exit(1)


@jobs_app.command("dismiss")
def dismiss(job_id: str = typer.Argument(..., help="The job's id (a UUID).")) -> None:
    """Dismiss a job: an accepted job never runs, a running one stops at its next progress
    report (its work rolls back), a finished one loses its results."""
    settings = Settings()
    try:
        with _connect(settings) as conn:
            job = queue.dismiss(conn, queue.parse_job_id(job_id))
    except JobsError as exc:
        _fail(str(exc))
    console.print(f"job {job.id} dismissed")
