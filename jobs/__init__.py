"""The one durable job queue of the geoportal, in PostgreSQL.

Uploads, large exports, imagery pipelines and OGC API Processes all run as jobs: a row in
`jobs.jobs` (migration 0013), claimed by `geoportal worker` processes with `FOR UPDATE SKIP
LOCKED`, kept alive by a heartbeat, and described with OGC API Processes' vocabulary
(`accepted`, `running`, `successful`, `failed`, `dismissed`). This package owns that table; it
imports nothing of `geoportal`: the server and the CLI pass it a connection and the job kinds.
"""

from jobs.errors import (
    JobDismissedError,
    JobFailedError,
    JobNotFoundError,
    JobsError,
    JobStateError,
    UnknownJobKindError,
)
from jobs.model import FINISHED, Job, JobContext, JobKind, JobStatus

__all__ = [
    "FINISHED",
    "Job",
    "JobContext",
    "JobDismissedError",
    "JobFailedError",
    "JobKind",
    "JobNotFoundError",
    "JobStateError",
    "JobStatus",
    "JobsError",
    "UnknownJobKindError",
]
