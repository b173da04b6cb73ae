"""`geoportal demo ...`: the open Kyrgyzstan data that makes a fresh install useful."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from geoportal.cli.progress import progress_bar
from geoportal.db.database import Database
from geoportal.demo.loader import load_demo, loadable_layers
from geoportal.settings import Settings
from layers.catalogue import load_catalogue

console = Console()
app = typer.Typer(help="Demo data: real open data of Kyrgyzstan (Natural Earth, GeoNames, "
                  "geoBoundaries, GEBCO) shipped in geoportal/demo/data.", no_args_is_help=True)


@app.command()
def load(
    layers: list[str] = typer.Option(None, "--layer", "-l",
                                     help="Load only this layer (repeatable). Default: all."),
) -> None:
    """Load the base layers: read each file with GDAL, validate it against its declaration,
    reproject it to the storage CRS and COPY it in. All layers are replaced in one
    transaction: on any error nothing changes and the previous data stays."""
    database = Database(Settings())
    selected = loadable_layers(load_catalogue(), layers)
    started = time.perf_counter()
    with progress_bar(console) as progress:
        checked = progress.add_task("validating files", total=len(selected))
        loaded = progress.add_task("loading into PostGIS", total=len(selected))
        results = load_demo(
            database.owner_conninfo,
            selected,
            on_prepared=lambda layer: progress.advance(checked),
            on_loaded=lambda item: progress.advance(loaded),
        )
    total = sum(r.feature_count for r in results)
    console.print(f"loaded {len(results)} layers, {total} features in "
                  f"{time.perf_counter() - started:.1f} s: "
                  + ", ".join(f"{r.layer_id} {r.feature_count}" for r in results))
