"""`geoportal imagery ...`: satellite scenes, the terrain model and change detection into the
image bank (`DATA_DIR/imagery/`) and the imagery layers.

The `imagery` package (Dask, rasterio, rio-cogeo, exactextract) is imported inside the
commands, so that every other command of the CLI starts without it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import typer
from rich.console import Console

from geoportal.cli.progress import progress_bar
from geoportal.db.database import Database
from geoportal.settings import Settings

console = Console()
app = typer.Typer(
    help="Satellite imagery and terrain: scenes to reflectance and index COGs with STAC "
    "items, NDVI per plot, burned areas and landscape change, slope and hillshade.",
    no_args_is_help=True,
)
SCHEDULER_HELP = (
    "Address of a Dask distributed scheduler (tcp://host:8786); default: local threads."
)
CHUNK_HELP = "Chunk side in pixels (memory is bounded by a few chunks per thread)."


def _date(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date", param_hint="--date") from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@app.command("ingest")
def ingest_command(
    path: Path = typer.Argument(..., help="A multiband GeoTIFF or a folder of band files."),
    sensor: str = typer.Option(None, help="sentinel-2 or landsat, when the names do not tell."),
    date: str = typer.Option(None, help="Acquisition date (ISO 8601), when not in the names."),
    plots: bool = typer.Option(True, help="Write NDVI statistics of the covered plots."),
    publish: bool = typer.Option(
        True, help="Store the STAC items in the image bank (/stac, in the database)."
    ),
    dask_scheduler: str = typer.Option(None, "--dask-scheduler", help=SCHEDULER_HELP),
    chunk: int = typer.Option(1024, min=64, help=CHUNK_HELP),
) -> None:
    """Ingest a Sentinel-2 L2A or Landsat 8/9 C2 L2 scene: masked surface reflectance COGs,
    NDVI, NDWI and NBR COGs with overviews, STAC items in the image bank, and (with a
    database) NDVI per agricultural plot with z-scores and anomalies."""
    from imagery import bank
    from imagery.blocks import scheduler
    from imagery.catalog import scene_items
    from imagery.pipeline import ingest_scene
    from imagery.workflows import plot_ndvi

    settings = Settings()
    with scheduler(dask_scheduler) as where, progress_bar(console) as progress:
        task = progress.add_task(f"ingesting on {where}", total=100)
        result = ingest_scene(
            path, settings.data_dir, sensor=sensor, when=_date(date), chunk=chunk,
            progress=lambda pct, msg: progress.update(task, completed=pct, description=msg[-28:]),
        )  # fmt: skip
    console.print(
        f"{result.scene.collection_id}/{result.scene.id}: cloud cover "
        f"{result.scene.properties['eo:cloud_cover']}%, products {', '.join(result.products)}"
    )
    if not (publish or plots):
        return
    with psycopg.connect(Database(settings).owner_conninfo) as conn:
        if publish:
            stored = bank.publish(conn, scene_items(settings.data_dir, result.scene.id))
            console.print(f"{stored} STAC items in the image bank (/stac)")
        if plots:
            count = plot_ndvi(conn, settings.data_dir, result.scene)
            console.print(f"NDVI statistics of {count} plots written to agri_plot_ndvi")


@app.command("terrain")
def terrain_command(
    dem: Path = typer.Argument(..., help="A DEM GeoTIFF (metres)."),
    date: str = typer.Option(None, help="Date of the DEM (ISO 8601); default: the file's."),
    dask_scheduler: str = typer.Option(None, "--dask-scheduler", help=SCHEDULER_HELP),
    chunk: int = typer.Option(1024, min=64, help=CHUNK_HELP),
) -> None:
    """Ingest a DEM: elevation, slope, aspect and hillshade COGs with STAC items."""
    from imagery import bank
    from imagery.blocks import scheduler
    from imagery.workflows import ingest_terrain

    settings = Settings()
    with scheduler(dask_scheduler) as where, progress_bar(console) as progress:
        task = progress.add_task(f"terrain on {where}", total=100)
        items = ingest_terrain(
            dem, settings.data_dir, when=_date(date), chunk=chunk,
            progress=lambda pct, msg: progress.update(task, completed=pct, description=msg[-28:]),
        )  # fmt: skip
    with psycopg.connect(Database(settings).owner_conninfo) as conn:
        bank.publish(conn, items.values())
    console.print(f"terrain products: {', '.join(f'{k}/{v.id}' for k, v in items.items())}")


@app.command("change")
def change_command(
    before: str = typer.Argument(..., help="STAC id of the earlier ingested scene."),
    after: str = typer.Argument(..., help="STAC id of the later ingested scene (same tile)."),
    dnbr: float = typer.Option(0.27, help="Least dNBR of a burned pixel."),
    burned_min_ha: float = typer.Option(1.0, help="Least area of a burned patch (ha)."),
    ndvi_drop: float = typer.Option(0.2, help="Least NDVI drop of a vegetation loss."),
    change_min_ha: float = typer.Option(0.5, help="Least area of a vegetation loss (ha)."),
    dask_scheduler: str = typer.Option(None, "--dask-scheduler", help=SCHEDULER_HELP),
) -> None:
    """Burned areas (dNBR) and vegetation loss (NDVI drop) between two ingested scenes,
    written to the burned_areas and landscape_changes layers."""
    from imagery.blocks import scheduler
    from imagery.workflows import ChangeSettings, detect_change, write_change

    settings = Settings()
    thresholds = ChangeSettings(
        dnbr_min=dnbr, burned_min_ha=burned_min_ha, ndvi_drop=ndvi_drop,
        change_min_ha=change_min_ha,
    )  # fmt: skip
    with scheduler(dask_scheduler):
        result = detect_change(settings.data_dir, before, after, thresholds)
    with psycopg.connect(Database(settings).owner_conninfo) as conn:
        burned, changes = write_change(conn, result)
    console.print(f"{burned} burned areas, {changes} landscape changes written")
