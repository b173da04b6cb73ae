"""The kinds of job the geoportal's workers run, in one table (`JOB_KINDS`).

Each kind is the job queue's `JobKind`: its name, whether it is safe to run again after its
worker died, and its code, a thin adapter over a domain package. Issues to come add their
kinds here (uploads, exports, imagery, processes); the worker, `/jobs` and
`geoportal jobs` need no change for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psycopg

from analyses import PROCESSES, InvalidInputError, Process
from exports.errors import ExportsError
from geoportal.catalogue.records import sync_datasets
from geoportal.db.database import Database
from geoportal.settings import Settings
from geoportal.uploads import removing_upload, upload_root
from ingestion.errors import IngestionError
from jobs import JobContext, JobFailedError, JobKind
from layers.catalogue import load_catalogue
from layers.errors import LayersError

CLI_OWNER = "cli"
"""Owner of the jobs an operator queues from the command line (only admins see them)."""


LOAD_INPUTS = (
    "layer",
    "path",
    "mode",
    "sourceLayer",
    "encoding",
    "crs",
    "skipInvalid",
    "dryRun",
    "mapping",
    "scope",
    "key",
)
"""Inputs of a `layers.load` job (the CLI's `layers load` options, by the same names)."""


def _key(inputs: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The `key` input: the field(s) an upsert matches on instead of the declared key."""
    key = inputs.get("key")
    if key is None:
        return None
    if isinstance(key, str):
        key = [key]
    if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        raise JobFailedError("key: expected a field name or a list of field names")
    return tuple(key)


def _load_request(inputs: Mapping[str, Any], owner: str | None, job_id: str | None = None) -> Any:
    """The `LoadRequest` a job's inputs describe (JobFailedError naming a bad input)."""
    from ingestion.pipeline import LoadRequest, LoadScope, parse_mapping
    from ingestion.sources import SourceOptions

    unknown = set(inputs) - set(LOAD_INPUTS)
    if unknown:
        raise JobFailedError(f"unknown inputs {sorted(unknown)}; known: {list(LOAD_INPUTS)}")
    scope = inputs.get("scope")
    if scope is not None and not isinstance(scope, Mapping):
        raise JobFailedError("scope: expected {user, themes, oblasts}")
    mapping = inputs.get("mapping")
    if mapping is not None and not isinstance(mapping, Mapping):
        raise JobFailedError("mapping: expected an object: field name -> column or source")
    text = {name: inputs.get(name) for name in ("sourceLayer", "encoding", "crs")}
    catalogue = load_catalogue()
    layer = catalogue.get(str(inputs.get("layer")))
    return LoadRequest(
        layer=layer,
        referenced={
            f.name: catalogue.get(f.references).qualified_table
            for f in layer.fields
            if f.references
        },
        path=Path(str(inputs.get("path", ""))),
        mode=str(inputs.get("mode") or "replace"),  # type: ignore[arg-type]
        source=SourceOptions(
            source_layer=str(text["sourceLayer"]) if text["sourceLayer"] else None,
            encoding=str(text["encoding"]) if text["encoding"] else None,
            crs=str(text["crs"]) if text["crs"] else None,
        ),
        mapping=parse_mapping(mapping) if mapping else None,
        skip_invalid=bool(inputs.get("skipInvalid", False)),
        dry_run=bool(inputs.get("dryRun", False)),
        scope=LoadScope(
            user=str(scope.get("user") or owner or CLI_OWNER),
            role=str(scope.get("role") or "agency"),
            themes=tuple(str(t) for t in scope.get("themes") or ()),
            oblasts=tuple(str(o) for o in scope.get("oblasts") or ()),
        )
        if scope
        else None,
        actor=owner or CLI_OWNER,
        key=_key(inputs),
        job_id=job_id,
    )


def run_layer_load(
    settings: Settings,
    inputs: Mapping[str, Any],
    *,
    owner: str | None = None,
    progress: Callable[[int, str], None] | None = None,
    job_id: str | None = None,
) -> dict[str, Any]:
    """Load a file into a layer as `inputs` say: what `geoportal layers load` and the
    `layers.load` job (`job_id`, recorded in the load's audit change set) both run.
    Returns the results (counts, the report as JSON and HTML).

    Raises:
        JobFailedError: a bad input or file, a refused load (its results hold the report).
    """
    from ingestion.errors import LoadRefusedError
    from ingestion.pipeline import load_file  # pandas and GDAL only where loads run

    try:
        request = _load_request(inputs, owner, job_id)
        conninfo = Database(settings).owner_conninfo
        with psycopg.connect(conninfo) as conn:
            sync_datasets(conn, load_catalogue())
        outcome = load_file(conninfo, request, settings.ingestion, progress)
    except LoadRefusedError as exc:
        report = exc.report
        results = {"report": report.to_dict(), "reportHtml": report.to_html()}  # type: ignore[attr-defined]
        raise JobFailedError(f"the file was not loaded: {exc}", results) from exc
    except (IngestionError, LayersError) as exc:
        raise JobFailedError(str(exc)) from exc
    return {**outcome.to_dict(), "reportHtml": outcome.report.to_html()}


def _load_layer(settings: Settings) -> Callable[[JobContext], Mapping[str, Any]]:
    """`layers.load`: one file into one layer (`run_layer_load`)."""

    def run(context: JobContext) -> Mapping[str, Any]:
        path = Path(str(context.job.inputs.get("path", "")))
        if not path.is_file():
            raise JobFailedError(f"path: no file {path} on the worker's machine")
        context.progress(1, f"reading and validating {path.name}")
        return run_layer_load(
            settings,
            context.job.inputs,
            owner=context.job.owner,
            progress=context.progress,
            job_id=str(context.job.id),
        )

    return run


def _export(settings: Settings) -> Callable[[JobContext], Mapping[str, Any]]:
    """`downloads.export`: a large download written into the job's folder (public role)."""

    def run(context: JobContext) -> Mapping[str, Any]:
        from geoportal.data_exports import run_export_job  # pyarrow and GDAL only here

        try:
            return run_export_job(settings, load_catalogue(), context)
        except ExportsError as exc:
            raise JobFailedError(str(exc)) from exc

    return run


def _ingest_imagery(settings: Settings) -> Callable[[JobContext], Mapping[str, Any]]:
    """`imagery.ingest`: a scene into the image bank and NDVI per plot (imagery package)."""

    def run(context: JobContext) -> Mapping[str, Any]:
        from imagery import bank
        from imagery.blocks import scheduler  # Dask and rasterio only in the worker
        from imagery.catalog import scene_items
        from imagery.errors import ImageryError
        from imagery.pipeline import ingest_scene
        from imagery.workflows import plot_ndvi

        inputs = context.job.inputs
        path = Path(str(inputs.get("path", "")))
        if not path.exists():
            raise JobFailedError(f"path: no scene {path} on the worker's machine")
        last = [-1]

        def progress(percent: float, message: str) -> None:
            if int(percent * 0.9) != last[0]:  # one update per percent, 90% for the rasters
                last[0] = int(percent * 0.9)
                context.progress(last[0], message)

        try:
            when = inputs.get("datetime")
            with scheduler(inputs.get("daskScheduler")):
                result = ingest_scene(
                    path, settings.data_dir, sensor=inputs.get("sensor"),
                    when=dt.datetime.fromisoformat(str(when)) if when else None,
                    progress=progress,
                )  # fmt: skip
            context.progress(92, "NDVI per plot")
            with psycopg.connect(Database(settings).owner_conninfo) as conn:
                plots = plot_ndvi(conn, settings.data_dir, result.scene)
                bank.publish(conn, scene_items(settings.data_dir, result.scene.id))
        except (ImageryError, ValueError) as exc:
            raise JobFailedError(str(exc)) from exc
        return {
            "collection": result.scene.collection_id,
            "item": result.scene.id,
            "cloudCover": result.scene.properties["eo:cloud_cover"],
            "products": sorted(result.products),
            "plots": plots,
        }

    return run


ANALYSIS_ATTEMPTS = 2
"""An analysis only reads: a job whose worker died is run once more."""


def _analysis(
    settings: Settings | None, process: Process
) -> Callable[[JobContext], Mapping[str, Any]]:
    """An analysis of `analyses` (an OGC API process): its inputs checked again, run on a
    read-only connection of the public role (primary), results returned as the job's."""

    def run(context: JobContext) -> Mapping[str, Any]:
        if settings is None:
            raise JobFailedError("this process runs in a worker")
        try:
            params = process.parse(context.job.inputs)
            context.progress(5, "inputs checked")
            with psycopg.connect(
                Database(settings).public_conninfo, application_name=f"analysis-{process.id}"
            ) as conn:
                conn.execute(
                    "SELECT set_config('statement_timeout', %s, false)",
                    [str(int(settings.processes.statement_timeout_s * 1000))],
                )
                return process.run(conn, params, context.progress)
        except InvalidInputError as exc:
            raise JobFailedError(str(exc)) from exc
        except psycopg.errors.QueryCanceled as exc:
            raise JobFailedError(
                f"the analysis ran longer than {settings.processes.statement_timeout_s:g} s"
            ) from exc

    return run


def analysis_kind(process: Process, settings: Settings | None = None) -> JobKind:
    """The job kind of an analysis, named after its process id (the server only submits
    jobs of it and needs no `settings`; a worker's kind runs them)."""
    return JobKind(
        name=process.id,
        title=process.title,
        description=str(process.description["description"]),
        run=_analysis(settings, process),
        retryable=True,
        max_attempts=ANALYSIS_ATTEMPTS,
        inputs_schema=dict(process.description["inputs"]),
    )


def job_kinds(settings: Settings) -> dict[str, JobKind]:
    """Every kind of job, by name."""
    kinds = [
        JobKind(
            name="layers.load",
            title="Load a layer from a file",
            description="Load a vector file into one layer (replace, append or upsert; "
            "validated with a full report, reprojected, merged in one transaction: a failed "
            "or interrupted load changes nothing). Inputs: " + ", ".join(LOAD_INPUTS) + ".",
            run=removing_upload(  # an uploaded file goes when its job ends (uploads.py)
                _load_layer(settings),
                upload_root(settings.data_dir),
                lambda: Database(settings).owner_conninfo,
                settings.uploads.orphan_after_s,
            ),
            retryable=True,
            max_attempts=2,
        ),
        JobKind(
            name="downloads.export",
            title="Export public layers as a file",
            description="A download too large to answer at once (`/downloads/{format}`): "
            "written by a worker, its file linked from the job's results.",
            run=_export(settings),
            retryable=True,
            max_attempts=2,
        ),
        JobKind(
            name="imagery.ingest",
            title="Ingest a satellite scene",
            description="A Sentinel-2 L2A or Landsat C2 L2 scene (a folder of band files or a "
            "multiband GeoTIFF the worker can read: inputs path, optional sensor, datetime, "
            "daskScheduler) into masked reflectance, NDVI, NDWI and NBR COGs with STAC items, "
            "and NDVI statistics of the plots it covers.",
            run=_ingest_imagery(settings),
            inputs_schema={
                "type": "object",
                "required": ["path"],
                "properties": {
                    "path": {"type": "string"},
                    "sensor": {"enum": ["sentinel-2", "landsat"]},
                    "datetime": {"type": "string", "format": "date-time"},
                    "daskScheduler": {"type": "string", "pattern": "^tcp://"},
                },
            },
            retryable=True,
            max_attempts=2,
        ),
    ]
    kinds += [analysis_kind(process, settings) for process in PROCESSES.values()]
    return {kind.name: kind for kind in kinds}
