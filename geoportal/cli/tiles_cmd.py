"""`geoportal tiles ...`: vector tiles outside the server (offline packages)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import typer
from psycopg_pool import PoolTimeout
from rich.console import Console

from geoportal.cli.progress import progress_bar
from geoportal.db.database import Database
from geoportal.db.errors import DatabaseError
from geoportal.db.pools import async_pool, tiles_spec
from geoportal.settings import Settings
from geoportal.tile_exports import ExportRequest, parse_bbox, parse_layers, prepare_export
from layers.catalogue import Catalogue, load_catalogue
from tiles.cache import TileCache
from tiles.export import ExportResult, service_renderer, write_pmtiles
from tiles.service import TileService, readable_tables
from tiles.settings import TileSettings
from tiles.tilesets import build_registry

console = Console(stderr=True)
app = typer.Typer(
    help="Vector tiles outside the server: offline packages (PMTiles) of the "
    "same tiles the server renders.",
    no_args_is_help=True,
)

EXAMPLES = """

Examples:

    geoportal tiles export --layers basemap --oblast Chuy --maxzoom 12 chuy.pmtiles

    geoportal tiles export --layers roads,rivers --oblast "Ошская область" --maxzoom 11 osh.pmtiles

    geoportal tiles export --layers agri_plots --bbox 74.4,42.7,74.8,42.95 --maxzoom 14 \
        plots.pmtiles

Open the archive in MapLibre with the PMTiles protocol (source url
`pmtiles://.../chuy.pmtiles`), or inspect it with the `pmtiles` tools
(`pmtiles-show chuy.pmtiles` from the pmtiles Python package).
"""


async def _export(
    settings: Settings,
    tiles: TileSettings,
    catalogue: Catalogue,
    request: ExportRequest,
    out: Path,
    max_tiles: int,
    concurrency: int,
) -> ExportResult:
    spec = tiles_spec(tiles, name="tiles-export", max_size=concurrency + 1)
    pool = async_pool(replace(spec, timeout_s=30.0), Database(settings).public_conninfo)
    try:
        await pool.open(wait=True, timeout=10)
    except PoolTimeout as exc:
        raise DatabaseError(
            "the database is not reachable; start it with `geoportal db up` "
            "(or set GEOPORTAL_DATABASE_URL)"
        ) from exc
    try:
        registry = build_registry(catalogue)
        registry = registry.only_tables(await readable_tables(pool, registry.tables()))
        service = TileService(pool, registry, TileCache(0, None), tiles)
        async with pool.connection() as conn:
            prepared = await prepare_export(
                conn, catalogue, registry, tiles, request, max_tiles, settings.default_language
            )
        plan = prepared.plan
        console.print(
            f"{plan.tileset.id}: {len(plan.tiles):,} tiles, zooms {plan.minzoom}-"
            f"{plan.maxzoom}, area {tuple(round(v, 4) for v in plan.bbox)}"
        )
        with progress_bar(console) as progress:
            task = progress.add_task("rendering tiles", total=len(plan.tiles))
            return await write_pmtiles(
                plan,
                service_renderer(service, plan.tileset),
                out,
                prepared.metadata,
                concurrency=concurrency,
                on_tile=lambda tile, size: progress.advance(task),
            )
    finally:
        await pool.close()


@app.command(epilog=EXAMPLES)
def export(
    out: Path = typer.Argument(
        ..., help="The archive to write, e.g. chuy.pmtiles (replaced if it exists)."
    ),
    layers: str = typer.Option(
        ...,
        "--layers",
        "-l",
        help="Collection ids separated by "
        "commas (e.g. roads,rivers,settlements), or `basemap` for the "
        "national basemap (one MVT layer per base layer).",
    ),
    oblast: str = typer.Option(
        None,
        help="The area: an oblast by id, ISO code (KG-C) or "
        "name in Kyrgyz, Russian or English, any case (Chuy, "
        "'Чуйская область', 'Чүй облусу'). Tiles touching the oblast "
        "are written.",
    ),
    bbox: str = typer.Option(
        None,
        help="The area instead of an oblast: minx,miny,maxx,maxy "
        "in CRS84 degrees, e.g. 74.4,42.7,74.8,42.95.",
    ),
    maxzoom: int = typer.Option(
        ...,
        help="Highest Web Mercator zoom written (lowered to the "
        "layers' highest; clients overzoom it).",
    ),
    minzoom: int = typer.Option(None, help="Lowest zoom written [default: the layers' lowest]."),
    max_tiles: int = typer.Option(
        None,
        help="Refuse archives with more tiles than this "
        "[default: the tiles export_max_tiles setting, 200,000].",
    ),
    concurrency: int = typer.Option(
        4, min=1, max=16, help="Tiles rendered at once (database connections)."
    ),
) -> None:
    """Write the vector tiles of an area as one PMTiles v3 archive for offline use.

    The tiles are the server's own (same layers, per-zoom attributes, simplification, public
    fields only), gzip-compressed MVT in Web Mercator; empty tiles are left out and
    identical tiles stored once. The archive's metadata holds the TileJSON of the layers
    (`vector_layers`), bounds, center and zoom range. Give the area as --oblast or --bbox.
    """
    if out.suffix != ".pmtiles":
        raise typer.BadParameter("the archive name must end in .pmtiles", param_hint="OUT")
    if (oblast is None) == (bbox is None):
        raise typer.BadParameter(
            "give the area as exactly one of --oblast or --bbox", param_hint="--oblast / --bbox"
        )
    settings = Settings()
    from geoportal.server.tiles_routes import tile_settings_for  # the server: not for --help

    tiles = tile_settings_for(settings)
    request = ExportRequest(
        layers=parse_layers(layers),
        bbox=parse_bbox(bbox) if bbox else None,
        oblast=oblast,
        maxzoom=maxzoom,
        minzoom=minzoom,
    )
    started = time.perf_counter()
    result = asyncio.run(
        _export(
            settings,
            tiles,
            load_catalogue(),
            request,
            out.absolute(),
            max_tiles or tiles.export_max_tiles,
            concurrency,
        )
    )
    console.print(
        f"wrote {out}: {result.tiles:,} tiles ({result.empty:,} empty left out), "
        f"{result.bytes / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s"
    )
