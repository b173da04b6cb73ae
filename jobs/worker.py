"""A worker: claims jobs, runs them with a heartbeat, records how they ended.

A worker is one process running one job at a time (start several for more). Its job's code
runs in the worker's main thread; a second thread, with its own connection, beats the
heartbeat every `heartbeat_s` and notices when the job was dismissed. A worker killed with
`kill -9` beats no more: the next worker to start or claim (`reap`) finds the job stale and
queues it again (retryable kinds) or ends it failed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from jobs import queue
from jobs.errors import JobDismissedError, JobFailedError, JobsError, UnknownJobKindError
from jobs.model import Job, JobKind, JobStatus
from jobs.settings import JobSettings

log = logging.getLogger(__name__)

APPLICATION_NAME = "geoportal-worker"
MESSAGE_LIMIT = 2_000
"""Longest failure message kept on a job (the log has the rest)."""


def worker_name() -> str:
    """host:pid:random, unique per worker process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class _RunningJob:
    """The context a job's code sees (`jobs.model.JobContext`)."""

    job: Job
    conninfo: str
    worker: str
    dismissed: threading.Event = field(default_factory=threading.Event)
    _conn: psycopg.Connection[Any] | None = None

    def progress(self, percent: int, message: str | None = None) -> None:
        """Record progress; raise JobDismissedError when the job was dismissed."""
        if self.dismissed.is_set():
            raise JobDismissedError(f"job {self.job.id} was dismissed")
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.conninfo, autocommit=True, application_name=APPLICATION_NAME
            )
        status = queue.set_progress(self._conn, self.job.id, self.worker, percent, message)
        if status != JobStatus.RUNNING:
            self.dismissed.set()
            raise JobDismissedError(f"job {self.job.id} is {status or 'gone'}; stopping")

    def close(self) -> None:
        """Close the progress connection."""
        if self._conn is not None:
            self._conn.close()


class Worker:
    """Claims and runs jobs of the kinds it was given."""

    def __init__(
        self,
        conninfo: str,
        kinds: Mapping[str, JobKind],
        settings: JobSettings,
        *,
        name: str | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.kinds = dict(kinds)
        self.settings = settings
        self.name = name or worker_name()
        self.stopping = threading.Event()

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo, autocommit=True, application_name=APPLICATION_NAME)

    def reap(self, conn: psycopg.Connection[Any]) -> None:
        """Take back the jobs of dead workers (logged), and purge old finished jobs."""
        for job in queue.reap(conn, self.settings.stale_after_s):
            log.warning("job %s (%s): %s", job.id, job.kind, job.message)
        queue.purge(conn, self.settings.keep_days)

    def run_once(self) -> Job | None:
        """Claim one job and run it to its end; None when there was nothing to do."""
        with self._connect() as conn:
            self.reap(conn)
            job = queue.claim(conn, self.name, sorted(self.kinds))
        if job is None:
            return None
        self._run(job)
        with self._connect() as conn:
            return queue.get_job(conn, job.id)

    def run_forever(self) -> None:
        """Run jobs until `stopping` is set; sleep on LISTEN between them."""
        log.info("worker %s: kinds %s", self.name, ", ".join(sorted(self.kinds)))
        with self._connect() as listener:
            listener.execute(f"LISTEN {queue.CHANNEL}")
            while not self.stopping.is_set():
                while not self.stopping.is_set() and self.run_once() is not None:
                    pass
                for _ in listener.notifies(timeout=self.settings.poll_s, stop_after=1):
                    break

    def _run(self, job: Job) -> None:
        kind = self.kinds.get(job.kind)
        context = _RunningJob(job, self.conninfo, self.name)
        beating = threading.Event()
        heart = threading.Thread(
            target=self._beat, args=(job, context, beating), name=f"heartbeat-{job.id}"
        )
        heart.start()
        status, message, results = JobStatus.FAILED, None, None
        try:
            if kind is None:
                raise UnknownJobKindError(f"this worker does not run jobs of kind {job.kind!r}")
            log.info("job %s (%s) started", job.id, job.kind)
            results = dict(kind.run(context))
            status, message = JobStatus.SUCCESSFUL, "done"
        except JobDismissedError as exc:
            message = str(exc)
        except JobFailedError as exc:  # its results, if any, explain the failure
            message, results = _short(f"{exc}"), exc.results
            log.warning("job %s (%s) failed: %s", job.id, job.kind, message)
        except JobsError as exc:
            message = _short(f"{exc}")
            log.warning("job %s (%s) failed: %s", job.id, job.kind, message)
        except Exception as exc:  # a bug in the job's code: the job fails, the worker lives
            log.error("job %s (%s) crashed:\n%s", job.id, job.kind, traceback.format_exc())
            message = _short(f"internal error ({type(exc).__name__}); see the worker's log")
        finally:
            beating.set()
            heart.join()
            context.close()
        if context.dismissed.is_set():
            log.info("job %s (%s) stopped: dismissed", job.id, job.kind)
            return
        with self._connect() as conn:
            if queue.finish(
                conn, job.id, self.name, status=status, message=message, results=results
            ):
                log.info("job %s (%s) %s", job.id, job.kind, status)

    def _beat(self, job: Job, context: _RunningJob, done: threading.Event) -> None:
        try:
            with self._connect() as conn:
                while not done.wait(self.settings.heartbeat_s):
                    if queue.beat(conn, job.id, self.name) != JobStatus.RUNNING:
                        context.dismissed.set()
        except psycopg.Error as exc:
            log.warning("job %s: heartbeat stopped (%s)", job.id, exc)


def _short(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"
