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


def job_kinds(settings: Settings) -> dict[str, JobKind]:
    """Every kind of job, by name."""
    kinds = [
        JobKind(
            name="layers.load",
            title="Load a layer from a file",
            description="Replace one layer's rows with a vector file (validated, reprojected, "
            "swapped in one transaction: a failed or interrupted load changes nothing).",
            run=removing_upload(  # an uploaded file goes when its job ends (uploads.py)
                _load_layer(settings),
                upload_root(settings.data_dir),
                lambda: Database(settings).owner_conninfo,
                settings.uploads.orphan_after_s,
            ),
            retryable=True,
            max_attempts=2,
        ),
    ]
    return {kind.name: kind for kind in kinds}
