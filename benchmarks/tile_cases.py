"""The tile classes of the tile benchmark, how each server spells a tile, its servers, and the
SQL floor statements (our own tile query, bound to each tile)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import morecantile
import psycopg
from psycopg import sql

from benchmarks import servers
from benchmarks.cases import densest_square
from benchmarks.data import BenchDatabase, geoportal_env
from benchmarks.servers import ServerSpec
from layers.catalogue import Catalogue
from layers.model import Layer
from tiles.query import build_tile_query
from tiles.settings import TileSettings
from tiles.tilematrix import get_tile_matrix_set
from tiles.tilesets import build_registry
from tiles.types import TileCoord

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
OVERRIDE_ENV = "BENCH_TILE_MINZOOMS"
"""`layer=zoom,...`: our app lowers these layers' minimum zoom (see `tiles_app.py`)."""


@dataclass(frozen=True)
class TileCase:
    """One tile class: a layer, a zoom and the tiles asked (x, y) in turn."""

    key: str
    title: str
    layer: str
    z: int
    tiles: tuple[tuple[int, int], ...]

    @property
    def national(self) -> bool:
        """True for the national low-zoom classes."""
        return self.key.startswith("national")


@dataclass(frozen=True)
class TileTarget:
    """How one server spells a tile of a collection."""

    kind: str
    """`ours`, `stock` or `tipg`."""

    def path(self, layer: Layer, z: int, x: int, y: int) -> str:
        """The URL path of tile z/x/y."""
        if self.kind == "tipg":  # tipg: {z}/{x}/{y}
            return (
                f"/collections/{layer.schema_name}.{layer.table}/tiles/WebMercatorQuad/{z}/{x}/{y}"
            )
        suffix = "?f=mvt" if self.kind == "stock" else ""
        return f"/collections/{layer.id}/tiles/WebMercatorQuad/{z}/{y}/{x}{suffix}"

    def paths(self, layer: Layer, case: TileCase) -> list[str]:
        """Every tile path of a class."""
        return [self.path(layer, case.z, x, y) for x, y in case.tiles]


