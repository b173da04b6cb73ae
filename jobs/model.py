"""Typed values of the job queue: a job, its status, a kind of job and what a running job sees."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class JobStatus(StrEnum):
    """OGC API Processes job states (OGC 18-062r2, statusCode)."""

    ACCEPTED = "accepted"
    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    DISMISSED = "dismissed"


FINISHED = frozenset({JobStatus.SUCCESSFUL, JobStatus.FAILED, JobStatus.DISMISSED})
"""States a job never leaves (but for dismissing a finished job, which drops its results)."""


@dataclass(frozen=True, kw_only=True)
class Job:
    """One row of `jobs.jobs`."""

    id: uuid.UUID
    kind: str
    status: JobStatus
    owner: str | None
    title: str | None
    inputs: Mapping[str, Any]
    results: Mapping[str, Any] | None
    message: str | None
    progress: int
    attempts: int
    max_attempts: int
    worker: str | None
    created: dt.datetime
    started: dt.datetime | None
    finished: dt.datetime | None
    updated: dt.datetime
    heartbeat: dt.datetime | None

    @property
    def is_finished(self) -> bool:
        """True once the job is successful, failed or dismissed."""
        return self.status in FINISHED


class JobContext(Protocol):
    """What a running job's code sees: its id and inputs, and a way to report progress.

    `progress` also refreshes the heartbeat's view of the job: when the job was dismissed
    meanwhile it raises `JobDismissedError`, so the job's own transaction rolls back.
    """

    job: Job

    def progress(self, percent: int, message: str | None = None) -> None:
        """Record how far the job is (0-100) and what it does now."""


JobRunner = Callable[[JobContext], Mapping[str, Any]]
"""The code of a kind: takes the running job's context, returns its results (JSON-able)."""


@dataclass(frozen=True, kw_only=True)
class JobKind:
    """A kind of job a worker can run.

    `retryable` kinds are run again when their worker died (at most `max_attempts` times in
    all); their code must be safe to repeat (it changes nothing until its final commit).
    """

    name: str
    run: JobRunner
    title: str
    retryable: bool = False
    max_attempts: int = 1
    description: str = ""
    inputs_schema: Mapping[str, Any] = field(default_factory=dict)

    def attempts_for(self, requested: int | None = None) -> int:
        """How many attempts a new job of this kind gets (1 unless retryable)."""
        if not self.retryable:
            return 1
        wanted = self.max_attempts if requested is None else requested
        return max(1, min(wanted, self.max_attempts))
