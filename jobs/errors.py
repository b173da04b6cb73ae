"""Errors of the job queue; the server maps them to HTTP answers."""

from __future__ import annotations


class JobsError(Exception):
    """Base class of the job queue's errors."""


class JobNotFoundError(JobsError):
    """No job has this id (or the caller may not see it)."""


class UnknownJobKindError(JobsError):
    """A job was submitted or claimed with a kind no worker knows."""


class JobStateError(JobsError):
    """The job is not in a state that allows what was asked (e.g. results of a running job)."""


class JobDismissedError(JobsError):
    """Raised inside a running job when it was dismissed: its work is rolled back."""


class JobFailedError(JobsError):
    """Raised by a job's code to end the job failed with a message meant for its owner, and
    optionally results that explain the failure (a load's validation report)."""

    def __init__(self, message: str, results: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.results = results
