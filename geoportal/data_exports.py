"""File exports as the route (`/downloads/{format}`), the job kind (`downloads.export`) and
the CLI (`geoportal export`) ask for them: parameters, regions, the export's database session,
file names and where job files are kept.

The work is the `exports` package; this module turns user words (layer ids, a bbox text, an
oblast or rayon name) into its arguments, so every entry point accepts the same things and
gives the same errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from exports.errors import InvalidExportError
from exports.plan import ExportPlan, ExportQuery, RegionRef, parse_bbox
from geoportal.db.database import Database
from geoportal.db.pools import SessionSettings
from geoportal.regions import RegionNotFoundError, get_oblast, get_rayon
from geoportal.settings import Settings
from layers.catalogue import Catalogue

EXPORT_PATH = "/downloads/{format}"
FILES_PATH = "/downloads/files/{jobId}"
JOB_KIND = "downloads.export"
APPLICATION_NAME = "geoportal-downloads"
PARAMS = ("layers", "bbox", "oblast", "rayon", "filter", "filter-lang", "datetime", "crs")
REGION_LAYERS = {"oblast": "oblasts", "rayon": "rayons"}


@dataclass(frozen=True, kw_only=True)
class AskedExport:
    """An export as asked, before its region name is resolved."""

    format: str
    layers: tuple[str, ...]
    bbox: tuple[float, float, float, float] | None
    oblast: str | None
    rayon: str | None
    filter: str | None
    datetime: str | None
    crs: str | None

    def query(self, region: RegionRef | None) -> ExportQuery:
        """The domain's query once the region is resolved."""
        return ExportQuery(
            format=self.format,
            layers=self.layers,
            bbox=self.bbox,
            region=region,
            filter=self.filter,
            datetime=self.datetime,
            crs=self.crs,
        )


def parse_params(fmt: str, params: Mapping[str, str]) -> AskedExport:
    """The export a request's query parameters ask for.

    Raises:
        InvalidExportError: an unknown parameter, a malformed bbox, several areas, a filter
            language other than CQL2 text.
    """
    unknown = sorted(set(params) - {*PARAMS, "lang", "f"})
    if unknown:
        raise InvalidExportError(
            f"unknown parameters {', '.join(unknown)}; this endpoint takes {', '.join(PARAMS)}"
        )
    text = {name: (params.get(name) or "").strip() for name in PARAMS}
    if text["filter-lang"] not in ("", "cql2-text"):
        raise InvalidExportError(f"filter-lang {text['filter-lang']!r}: only cql2-text is read")
    areas = [name for name in ("bbox", "oblast", "rayon") if text[name]]
    if len(areas) > 1:
        raise InvalidExportError(f"give at most one area: {', '.join(areas)} were given")
    return AskedExport(
        format=fmt,
        layers=tuple(p.strip() for p in text["layers"].split(",") if p.strip()),
        bbox=parse_bbox(text["bbox"]) if text["bbox"] else None,
        oblast=text["oblast"] or None,
        rayon=text["rayon"] or None,
        filter=text["filter"] or None,
        datetime=text["datetime"] or None,
        crs=text["crs"] or None,
    )


async def resolve_region(
    conn: psycopg.AsyncConnection[Any], catalogue: Catalogue, asked: AskedExport
) -> RegionRef | None:
    """The oblast or rayon the export asks for, as a row of its layer (None: no region).

    Raises:
        InvalidExportError: an unknown name (the message lists the valid ones), or no such
            layer declared.
    """
    kind = "oblast" if asked.oblast else "rayon" if asked.rayon else None
    if kind is None:
        return None
    layer_id = REGION_LAYERS[kind]
    if layer_id not in catalogue.ids:
        raise InvalidExportError(f"no {layer_id} layer is declared: give a bbox")
    layer = catalogue.get(layer_id)
    find = get_oblast if kind == "oblast" else get_rayon
    try:
        region = await find(conn, layer, asked.oblast or asked.rayon or "")
    except RegionNotFoundError as exc:
        raise InvalidExportError(f"{kind}: {exc}") from None
    return RegionRef(
        kind, layer.schema_name, layer.table, region.id, layer.storage_srid, region.label
    )


def session(settings: Settings) -> SessionSettings:
    """Session settings of an export's connection: timeout, UTC, read only, its name."""
    return SessionSettings(
        statement_timeout_ms=settings.downloads.statement_timeout_ms,
        utc=True,
        read_only=True,
        application_name=APPLICATION_NAME,
    )


def connect(settings: Settings) -> psycopg.Connection[Any]:
    """A connection of its own for one export, as the public role (read path): an export
    holds its connection for minutes, which a shared pool should not lend."""
    conn = psycopg.connect(Database(settings).read_conninfo, autocommit=True)
    session(settings).apply(conn)
    return conn


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "export"


def file_stem(plan: ExportPlan) -> str:
    """A file name (without extension) saying what the export holds."""
    query = plan.query
    if query.layers:
        what = "-".join(query.layers) if len(query.layers) <= 3 else "layers"
    else:
        what = "extract"
    where = query.region.label if query.region else "bbox" if query.bbox else "kyrgyzstan"
    return _slug(f"{what}-{where}")


def job_folder(settings: Settings, job_id: str) -> Path:
    """Where the file of an export job is written and served from."""
    return settings.data_dir / "downloads" / job_id


def remove_old_files(settings: Settings) -> None:
    """Delete the files of export jobs older than the queue keeps finished jobs."""
    import shutil
    import time

    root = settings.data_dir / "downloads"
    oldest = time.time() - settings.jobs.keep_days * 86_400
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.is_dir() and folder.stat().st_mtime < oldest:
            shutil.rmtree(folder, ignore_errors=True)


def run_export_job(settings: Settings, catalogue: Catalogue, context: Any) -> dict[str, Any]:
    """Write the export a `downloads.export` job's inputs ask for into its folder; its
    results: the file's link, name, media type, size and counts per layer."""
    import shutil

    from exports.plan import plan_export
    from exports.reading import count_layers, without_empty_layers
    from exports.writers import write_export

    job = context.job
    query = ExportQuery.from_inputs(dict(job.inputs.get("query") or {}))
    folder = job_folder(settings, str(job.id))
    shutil.rmtree(folder, ignore_errors=True)  # a retried job starts again
    remove_old_files(settings)
    with connect(settings) as conn:
        plan = without_empty_layers(conn, plan_export(conn, catalogue, query))
        total = max(1, sum(count_layers(conn, plan).values()))
        written = [0]

        def on_rows(layer_id: str, rows: int) -> None:
            written[0] += rows
            context.progress(
                min(99, 100 * written[0] // total),
                f"{layer_id}: {written[0]:,} of {total:,} features written",
            )

        result = write_export(
            conn,
            plan,
            folder,
            file_stem(plan),
            chunk_rows=settings.downloads.chunk_rows,
            on_rows=on_rows,
        )
    return {
        "href": f"{settings.public_url}{FILES_PATH.format(jobId=job.id)}",
        "filename": result.filename,
        "mediaType": result.media_type,
        "bytes": result.path.stat().st_size,
        "featureCount": result.features,
        "layers": result.counts,
    }
