"""Settings of the job queue (`GEOPORTAL_JOBS__...` once composed by the server)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class JobSettings(BaseModel):
    """How workers claim and keep jobs, and how long finished jobs are kept."""

    model_config = {"frozen": True}

    heartbeat_s: float = Field(
        default=5.0, gt=0, le=300, description="How often a running job's worker says it lives."
    )
    stale_after_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="A running job whose heartbeat is older than this has lost its worker: "
        "it is retried (retryable kinds) or ends failed.",
    )
    poll_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="An idle worker looks for work at least this often (it is also woken by "
        "NOTIFY when a job is submitted).",
    )
    keep_days: int = Field(
        default=30, ge=1, le=3650, description="Finished jobs older than this are deleted."
    )

    @model_validator(mode="after")
    def _stale_after_heartbeats(self) -> JobSettings:
        if self.stale_after_s < 3 * self.heartbeat_s:
            raise ValueError(
                f"stale_after_s ({self.stale_after_s}) must be at least three heartbeats "
                f"({3 * self.heartbeat_s}): a live worker would be taken for dead"
            )
        return self
