"""`geoportal layers ...`: the national layer catalogue."""

from __future__ import annotations

from pathlib import Path

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from geoportal.catalogue.records import sync_datasets
from geoportal.cli.osm_cmd import import_osm
from geoportal.db.database import Database
from geoportal.job_kinds import CLI_OWNER, job_kinds
from geoportal.settings import Settings
from jobs import queue
from layers.catalogue import load_catalogue

console = Console()
app = typer.Typer(
    help="The national layers declared in layers/declarations/.", no_args_is_help=True
)


@app.command("list")
def list_layers(
    language: str = typer.Option("en", "--lang", help="Language of the titles: ky, ru or en."),
) -> None:
    """List the declared layers with their theme, geometry and loaded feature count."""
    catalogue = load_catalogue()
    counts: dict[str, int] = {}
    try:
        with psycopg.connect(Database(Settings()).public_conninfo, connect_timeout=3) as conn:
            counts = dict(
                conn.execute("SELECT layer_id, feature_count FROM catalog.layer_stats").fetchall()
            )
    except psycopg.Error:
        console.print("[yellow]database not reachable: feature counts not shown[/]")
    table = Table("id", "theme", "title", "geometry", "features")
    for layer in catalogue:
        table.add_row(
            layer.id,
            layer.theme,
            layer.title.get(language),
            layer.geometry_type,
            str(counts.get(layer.id, "-")),
        )
    console.print(table)


@app.command()
def load(
    layer_id: str = typer.Argument(..., help="Id of the layer, e.g. oblasts."),
    path: Path = typer.Argument(
        ...,
        help="Vector file GDAL reads (GeoJSON, GeoPackage, ...) "
        "with the columns the declaration maps from.",
    ),
    background: bool = typer.Option(
        False,
        "--background",
        help="Queue the load as a job for `geoportal worker` (print its id and return; "
        "follow it with `geoportal jobs show ID --wait`). The file must be readable by the "
        "worker's machine.",
    ),
) -> None:
    """Replace one layer's data with a file: validated and reprojected first, then swapped
    in one transaction. A bad file changes nothing."""
    from ingestion.load import load_layers  # GDAL and pandas: only for this command
    from ingestion.vector import prepare_layer

    catalogue = load_catalogue()
    layer = catalogue.get(layer_id)
    if background:
        _queue_load(layer.id, path)
        return
    prepared = prepare_layer(layer, path.parent, path)
    conninfo = Database(Settings()).owner_conninfo
    with psycopg.connect(conninfo) as conn:
        sync_datasets(conn, catalogue)
    result = load_layers(conninfo, [prepared])[0]
    console.print(f"loaded {result.feature_count} features into {layer_id}")


def _queue_load(layer_id: str, path: Path) -> None:
    """Submit a `layers.load` job (owned by the operator account `cli`: admins see it)."""
    settings = Settings()
    if not path.is_file():
        console.print(f"[bold red]error:[/] no file {path}")
        raise typer.Exit(1)
    kind = job_kinds(settings)["layers.load"]
    inputs = {"layer": layer_id, "path": str(path.resolve())}
    with psycopg.connect(Database(settings).owner_conninfo, connect_timeout=10) as conn:
        job = queue.submit(conn, kind, inputs, owner=CLI_OWNER, title=f"load {layer_id}")
    console.print(f"queued job {job.id}: `geoportal jobs show {job.id} --wait` follows it")


app.command("import-osm")(import_osm)
