"""Settings of the tile engine, composed into the server's settings by `geoportal`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from layers.geography import KYRGYZSTAN_BBOX_4326, rounded_outward

KYRGYZSTAN_BOUNDS_4326 = rounded_outward(KYRGYZSTAN_BBOX_4326, 0.5)
"""The country's bounding box (`layers.geography`) rounded outward to half a degree,
(69.0, 39.0, 80.5, 43.5): the default tile matrix set limits (tiles outside are 404)."""


class TileSettings(BaseModel):
    """How tiles are rendered, cached and kept fresh."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cache_dir: Path | None = Field(
        default=None,
        description="On-disk tile cache; None: `tiles` in the server's data directory.",
    )
    disk_cache: bool = Field(default=True, description="False: memory cache only.")
    memory_cache_mb: int = Field(default=128, ge=0, description="Memory LRU size (MiB).")
    statement_timeout_ms: int = Field(default=10_000, ge=100, description="Per tile query.")
    pool_max_size: int = Field(default=8, ge=1, le=128)
    extent: int = Field(default=4096, ge=256, le=16384, description="MVT tile extent.")
    buffer: int = Field(default=64, ge=0, le=1024, description="MVT buffer in extent units.")
    max_features: int = Field(
        default=20_000, ge=1, description="Default feature cap per layer and tile."
    )
    bounds_4326: tuple[float, float, float, float] = Field(
        default=KYRGYZSTAN_BOUNDS_4326, description="Tiles outside this box are 404."
    )
    export_max_tiles: int = Field(
        default=200_000,
        ge=1,
        description="Most tiles a `geoportal tiles export` archive may hold (--max-tiles).",
    )
    download_max_tiles: int = Field(
        default=20_000, ge=1, description="Most tiles a `/downloads/pmtiles` archive may hold."
    )
    download_concurrency: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Tiles one download renders at once (tile pool connections).",
    )
    max_age_s: int = Field(
        default=60,
        ge=0,
        description="Cache-Control max-age for clients and CDNs (then they revalidate with the "
        "ETag: an edit shows within this time); 0: clients revalidate every time.",
    )
