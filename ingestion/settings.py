"""Settings of file loading (`GEOPORTAL_INGESTION__...` once composed by the server)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IngestionSettings(BaseModel):
    """How big a chunk a load reads at a time and how long a load may take."""

    model_config = {"frozen": True}

    chunk_rows: int = Field(
        default=50_000,
        ge=100,
        le=1_000_000,
        description="Rows read, validated and copied to the staging table at a time (memory "
        "stays bounded by one chunk whatever the file's size).",
    )
    load_timeout_s: float = Field(
        default=1800.0,
        gt=0,
        le=86_400,
        description="Longest a load may take (reading, validation and the database's work); "
        "beyond it the load is rolled back with a clear error.",
    )
