"""`geoportal layers import-osm EXTRACT.osm.pbf --layers roads,buildings`: real roads and
buildings from an OpenStreetMap extract in place of the generated ones (`ingestion/osm.py`).

The mapped features are written to GeoPackages and each is loaded by the loader of
`geoportal layers load` (`geoportal.job_kinds.run_layer_load`, `ingestion.pipeline.load_file`:
validated, then swapped in one transaction per layer: a refused load changes nothing, and its
report is printed). `--mode replace` (the default): the layers hold the extract's features
afterwards; layers that reference roads (bridges, road works) must be emptied or reloaded in
the same run first, or the database refuses the load (their `road_id` would point at roads
that are gone). `--mode upsert`: a newer extract updates the features whose OSM id it
holds and adds the others, keyed by `osm_id` (`OSM_KEY`), not by the declared key
(roads: road number and chainage, which OSM has not: `km_start` stays NULL, never invented).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import typer
from psycopg import sql
from rich.console import Console

from geoportal.db.database import Database
from geoportal.job_kinds import CLI_OWNER, run_layer_load
from geoportal.settings import Settings
from jobs import JobFailedError
from layers.catalogue import Catalogue, load_catalogue

if TYPE_CHECKING:
    import geopandas as gpd

    from ingestion.osm import AdminAreas

console = Console()


def _areas_frame(
    conn: psycopg.Connection, catalogue: Catalogue, layer_id: str, columns: list[str]
) -> gpd.GeoDataFrame:
    """One loaded layer's `columns` and geometry (EPSG:4326)."""
    import geopandas as gpd  # only for this command
    import shapely

    table = sql.Identifier(*catalogue.get(layer_id).qualified_table)
    query = sql.SQL("SELECT {}, ST_AsBinary(ST_Transform(geom, 4326)) FROM {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), table
    )
    rows = conn.execute(query).fetchall()
    data = {name: [row[i] for row in rows] for i, name in enumerate(columns)}
    geometry = shapely.from_wkb([bytes(row[-1]) for row in rows]) if rows else []
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


def read_areas(conninfo: str, catalogue: Catalogue) -> AdminAreas:
    """Oblasts, rayons and city districts as loaded (`ingestion.osm.AdminAreas`)."""
    from ingestion.osm import AdminAreas

    with psycopg.connect(conninfo) as conn:
        areas = AdminAreas(
            oblasts=_areas_frame(conn, catalogue, "oblasts", ["adm1_code"]),
            rayons=_areas_frame(conn, catalogue, "rayons", ["name_en"]),
            districts=_areas_frame(conn, catalogue, "city_districts", ["id", "city", "name_en"]),
        )
    if areas.oblasts.empty:
        console.print("[bold red]error:[/] load the oblasts first (`geoportal demo load`)")
        raise typer.Exit(1)
    return areas


def import_osm(
    extract: Path = typer.Argument(..., help="An OpenStreetMap extract (.osm.pbf, .osm)."),
    layers: str = typer.Option(
        "roads,buildings", "--layers", help="Comma-separated: roads, buildings."
    ),
    mode: str = typer.Option(
        "replace",
        "--mode",
        help="replace: the layers hold the extract's features; upsert: update the features "
        "with the extract's OSM ids and add the others (keyed by osm_id).",
    ),
) -> None:
    """Replace (or upsert) roads and/or buildings by an OpenStreetMap extract's (OSM id as
    natural key; what OSM lacks is NULL or 'unknown', never invented)."""
    from ingestion.osm import map_extract, write_layers  # GDAL, pandas, osmium: only here

    if mode not in ("replace", "upsert"):
        console.print(f"[bold red]error:[/] --mode {mode!r}: expected replace or upsert")
        raise typer.Exit(1)

    wanted = [name.strip() for name in layers.split(",") if name.strip()]
    settings = Settings()
    conninfo = Database(settings).owner_conninfo
    areas = read_areas(conninfo, load_catalogue())
    mapped = map_extract(extract, wanted, areas)
    with tempfile.TemporaryDirectory(prefix="osm-import-") as folder:
        for layer_id, path in write_layers(mapped, Path(folder)).items():
            _load_one(settings, layer_id, path, extract.name, mode)


def _load_one(settings: Settings, layer_id: str, path: Path, extract: str, mode: str) -> None:
    """One mapped layer through the loader of `geoportal layers load` (an upsert by OSM id)."""
    from ingestion.osm import OSM_KEY

    inputs = {"layer": layer_id, "path": str(path), "mode": mode, "key": list(OSM_KEY)}
    try:
        results = run_layer_load(settings, inputs, owner=CLI_OWNER)
    except JobFailedError as exc:
        console.print(f"[bold red]error:[/] {layer_id} from {extract}: {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"loaded {results['featureCount']} features from {extract} into {layer_id} ({mode}: "
        f"{results['inserted']} inserted, {results['updated']} updated, "
        f"{results['deleted']} deleted)"
    )
