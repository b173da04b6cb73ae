"""`geoportal demo ...`: data that makes a fresh install useful.

Real open data of Kyrgyzstan for the base layers, and generated, realistic data for the
layers that have no open source (roads, plots, canals, buildings, ...).

The `demo` package (pandas, geopandas, rasterio, ...) is imported inside the commands, so
that every other command of the CLI starts without it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import typer
from rich.console import Console

from geoportal.catalogue.records import sync_datasets
from geoportal.cli.progress import progress_bar
from geoportal.db.database import Database
from geoportal.settings import Settings
from layers.catalogue import Catalogue, load_catalogue

console = Console()
app = typer.Typer(
    help="Demo data: real open data of Kyrgyzstan (Natural Earth, GeoNames, "
    "geoBoundaries, GEBCO) shipped in demo/base/data, and generated data "
    "for the layers that have no open source.",
    no_args_is_help=True,
)

SCALE_HELP = (
    "small: every layer in every region, loads in about a minute (make run, tests); "
    "national: benchmark volumes (300,000 plots, 50,000 road segments, "
    "200,000 buildings)."
)


def _themes(catalogue: Catalogue) -> list[str]:
    from demo.generate import THEMES

    declared = {layer.theme for layer in catalogue}
    return [theme for theme, _ in THEMES if theme in declared]


def _generate(catalogue: Catalogue, scale: str, seed: int, out: Path) -> None:
    from demo.generate import generate

    themes = _themes(catalogue)
    started = time.perf_counter()
    with progress_bar(console) as progress:
        task = progress.add_task(f"generating {scale} (seed {seed})", total=len(themes))
        counts = generate(
            scale, seed, out, themes, on_theme=lambda theme, _: progress.advance(task)
        )
    console.print(
        f"generated {len(counts)} layers, {sum(counts.values())} features in "
        f"{time.perf_counter() - started:.1f} s into {out}"
    )


@app.command("generate")
def generate_command(
    scale: str = typer.Option("small", help=SCALE_HELP),
    seed: int = typer.Option(42, help="Random seed: the same seed gives the same data."),
    out: Path = typer.Option(
        None, help="Output folder [default: DATA_DIR/generated/SCALE-seedSEED]."
    ),
) -> None:
    """Generate realistic, deterministic data for every layer without an open source, on
    the real geography: roads along least-cost paths over the elevation model, plots that
    tessellate the cultivated valleys, canals from real rivers, buildings in street blocks
    of Bishkek and Osh, hazard zones along rivers and slopes. Writes one GeoPackage per
    layer; `demo load` loads them."""
    if scale not in ("small", "national"):
        raise typer.BadParameter("scale is small or national", param_hint="--scale")
    from demo.generate import generated_dir

    settings = Settings()
    _generate(load_catalogue(), scale, seed, out or generated_dir(settings.data_dir, scale, seed))


@app.command()
def load(
    layers: list[str] = typer.Option(
        None, "--layer", "-l", help="Load only this layer (repeatable). Default: all."
    ),
    scale: str = typer.Option("small", help=SCALE_HELP),
    seed: int = typer.Option(42, help="Seed of the generated data to load."),
    base_only: bool = typer.Option(False, help="Load only the open base layers."),
) -> None:
    """Load the demo data. Each file is read with GDAL, validated against its layer
    declaration, reprojected to the storage CRS and COPYed in; generated data is generated
    first when missing. All layers are replaced in one transaction: on any error nothing
    changes and the previous data stays."""
    if scale not in ("small", "national"):
        raise typer.BadParameter("scale is small or national", param_hint="--scale")
    from demo.generate import generated_dir, layer_file
    from demo.loader import load_demo, loadable_layers

    settings = Settings()
    catalogue = load_catalogue()
    database = Database(settings)
    selected = loadable_layers(catalogue, layers, generated=not base_only)
    folder = generated_dir(settings.data_dir, scale, seed)
    needs_generation = [
        layer
        for layer in selected
        if layer.source and layer.source.generated and not layer_file(folder, layer.id).exists()
    ]
    if needs_generation:
        _generate(catalogue, scale, seed, folder)
    with psycopg.connect(database.owner_conninfo) as conn:
        sync_datasets(conn, catalogue)  # the catalogue records of the loaded layers
    started = time.perf_counter()
    with progress_bar(console) as progress:
        checked = progress.add_task("validating files", total=len(selected))
        loaded = progress.add_task("loading into PostGIS", total=len(selected))
        results = load_demo(
            database.owner_conninfo,
            selected,
            generated_dir=folder,
            on_prepared=lambda layer: progress.advance(checked),
            on_loaded=lambda item: progress.advance(loaded),
        )
    total = sum(r.feature_count for r in results)
    console.print(
        f"loaded {len(results)} layers, {total} features in "
        f"{time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{r.layer_id} {r.feature_count}" for r in results)
    )
    _terrain_cogs(settings, database)


def _terrain_cogs(settings: Settings, database: Database) -> None:
    """The elevation and hillshade COGs of the image bank from the GEBCO DEM, registered in
    pgstac (interim: the imagery pipeline's terrain replaces demo/rasters.py at its merge)."""
    from demo.rasters import write_terrain
    from imagery import bank

    written = write_terrain(settings.data_dir)
    with psycopg.connect(database.owner_conninfo) as conn:
        bank.ensure_collections(conn)
        for path in written:
            item = json.loads((path.parent / "item.json").read_text("utf-8"))
            item["assets"]["data"]["href"] = str(path)
            bank.store_item(conn, item)
    console.print("terrain COGs in the image bank: " + ", ".join(str(path) for path in written))
