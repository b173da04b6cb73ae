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


def _ingest_imagery(settings: Settings) -> Callable[[JobContext], Mapping[str, Any]]:
    """`imagery.ingest`: a scene into the image bank and NDVI per plot (imagery package)."""

    def run(context: JobContext) -> Mapping[str, Any]:
        from imagery.blocks import scheduler  # Dask and rasterio only in the worker
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
    return {kind.name: kind for kind in kinds}
