"""Where uploaded files wait for their load job, and when they go.

Each upload (`POST /ingest`) gets a folder of its own, `<data_dir>/uploads/<random id>/`,
readable by its owner only; its `layers.load` job names the file inside it as `path`. The
folder is deleted:

- by the job itself when it ends (successful, failed or dismissed while running:
  `removing_upload` wraps the kind's code), but not when its worker died, so a retry still
  finds the file;
- by `sweep_uploads` for the rest: folders whose job ended without running (dismissed while
  accepted, failed by the reaper after its last attempt) or that no job names (the server
  stopped between saving and queueing) once older than `orphan_after_s`. The sweep runs at
  every upload and at the start of every upload's job.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psycopg
from pydantic import BaseModel, Field

from ingestion.archive import ArchiveLimits
from jobs import JobContext

log = logging.getLogger(__name__)

UPLOADS_DIR = "uploads"
FINISHED_STATES = ("successful", "failed", "dismissed")
JOBS_OF_UPLOADS_SQL = (
    "SELECT inputs->>'path', status FROM jobs.jobs "
    "WHERE kind = 'layers.load' AND starts_with(inputs->>'path', %s)"
)
"""The status of every load job whose file is in the uploads folder (its path prefix)."""


class UploadSettings(BaseModel):
    """Limits of `POST /ingest` (`GEOPORTAL_UPLOADS__...`)."""

    model_config = {"frozen": True}

    max_bytes: int = Field(
        default=2 * 1024**3,
        ge=1024,
        description="Largest upload (the request body) in bytes; the general request body "
        "limit (security.max_body_bytes) does not apply to /ingest.",
    )
    max_field_bytes: int = Field(
        default=65_536, ge=256, description="Largest text field of the upload form."
    )
    archive: ArchiveLimits = Field(
        default_factory=ArchiveLimits,
        description="Entries, expansion ratio and uncompressed size of an uploaded zip.",
    )
    orphan_after_s: float = Field(
        default=3600.0,
        gt=0,
        description="An upload folder no job names is deleted after this many seconds.",
    )


def upload_root(data_dir: Path) -> Path:
    """The folder of every upload."""
    return data_dir / UPLOADS_DIR


def new_upload(root: Path) -> Path:
    """A new empty folder for one upload (owner-only permissions)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = root / uuid.uuid4().hex
    folder.mkdir(mode=0o700)
    return folder


def upload_of(root: Path, path: str | Path) -> Path | None:
    """The upload folder holding `path`, None when `path` is not an uploaded file."""
    candidate = Path(path).resolve()
    base = root.resolve()
    if candidate.parent.parent != base:
        return None
    return candidate.parent


def remove_upload(folder: Path) -> None:
    """Delete one upload folder and what it holds (missing already: nothing to do)."""
    shutil.rmtree(folder, ignore_errors=True)


def stale_uploads(
    root: Path, job_states: Mapping[str, str], orphan_after_s: float, now: float | None = None
) -> list[Path]:
    """Upload folders to delete: their job ended, or no job names them and they are old.

    `job_states` maps each job's `path` input to its status.
    """
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    states: dict[Path, str] = {}
    for path, state in job_states.items():
        folder = upload_of(root, path)
        if folder is not None:
            states[folder] = state
    stale = []
    for folder in root.iterdir():
        state = states.get(folder.resolve())
        if state in FINISHED_STATES:
            stale.append(folder)
        elif state is None and now - folder.stat().st_mtime > orphan_after_s:
            stale.append(folder)
    return stale


def sweep_uploads(conn: psycopg.Connection[Any], root: Path, orphan_after_s: float) -> int:
    """Delete the stale upload folders (`stale_uploads`); return how many."""
    prefix = str(root.resolve()) + "/"
    rows = conn.execute(JOBS_OF_UPLOADS_SQL, [prefix]).fetchall()
    stale = stale_uploads(root, dict(rows), orphan_after_s)
    for folder in stale:
        remove_upload(folder)
    if stale:
        log.info("removed %d finished or orphaned uploads", len(stale))
    return len(stale)


def removing_upload(
    run: Callable[[JobContext], Mapping[str, Any]],
    root: Path,
    conninfo: Callable[[], str],
    orphan_after_s: float,
) -> Callable[[JobContext], Mapping[str, Any]]:
    """The job code `run`, deleting its uploaded file's folder when it ends (whatever the
    end: results, failure, dismissal), and sweeping the other stale uploads first."""

    def wrapped(context: JobContext) -> Mapping[str, Any]:
        folder = upload_of(root, str(context.job.inputs.get("path", "")))
        if folder is None:
            return run(context)
        try:
            with psycopg.connect(conninfo(), autocommit=True) as conn:
                sweep_uploads(conn, root, orphan_after_s)
        except psycopg.Error as exc:  # the sweep is housekeeping: the load goes on
            log.warning("upload sweep skipped: %s", exc)
        try:
            return run(context)
        finally:
            remove_upload(folder)

    return wrapped
