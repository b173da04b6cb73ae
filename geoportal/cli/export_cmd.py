"""`geoportal export`: public layers of an area as a file, as `/downloads/{format}` writes it."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import typer
from rich.console import Console

from exports.formats import FORMATS
from exports.plan import RegionRef
from geoportal import data_exports
from geoportal.cli.progress import progress_bar
from geoportal.db.database import Database
from geoportal.settings import Settings
from layers.catalogue import Catalogue, load_catalogue

if TYPE_CHECKING:
    from exports.plan import ExportQuery
    from exports.writers import ExportResult

console = Console(stderr=True)
SUFFIXES = {
    ".gpkg": "geopackage",
    ".zip": "shapefile",
    ".geojson": "geojson",
    ".json": "geojson",
    ".geojsonl": "geojsonseq",
    ".geojsons": "geojsonseq",
    ".csv": "csv",
    ".fgb": "flatgeobuf",
    ".parquet": "geoparquet",
}
EXAMPLES = """
Examples:

    geoportal export --layers roads,rivers --oblast Chuy chuy.gpkg

    geoportal export --oblast "Ошская область" osh-extract.gpkg    # every layer (extract)

    geoportal export --layers settlements --rayon Alamudun --crs EPSG:32643 places.csv

    geoportal export --layers agri_plots --filter "area_ha > 5" --bbox 74.4,42.7,74.8,42.95 \\
        plots.parquet
"""


async def _region(
    settings: Settings, catalogue: Catalogue, asked: data_exports.AskedExport
) -> RegionRef | None:
    conninfo = Database(settings).public_conninfo
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        return await data_exports.resolve_region(conn, catalogue, asked)


def export(
    out: Path = typer.Argument(
        ..., help="The file to write; its suffix names the format unless --format does."
    ),
    layers: str = typer.Option(
        "", "--layers", "-l", help="Collection ids separated by commas; none: every layer."
    ),
    oblast: str = typer.Option(None, help="An oblast's id or name in Kyrgyz, Russian, English."),
    rayon: str = typer.Option(None, help="A rayon's id or English name."),
    bbox: str = typer.Option(None, help="minlon,minlat,maxlon,maxlat (CRS84)."),
    filter_: str = typer.Option(None, "--filter", help="CQL2 text filter on the fields."),
    datetime_: str = typer.Option(None, "--datetime", help="Instant or interval (RFC 3339)."),
    crs: str = typer.Option(None, help="CRS of the coordinates, e.g. EPSG:32643 (CRS84)."),
    format_: str = typer.Option(
        None, "--format", "-f", help=f"One of {', '.join(FORMATS)} [default: from the suffix]."
    ),
) -> None:
    """Write public layers of an area as GeoPackage, zipped Shapefile, GeoJSON, GeoJSON
    Sequence, CSV, FlatGeobuf or GeoParquet (public fields only, nothing left out).

    Without --layers, every layer with features in the --oblast, --rayon or --bbox is
    written: a regional extract, with its metadata, licence and attribution tables.
    """
    fmt = format_ or SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise typer.BadParameter(
            f"give --format or a suffix among {', '.join(SUFFIXES)}", param_hint="OUT"
        )
    params = {"layers": layers, "oblast": oblast, "rayon": rayon, "bbox": bbox}
    params |= {"filter": filter_, "datetime": datetime_, "crs": crs}
    asked = data_exports.parse_params(fmt, {k: v for k, v in params.items() if v})
    settings = Settings()
    catalogue = load_catalogue()
    query = asked.query(asyncio.run(_region(settings, catalogue, asked)))
    started = time.perf_counter()
    result = _write(settings, catalogue, query, out.absolute())
    console.print(
        f"wrote {out}: {result.features:,} features in {len(result.counts)} layers, "
        f"{out.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s"
    )


def _write(settings: Settings, catalogue: Catalogue, query: ExportQuery, out: Path) -> ExportResult:
    """Write the export into a temporary folder beside `out`, then move its file there."""
    from exports.plan import plan_export  # pyarrow and GDAL: not for --help
    from exports.reading import count_layers, without_empty_layers
    from exports.writers import write_export

    folder = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
    try:
        with data_exports.connect(settings) as conn:
            plan = without_empty_layers(conn, plan_export(conn, catalogue, query))
            total = sum(count_layers(conn, plan).values())
            with progress_bar(console) as progress:
                task = progress.add_task(f"exporting {len(plan.layers)} layers", total=total)
                result = write_export(
                    conn,
                    plan,
                    folder,
                    data_exports.file_stem(plan),
                    chunk_rows=settings.downloads.chunk_rows,
                    on_rows=lambda layer_id, rows: progress.update(
                        task, advance=rows, description=f"exporting {layer_id}"
                    ),
                )
        os.replace(result.path, out)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
