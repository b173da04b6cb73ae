"""Settings of the analyses served as processes (`GEOPORTAL_PROCESSES__...` once composed)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProcessSettings(BaseModel):
    """How long a synchronous execution waits, and how long an analysis may run."""

    model_config = {"frozen": True}

    sync_wait_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="A synchronous execution request waits this long for its job (run by a "
        "worker), then answers as an asynchronous one (201, the job's Location).",
    )
    statement_timeout_s: float = Field(
        default=600.0,
        gt=0,
        le=86_400,
        description="Longest database statement of an analysis in a worker.",
    )
