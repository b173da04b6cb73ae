"""The geoportal's settings: one pydantic-settings class, environment prefix `GEOPORTAL_`.

Created once by the CLI entry point or `create_app` and passed down as an argument.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from analyses.settings import ProcessSettings
from cadastre.settings import CadastreSettings
from exports.settings import ExportSettings
from geoportal.security.settings import SecuritySettings
from geoportal.uploads import UploadSettings
from ingestion.settings import IngestionSettings
from jobs.settings import JobSettings
from tiles.settings import TileSettings

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """Deployment settings, read from `GEOPORTAL_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(
        env_prefix="GEOPORTAL_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        env_nested_delimiter="__",
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("GEOPORTAL_DATABASE_URL", "DATABASE_URL"),
        description="An existing PostgreSQL/PostGIS server. Unset: the embedded cluster.",
    )
    public_database_url: str | None = Field(
        default=None,
        description="Connection for the public read path; unset: DATABASE_URL + SET ROLE.",
    )
    database_read_url: str | None = Field(
        default=None,
        description="A streaming replica for the features and search reads (as "
        "geoportal_public); writes, tiles, their change listener and jobs stay on the primary.",
    )
    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Where the embedded cluster, generated configuration and caches live.",
    )
    db_name: str = "geoportal"
    db_port: int = Field(
        default=5432,
        ge=1,
        le=65535,
        description="Port of the embedded cluster (its socket file name).",
    )
    db_listen_tcp: bool = Field(default=False, description="Also listen on 127.0.0.1:db_port.")
    pg_bin_dir: Path | None = Field(default=None, description="Folder of initdb/pg_ctl.")
    pg_run_user: str = Field(
        default="postgres", description="Unprivileged user that runs the cluster under root."
    )

    host: str = "127.0.0.1"
    port: int = Field(default=5000, ge=1, le=65535)
    base_url: str | None = Field(
        default=None, description="Public URL of the server; default http://{host}:{port}."
    )
    workers: int = Field(default=1, ge=1, le=64)
    statement_timeout_ms: int = Field(default=30_000, ge=100)
    default_language: Literal["en", "ru", "ky"] = "en"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["plain", "json"] = Field(
        default="plain",
        description="plain: one readable line per record; json: one JSON object per line "
        "(time, level, logger, message, request_id; access lines add method, path, status, "
        "duration_ms) for a log collector.",
    )
    country_buffer_m: float = Field(
        default=10_000,
        ge=0,
        le=200_000,
        description="Every layer geometry must lie inside the country's border buffered by "
        "this many metres (enforced by the database; applied by `geoportal db migrate`).",
    )
    tiles: TileSettings = Field(
        default_factory=TileSettings, description="Tile cache and limits (GEOPORTAL_TILES__...)."
    )
    security: SecuritySettings = Field(
        default_factory=SecuritySettings,
        description="Tokens, keys, limits, CORS (GEOPORTAL_SECURITY__...).",
    )
    jobs: JobSettings = Field(
        default_factory=JobSettings,
        description="The job queue: heartbeat, when a worker counts as dead, how long "
        "finished jobs are kept (GEOPORTAL_JOBS__...).",
    )
    downloads: ExportSettings = Field(
        default_factory=ExportSettings,
        description="File downloads: the largest export answered at once (more becomes a "
        "job), rows per chunk, timeout (GEOPORTAL_DOWNLOADS__...).",
    )
    cadastre: CadastreSettings = Field(
        default_factory=CadastreSettings,
        description="Topology tolerance and the plan signing key (GEOPORTAL_CADASTRE__...).",
    )
    ingestion: IngestionSettings = Field(
        default_factory=IngestionSettings,
        description="File loading: chunk size and the time limit of one load "
        "(GEOPORTAL_INGESTION__...).",
    )
    uploads: UploadSettings = Field(
        default_factory=UploadSettings,
        description="Uploads through POST /ingest: size, archive limits (GEOPORTAL_UPLOADS__...).",
    )
    processes: ProcessSettings = Field(
        default_factory=ProcessSettings,
        description="OGC API Processes: how long a synchronous execution waits for its job, "
        "how long an analysis may run (GEOPORTAL_PROCESSES__...).",
    )
    pygeoapi_base: Path | None = Field(
        default=None,
        description="Base of the generated "
        "pygeoapi configuration (default config/pygeoapi-base.yml).",
    )
    viewer_external_basemap: str | None = Field(
        default=None,
        description="Optional raster tiles under the viewer's layers for "
        "deployments with internet, an XYZ template such as "
        "https://tile.example.org/{z}/{x}/{y}.png; off by default (no external requests).",
    )
    viewer_external_basemap_attribution: str = Field(
        default="", description="Attribution shown for viewer_external_basemap."
    )
    viewer_vendor_dir: Path | None = Field(
        default=None,
        description="The npm packages the map viewer and folium previews serve "
        "(default: browser-libs/node_modules of the source tree, installed by `make setup`; "
        "for an installed package see geoportal/viewer/vendor.py).",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def embedded(self) -> bool:
        """True when the CLI manages its own PostGIS cluster."""
        return not self.database_url

    @property
    def public_url(self) -> str:
        """Base URL used in links (no trailing slash)."""
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def server_dir(self) -> Path:
        """Where the generated pygeoapi configuration and OpenAPI document are written."""
        return self.data_dir / "server"


def is_root() -> bool:
    """True when running as root (PostgreSQL then runs as `pg_run_user`)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0
