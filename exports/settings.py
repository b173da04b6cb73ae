"""Settings of the downloads (`GEOPORTAL_DOWNLOADS__...` once composed by the server)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ExportSettings(BaseModel):
    """Limits and sizes of file exports."""

    model_config = {"frozen": True}

    max_sync_features: int = Field(
        default=100_000,
        ge=0,
        description="An export of more features than this is not answered at once: it becomes "
        "a job on the queue (202 with the job's Location), its file downloaded when ready.",
    )
    chunk_rows: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description="Rows read from the database at a time (memory is bounded by one chunk).",
    )
    statement_timeout_ms: int = Field(
        default=600_000,
        ge=1_000,
        description="Statement timeout of an export's database session (each chunk's fetch).",
    )
    concurrent: int = Field(
        default=2, ge=1, le=32, description="Exports written at once by one server process."
    )
