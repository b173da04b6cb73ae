"""`geoportal serve`: the OGC API server."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import typer

from geoportal.db.database import Database
from geoportal.db.errors import DatabaseError
from geoportal.db.schema_sync import diff_schema
from geoportal.settings import Settings
from layers.catalogue import load_catalogue


def _check_database(settings: Settings) -> None:
    """Fail with one clear line when the database is down or not migrated."""
    database = Database(settings)
    try:
        with psycopg.connect(database.admin_conninfo(), connect_timeout=5) as conn:
            diff = diff_schema(conn, load_catalogue())
    except psycopg.OperationalError as exc:
        raise DatabaseError(
            f"the database is not reachable ({str(exc).strip().splitlines()[0]})"
            "; start it with `geoportal db up`"
        ) from exc
    if diff.statements:
        raise DatabaseError(
            "the database lacks tables or columns of declared layers; run "
            "`geoportal db migrate` (and `geoportal demo load` for data)"
        )


def serve(
    host: str = typer.Option(None, help="Interface to listen on [default: 127.0.0.1]."),
    port: int = typer.Option(None, help="Port [default: 5000]."),
    workers: int = typer.Option(None, help="Worker processes [default: 1]."),
    job_workers: int = typer.Option(
        1,
        min=0,
        max=64,
        help="`geoportal worker` processes started beside the server for the job queue "
        "(uploads, exports, processes); 0 when workers run elsewhere.",
    ),
) -> None:
    """Serve the OGC API (landing page, collections, items, OpenAPI at /openapi): gunicorn
    with `--workers` uvicorn worker processes.

    The pygeoapi configuration is generated from the layer catalogue at start-up. The
    database must be up and loaded (`geoportal db up`, `db migrate`, `demo load`).
    """
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"GEOPORTAL_{name}"] = str(value)
    settings = Settings()
    _check_database(settings)
    with metrics_directory(), job_worker_processes(job_workers):
        _serve(settings)


@contextmanager
def job_worker_processes(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start `count` job workers (`python -m geoportal.cli worker`); stop them at the end."""
    processes = [
        subprocess.Popen([sys.executable, "-m", "geoportal.cli", "worker"]) for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _serve(settings: Settings) -> None:
    """Gunicorn with `settings.workers` uvicorn workers, metrics shared through a directory."""
    from geoportal.server.gunicorn_app import GeoportalServer, gunicorn_options

    options = gunicorn_options(settings.host, settings.port, settings.workers, settings.log_level)
    GeoportalServer(options).run()


@contextmanager
def metrics_directory() -> Iterator[None]:
    """`PROMETHEUS_MULTIPROC_DIR`: a new empty directory for this run unless one is given.

    Set before any worker starts (prometheus-client chooses its mode at import), removed
    at the end; a directory given by the operator is theirs to empty between runs.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="geoportal-metrics-") as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        try:
            yield
        finally:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
