"""The kinds of job the geoportal's workers run, in one table (`JOB_KINDS`).

Each kind is the job queue's `JobKind`: its name, whether it is safe to run again after its
worker died, and its code, a thin adapter over a domain package. Issues to come add their
kinds here (uploads, exports, imagery, processes); the worker, `/jobs` and
`geoportal jobs` need no change for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psycopg

from analyses import PROCESSES, InvalidInputError, Process
from geoportal.catalogue.records import sync_datasets
from geoportal.db.database import Database
from geoportal.settings import Settings
from ingestion.errors import IngestionError
from jobs import JobContext, JobFailedError, JobKind
from layers.catalogue import load_catalogue
from layers.errors import LayersError

CLI_OWNER = "cli"
"""Owner of the jobs an operator queues from the command line (only admins see them)."""


def _load_layer(settings: Settings) -> Callable[[JobContext], Mapping[str, Any]]:
    """`layers.load`: replace one layer's rows from a file the worker can read."""

    def run(context: JobContext) -> Mapping[str, Any]:
        from ingestion.load import load_layers  # pandas and GDAL only in the worker
        from ingestion.vector import prepare_layer

        inputs = context.job.inputs
        catalogue = load_catalogue()
        path = Path(str(inputs.get("path", "")))
        try:
            layer = catalogue.get(str(inputs.get("layer")))
            if not path.is_file():
                raise JobFailedError(f"path: no file {path} on the worker's machine")
            context.progress(5, f"reading and validating {path.name}")
            prepared = prepare_layer(layer, path.parent, path)
            context.progress(50, f"{len(prepared.rows)} valid features; loading")
            conninfo = Database(settings).owner_conninfo
            with psycopg.connect(conninfo) as conn:
                sync_datasets(conn, catalogue)
            result = load_layers(conninfo, [prepared])[0]
        except (IngestionError, LayersError) as exc:
            raise JobFailedError(str(exc)) from exc
        return {
            "layer": layer.id,
            "featureCount": result.feature_count,
            "repairedGeometries": result.repaired,
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
            description="Replace one layer's rows with a vector file (validated, reprojected, "
            "swapped in one transaction: a failed or interrupted load changes nothing).",
            run=_load_layer(settings),
            retryable=True,
            max_attempts=2,
        ),
    ]
    kinds += [analysis_kind(process, settings) for process in PROCESSES.values()]
    return {kind.name: kind for kind in kinds}
