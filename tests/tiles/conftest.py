"""Fixtures of the tile tests: the demo data plus a small `tiletest` schema of our own, and a
live server (uvicorn, real HTTP) with only the tile routes, on the session's database.

The `tiletest` layers are declared like national ones (so their tables come from
`layers/ddl.py`, owned by the owner role, with column privileges for the public role) and
are the ones the tests edit, so the shared demo data stays untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from starlette.applications import Starlette

from demo.loader import load_demo, loadable_layers
from geoportal.db.database import Database
from geoportal.db.pools import Pools, tiles_spec
from geoportal.server.tiles_routes import TileRoutes, tile_routes
from geoportal.settings import Settings
from layers.catalogue import Catalogue
from layers.ddl import create_table_sql
from layers.model import Layer
from tests.support.server import free_port, serve_asgi
from tiles.settings import TileSettings

SCHEMA = "tiletest"
_TEXT = {"ky": "т", "ru": "т", "en": "t"}


def _field(name: str, type_: str, public: bool = True) -> dict[str, Any]:
    return {"name": name, "type": type_, "title": _TEXT, "public": public}


def declare_layer(
    layer_id: str, geometry_type: str, fields: list[dict[str, Any]], **extra: Any
) -> Layer:
    """A layer declaration in the `tiletest` schema."""
    return Layer.model_validate(
        {
            "id": layer_id,
            "theme": "test",
            "schema": SCHEMA,
            "table": layer_id,
            "title": _TEXT,
            "abstract": _TEXT,
            "keywords": {k: ["t"] for k in _TEXT},
            "geometry_type": geometry_type,
            "custodian": _TEXT,
            "licence": "CC0",
            "attribution": "test",
            "fields": fields,
            **extra,
        }
    )


PARCELS = declare_layer(
    "tt_parcels",
    "MultiPolygon",
    [
        _field("name", "text"),
        _field("kind", "text"),
        _field("area_ha", "double"),
        _field("surveyed", "date"),
        _field("owner_pin", "text", public=False),
    ],
    zoom={"min": 6, "max": 16},
    time_field="surveyed",
    tiles={
        "bands": [
            {"min_zoom": 6, "fields": ["name"], "min_size_px": 2, "simplify_px": 1},
            {"min_zoom": 12},
        ]
    },
)
PLACES = declare_layer(
    "tt_places",
    "Point",
    [
        _field("name", "text"),
        _field("population", "integer"),
        _field("phone", "text", public=False),
    ],
    zoom={"min": 4, "max": 14},
    tiles={
        "bands": [{"min_zoom": 4, "max_features": 3, "priority": "population"}, {"min_zoom": 10}]
    },
)
METRIC = declare_layer(
    "tt_metric",
    "MultiPolygon",
    [_field("name", "text")],
    storage_srid=7694,
    zoom={"min": 6, "max": 16},
)
"""The big parcel again, stored in Kyrg-06 zone 3 (metres)."""
SLOW = declare_layer("tt_slow", "Point", [_field("name", "text")], zoom={"min": 4, "max": 14})
"""A view over the places that sleeps 0.5 s per row: for timeouts and cancellation."""

# Parcels: a big detailed circle near Bishkek, a tiny one (dropped at low zoom) near it, and
# one near Osh; places: ten points around Bishkek with populations 1000..10000.
SETUP_SQL = f"""
INSERT INTO {SCHEMA}.tt_parcels (id, name, kind, area_ha, surveyed, owner_pin, geom) VALUES
 (1, 'big', 'field', 5000, '2021-05-01', '11111111111111',
  ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(74.60, 42.87), 4326), 0.05, 256))),
 (2, 'tiny', 'garden', 0.2, '2023-07-15', '22222222222222',
  ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(74.61, 42.88), 4326), 0.0004, 8))),
 (3, 'osh', 'field', 300, '2024-03-01', '33333333333333',
  ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(72.80, 40.52), 4326), 0.01, 16)));