def block_around(lon: float, lat: float, z: int, side: int) -> tuple[tuple[int, int], ...]:
    """A side x side block of tiles of zoom z around a point."""
    centre = WEB_MERCATOR.tile(lon, lat, z)
    first = -(side // 2)
    return tuple(
        (centre.x + dx, centre.y + dy)
        for dy in range(first, first + side)
        for dx in range(first, first + side)
    )


def fullest_tiles(
    conn: psycopg.Connection, layer: Layer, z: int, limit: int
) -> tuple[tuple[int, int], ...]:
    """The tiles of zoom z holding the most features of the layer (centroids counted)."""
    query = sql.SQL(
        "SELECT x, y FROM (SELECT floor((ST_X(c) + 180) / 360 * 2 ^ {z})::int AS x,"
        " floor((1 - ln(tan(radians(ST_Y(c))) + 1 / cos(radians(ST_Y(c)))) / pi()) / 2"
        " * 2 ^ {z})::int AS y FROM (SELECT ST_Centroid(ST_Transform(geom, 4326)) AS c"
        " FROM {table}) AS p) AS t GROUP BY x, y ORDER BY count(*) DESC, x, y LIMIT {limit}"
    ).format(
        z=sql.Literal(z), table=sql.Identifier(*layer.qualified_table), limit=sql.Literal(limit)
    )
    return tuple((int(x), int(y)) for x, y in conn.execute(query).fetchall())


def build_tile_cases(
    conn: psycopg.Connection, plots: Layer, buildings: Layer | None, national_zooms: list[int]
) -> tuple[list[TileCase], dict[str, Any]]:
    """The classes: plots at z6/z10/z14 over the densest Chui valley square, buildings at
    z14 over the densest Bishkek square, and the national plots at low zooms (the tiles
    holding most plots); plus where the dense squares are."""
    (w, s, e, n), plot_count = densest_square(conn, plots)
    lon, lat = (w + e) / 2, (s + n) / 2
    where: dict[str, Any] = {"plots_centre": [lon, lat], "plots_in_2km": plot_count}
    cases = [
        TileCase(
            "plots-z14",
            "agri_plots z14, densest Chui valley (4x4 tiles)",
            plots.id,
            14,
            block_around(lon, lat, 14, 4),
        ),
        TileCase(
            "plots-z10",
            "agri_plots z10, Chui valley (2x2 tiles)",
            plots.id,
            10,
            block_around(lon, lat, 10, 2),
        ),
        TileCase(
            "plots-z6",
            "agri_plots z6, Chui valley (1 tile)",
            plots.id,
            6,
            block_around(lon, lat, 6, 1),
        ),
    ]
    if buildings is not None:
        (w, s, e, n), count = densest_square(conn, buildings)
        where.update(buildings_centre=[(w + e) / 2, (s + n) / 2], buildings_in_2km=count)
        cases.append(
            TileCase(
                "buildings-z14",
                "buildings z14, densest Bishkek (4x4 tiles)",
                buildings.id,
                14,
                block_around((w + e) / 2, (s + n) / 2, 14, 4),
            )
        )
    for z in national_zooms:
        tiles = fullest_tiles(conn, plots, z, 4)
        cases.append(
            TileCase(
                f"national-z{z}",
                f"agri_plots z{z}, national ({len(tiles)} fullest tiles)",
                plots.id,
                z,
                tiles,
            )
        )
    return cases, where


def floor_statements(
    conninfo: str, layer: Layer, case: TileCase, settings: TileSettings
) -> list[str]:
    """Our tile query of each tile of a class, with its values bound (plain SQL text)."""
    tileset = build_registry([layer]).collection(layer.id)
    tms = get_tile_matrix_set("WebMercatorQuad")
    out = []
    with psycopg.connect(conninfo) as conn:
        cursor = psycopg.ClientCursor(conn)
        for x, y in case.tiles:
            built = build_tile_query(tileset, tms, TileCoord(case.z, x, y), settings)
            if built is None:
                raise RuntimeError(f"{layer.id} draws nothing at z{case.z}")
            out.append(cursor.mogrify(built[0], built[1]))
    return out


def with_minzoom(catalogue: Catalogue, minzooms: dict[str, int]) -> Catalogue:
    """The catalogue with some layers' minimum zoom lowered."""
    layers = tuple(
        layer.model_copy(
            update={
                "zoom": layer.zoom.model_copy(
                    update={"min": min(minzooms[layer.id], layer.zoom.min)}
                )
            }
        )
        if layer.id in minzooms
        else layer
        for layer in catalogue.layers
    )
    return Catalogue(layers=layers, rasters=catalogue.rasters)


def ours_tile_spec(
    db: BenchDatabase,
    name: str,
    label: str,
    workdir: Path,
    cached: bool,
    minzooms: dict[str, int],
    probe_layer: str,
) -> ServerSpec:
    """Our app on the bench database, with its own data dir (server files, tile cache) in
    the work folder, caches on (warm) or off (cold: every request renders)."""
    port = servers.free_port()
    own = workdir / name
    own.mkdir(parents=True, exist_ok=True)
    env = geoportal_env(
        db.settings,
        GEOPORTAL_HOST="127.0.0.1",
        GEOPORTAL_PORT=str(port),
        GEOPORTAL_LOG_LEVEL="warning",
        GEOPORTAL_DATA_DIR=str(own),
        GEOPORTAL_DATABASE_URL=db.admin_conninfo,
        GEOPORTAL_PUBLIC_DATABASE_URL=db.public_conninfo,
        GEOPORTAL_TILES__CACHE_DIR=str(own / "tiles"),
        GEOPORTAL_TILES__DISK_CACHE="true" if cached else "false",
        GEOPORTAL_TILES__MEMORY_CACHE_MB="512" if cached else "0",
    )
    env[OVERRIDE_ENV] = ",".join(f"{k}={v}" for k, v in minzooms.items())
    return ServerSpec(
        name,
        label,
        "benchmarks.tiles_app:app_factory()",
        env,
        servers.Target(probe_layer),
        servers.REPO,
        port,
    )


def stock_tile_spec(
    db: BenchDatabase, layers: list[Layer], workdir: Path, timeout_s: float
) -> ServerSpec:
    """pygeoapi 0.24 with its own MVT-postgresql provider (and a features provider, for the
    readiness probe) on the same tables. Its libpq sessions get a statement timeout equal
    to the client's, so a query the client gave up on stops in PostgreSQL too."""
    port = servers.free_port()
    parts = psycopg.conninfo.conninfo_to_dict(db.public_conninfo)
    resources = {}
    for layer in layers:
        data = {
            "host": parts["host"],
            "port": int(str(parts["port"])),
            "dbname": parts["dbname"],
            "user": parts["user"],
            "search_path": [layer.schema_name],
        }
        common = {"data": data, "id_field": "id", "table": layer.table, "geom_field": "geom"}
        tile = {
            "type": "tile",
            "name": "MVT-postgresql",
            **common,
            "options": {"zoom": {"min": 0, "max": 22}},
            "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"},
        }
        feature = {"type": "feature", "name": "PostgreSQL", **common}
        resource = servers.collection_resource(layer, feature, servers.layer_bbox(db, layer))
        resource["providers"].append(tile)
        resources[layer.id] = resource
    config = servers.pygeoapi_config(port, layers[0].id, resources[layers[0].id])
    config["resources"] = resources
    env = geoportal_env(db.settings, PGOPTIONS=f"-c statement_timeout={int(timeout_s * 1000)}")
    return servers.pygeoapi_spec(
        "stock", "stock pygeoapi 0.24 (MVT-postgresql)", config, workdir, port, layers[0].id, env
    )


def tipg_tile_spec(db: BenchDatabase, layers: list[Layer], workdir: Path) -> ServerSpec:
    """tipg on the same tables, its defaults for tiles (as the agency role: see
    `servers.tipg_spec`)."""
    spec = servers.tipg_spec(db, layers[0], workdir)
    schemas = sorted({layer.schema_name for layer in layers})
    spec.env.update(
        {
            "TIPG_DB_SCHEMAS": json.dumps(schemas),
            "TIPG_DB_TABLES": json.dumps([f"{x.schema_name}.{x.table}" for x in layers]),
            "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": json.dumps(["public", *schemas]),
        }
    )
    spec.label = "tipg 1.6"
    return spec
