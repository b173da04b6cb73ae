"""Synthetic blocks of the register for the cadastre tests, in Talas (Kyrg-06 zone 2,
EPSG:7693): each 200 m x 200 m with two parcels side by side in its south half (`-0001`
x 0-100 m, `-0002` x 100-200 m, y 0-100 m), both held by one fictional person; written by
the owner on a spot no demo parcel is near, and erased after (by the owner's explicit reset,
`cadastre.erasing`: any other delete retires)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pyproj
import pytest
import shapely
from shapely import ops

from geoportal.db.database import Database
from geoportal.security import keys

BLOCK = "5-99-99-9999"
ROUTES_BLOCK = "5-99-99-9998"
TO_4326 = pyproj.Transformer.from_crs(7693, 4326, always_xy=True).transform
PIN = "11207199090017"  # fictional (serial 90017, cadastre/pins.py)
ORIGIN = [2_360_000.0, 4_715_000.0]
"""Where `box` and `local` draw (EPSG:7693 metres near 72.2 E 42.4 N); set by `test_block`."""


def local(geom: shapely.Geometry, origin: list[float] | None = None) -> shapely.Geometry:
    """A geometry drawn in metres from a block's south-west corner, in EPSG:4326."""
    x, y = origin or ORIGIN
    return ops.transform(TO_4326, shapely.affinity.translate(geom, x, y))


def box(
    x0: float, y0: float, x1: float, y1: float, origin: list[float] | None = None
) -> shapely.Geometry:
    """A rectangle in a block's local metres, in EPSG:4326."""
    return local(shapely.box(x0, y0, x1, y1), origin)


def hexwkb(geom: shapely.Geometry) -> str:
    """Hex WKB as the topology check takes it."""
    return shapely.to_wkb(geom, hex=True)


@dataclass
class Block:
    """A synthetic block: its code, origin and parcels (code -> id)."""

    code: str
    origin: list[float]
    parcels: dict[str, int]


def _free_origin(conn: psycopg.Connection, origin: list[float]) -> list[float]:
    for _ in range(50):
        taken = conn.execute(
            "SELECT count(*) FROM cadastre.cadastre_parcels WHERE ST_DWithin("
            "geom::geography, ST_GeomFromWKB(%s, 4326)::geography, 100)",
            [shapely.to_wkb(box(0, 0, 200, 200, origin))],
        ).fetchone()
        if taken == (0,):
            return origin
        origin = [origin[0] + 1000.0, origin[1]]
    raise AssertionError("no free spot for a synthetic block")


def make_block(conn: psycopg.Connection, code: str, origin: list[float]) -> Block:
    """Write a synthetic block and its two parcels (as the owner)."""
    origin = _free_origin(conn, origin)
    conn.execute(
        "INSERT INTO cadastre.cadastre_blocks (block_code, zone_code, area_m2, geom) "
        "VALUES (%s, %s, 40000, ST_Multi(ST_GeomFromWKB(%s, 4326)))",
        [code, code.rsplit("-", 1)[0], shapely.to_wkb(box(0, 0, 200, 200, origin))],
    )
    parcels = {}
    for n, (x0, x1) in enumerate(((0, 100), (100, 200)), 1):
        row = conn.execute(
            "INSERT INTO cadastre.cadastre_parcels (cadastral_code, land_category, "
            "designated_use, area_m2, area_national_m2, registered_on, geom) VALUES "
            "(%s, 'settlements', 'individual_housing', 10000, 10000, '2010-05-01', "
            "ST_Multi(ST_GeomFromWKB(%s, 4326))) RETURNING id",
            [f"{code}-{n:04d}", shapely.to_wkb(box(x0, 0, x1, 100, origin))],
        ).fetchone()
        assert row is not None
        parcels[f"{code}-{n:04d}"] = row[0]
        conn.execute(
            "INSERT INTO restricted.cadastre_right_holders (feature_id, holder_name, "
            "holder_pin, right_type, share) VALUES (%s, 'Асанова Айгүл', %s, 'ownership', 1)",
            [row[0], PIN],
        )
    return Block(code, origin, parcels)


def erase_block(conn: psycopg.Connection, code: str) -> None:
    """Remove a synthetic block, its parcels (current or not) and their records."""
    rows = conn.execute(
        "SELECT parcel_id FROM cadastre.parcel_register WHERE cadastral_code LIKE %s",
        [code + "-%"],
    ).fetchall()
    ids = [r[0] for r in rows]
    # the owner's explicit reset (migration 0024): any other DELETE would retire them
    conn.execute("SET LOCAL cadastre.erasing = 'on'")
    conn.execute("DELETE FROM restricted.cadastre_right_holders WHERE feature_id = ANY (%s)", [ids])
    conn.execute("DELETE FROM cadastre.cadastre_parcels WHERE id = ANY (%s)", [ids])
    # retired parcels are no longer in the table: erase their records the same way
    conn.execute(
        "DELETE FROM cadastre.parcel_lineage "
        "WHERE parent_id = ANY (%(i)s) OR child_id = ANY (%(i)s)",
        {"i": ids},
    )
    conn.execute("DELETE FROM cadastre.parcel_versions WHERE parcel_id = ANY (%s)", [ids])
    conn.execute("DELETE FROM cadastre.parcel_register WHERE parcel_id = ANY (%s)", [ids])
    conn.execute("DELETE FROM cadastre.cadastre_blocks WHERE block_code = %s", [code])


@pytest.fixture(scope="module")
def test_block(loaded: Database) -> Iterator[dict[str, int]]:
    """The topology tests' block (`ORIGIN` set to it): its parcels' ids by code, erased after
    each module, so that tests elsewhere see the demo's blocks only."""
    with psycopg.connect(loaded.owner_conninfo) as conn:
        block = make_block(conn, BLOCK, list(ORIGIN))
    ORIGIN[:] = block.origin
    yield block.parcels
    with psycopg.connect(loaded.owner_conninfo) as conn:
        erase_block(conn, BLOCK)


@pytest.fixture(scope="module")
def routes_block(loaded: Database) -> Iterator[Block]:
    """A block of its own for the route tests (they split, merge and retire its parcels)."""
    with psycopg.connect(loaded.owner_conninfo) as conn:
        block = make_block(conn, ROUTES_BLOCK, [ORIGIN[0], ORIGIN[1] + 3000.0])
    yield block
    with psycopg.connect(loaded.owner_conninfo) as conn:
        erase_block(conn, ROUTES_BLOCK)


CADASTRE_USERS = {"cadastre.editor": ["cadastre"], "roads.reader": ["roads"]}


@pytest.fixture(scope="session")
def cadastre_keys(loaded: Database) -> dict[str, str]:
    """API keys of a cadastre agency user and of a roads agency user."""
    out = {}
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for name, themes in CADASTRE_USERS.items():
            if not conn.execute("SELECT 1 FROM auth.users WHERE name = %s", [name]).fetchone():
                keys.add_user(conn, name, "agency", themes, [])
            out[name] = keys.create_key(conn, name, note="cadastre tests")
    return out