INSERT INTO {SCHEMA}.tt_places (id, name, population, phone, geom)
SELECT i, 'place ' || i, i * 1000, '+996555' || lpad(i::text, 6, '0'),
       ST_SetSRID(ST_MakePoint(74.5 + i * 0.02, 42.9), 4326)
FROM generate_series(1, 10) AS i;
INSERT INTO {SCHEMA}.tt_metric (id, name, geom)
SELECT id, name, ST_Transform(geom, 7694) FROM {SCHEMA}.tt_parcels WHERE id = 1;
CREATE VIEW {SCHEMA}.tt_slow AS
SELECT p.id, p.name, p.geom FROM {SCHEMA}.tt_places p CROSS JOIN LATERAL (SELECT pg_sleep(0.5)) s;
GRANT SELECT ON {SCHEMA}.tt_slow TO geoportal_public;
"""


@pytest.fixture(scope="session")
def base_data(database: Database, catalogue: Catalogue) -> Database:
    """The database with the open demo layers loaded (the generated ones are not needed)."""
    load_demo(database.owner_conninfo, loadable_layers(catalogue, generated=False))
    return database


@pytest.fixture(scope="session")
def tile_catalogue(base_data: Database, catalogue: Catalogue) -> Catalogue:
    """The national catalogue plus the `tiletest` layers, whose tables are created here."""
    loaded = base_data
    with psycopg.connect(loaded.admin_conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA} AUTHORIZATION geoportal_owner")
        conn.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO geoportal_agency, geoportal_public")
    with psycopg.connect(loaded.owner_conninfo, autocommit=True) as conn:
        for layer in (PARCELS, PLACES, METRIC):
            conn.execute(create_table_sql(layer))  # type: ignore[arg-type]
        conn.execute(SETUP_SQL)  # type: ignore[arg-type]
    return Catalogue(
        layers=(*catalogue.layers, PARCELS, PLACES, METRIC, SLOW), rasters=catalogue.rasters
    )


@dataclass(frozen=True)
class TileServerHandle:
    """A running tile server: its base URL and its routes (to look at the cache)."""

    url: str
    routes: TileRoutes
    pools: Pools

    def client(self) -> httpx.Client:
        """An HTTP client for this server."""
        return httpx.Client(base_url=self.url, timeout=60)


def tile_app(routes: TileRoutes, pools: Pools) -> Starlette:
    """A Starlette app with only the tile routes, its pools and their lifespan."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        async with pools.opened(), routes.lifespan():
            yield

    return Starlette(routes=routes.routes, lifespan=lifespan)


@contextmanager
def serve_tiles(
    settings: Settings, catalogue: Catalogue, cache_dir: Path, **overrides: Any
) -> Iterator[TileServerHandle]:
    """Serve the tile routes on a free port until the block ends."""
    port = free_port()
    server_settings = settings.model_copy(update={"port": port})
    tiles = TileSettings(cache_dir=cache_dir, **overrides)
    pools = Pools(Database(server_settings), {"tiles": tiles_spec(tiles)})
    routes = tile_routes(server_settings, catalogue, tiles, pool=pools.getter("tiles"))
    with serve_asgi(tile_app(routes, pools), "127.0.0.1", port):
        yield TileServerHandle(url=server_settings.public_url, routes=routes, pools=pools)


@pytest.fixture(scope="session")
def tile_server(
    settings: Settings, tile_catalogue: Catalogue, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TileServerHandle]:
    """One tile server for the read-only tests."""
    with serve_tiles(settings, tile_catalogue, tmp_path_factory.mktemp("tile-cache")) as handle:
        yield handle


@pytest.fixture()
def client(tile_server: TileServerHandle) -> Iterator[httpx.Client]:
    """An HTTP client of the session's tile server."""
    with tile_server.client() as http:
        yield http


@pytest.fixture()
def owner(base_data: Database, tile_catalogue: Catalogue) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the owner role to the tiletest tables (edits commit at once)."""
    with psycopg.connect(base_data.owner_conninfo, autocommit=True) as conn:
        yield conn
