"""A synthetic block of the register for the cadastre tests: block 5-99-99-9999 in Talas
(Kyrg-06 zone 2, EPSG:7693), 200 m x 200 m, with two parcels side by side (0001 west,
0002 east, each 100 m x 100 m in its south half), written by the owner and erased after."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pyproj
import pytest
import shapely
from shapely import ops

from geoportal.db.database import Database
from geoportal.security import keys

BLOCK = "5-99-99-9999"
ORIGIN = [2_360_000.0, 4_715_000.0]  # EPSG:7693 metres, near 72.2 E 42.4 N (Talas);
# moved east by the fixture until no demo parcel is within the block
TO_4326 = pyproj.Transformer.from_crs(7693, 4326, always_xy=True).transform


def local(geom: shapely.Geometry) -> shapely.Geometry:
    """A geometry drawn in metres from the block's south-west corner, in EPSG:4326."""
    moved = shapely.affinity.translate(geom, *ORIGIN)
    return ops.transform(TO_4326, moved)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    """A rectangle in the block's local metres, in EPSG:4326."""
    return local(shapely.box(x0, y0, x1, y1))


def hexwkb(geom: shapely.Geometry) -> str:
    """Hex WKB as the topology check takes it."""
    return shapely.to_wkb(geom, hex=True)


@pytest.fixture(scope="session")
def test_block(loaded: Database) -> Iterator[dict[str, int]]:
    """The block and its two parcels (ids); erased at the end (an owner's delete erases)."""
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for _ in range(50):
            taken = conn.execute(
                "SELECT count(*) FROM cadastre.cadastre_parcels WHERE ST_DWithin("
                "geom::geography, ST_GeomFromWKB(%s, 4326)::geography, 100)",
                [shapely.to_wkb(box(0, 0, 200, 200))],
            ).fetchone()
            if taken == (0,):
                break
            ORIGIN[0] += 1000.0
        conn.execute(
            "INSERT INTO cadastre.cadastre_blocks (block_code, zone_code, area_m2, geom) "
            "VALUES (%s, '5-99-99', 40000, ST_Multi(ST_GeomFromWKB(%s, 4326)))",
            [BLOCK, shapely.to_wkb(box(0, 0, 200, 200))],
        )
        ids = {}
        for n, (x0, x1) in enumerate(((0, 100), (100, 200)), 1):
            row = conn.execute(
                "INSERT INTO cadastre.cadastre_parcels (cadastral_code, land_category, "
                "designated_use, area_m2, area_national_m2, registered_on, geom) VALUES "
                "(%s, 'settlements', 'individual_housing', 10000, 10000, '2010-05-01', "
                "ST_Multi(ST_GeomFromWKB(%s, 4326))) RETURNING id",
                [f"{BLOCK}-{n:04d}", shapely.to_wkb(box(x0, 0, x1, 100))],
            ).fetchone()
            assert row is not None
            ids[f"{BLOCK}-{n:04d}"] = row[0]
        conn.execute(
            "INSERT INTO restricted.cadastre_right_holders (feature_id, holder_name, "
            "holder_pin, right_type, share) VALUES (%s, 'Асанова Айгүл', '11207199090017', "
            "'ownership', 1), (%s, 'Асанова Айгүл', '11207199090017', 'ownership', 1)",
            list(ids.values()),
        )
    yield ids
    with psycopg.connect(loaded.owner_conninfo) as conn:
        conn.execute(
            "DELETE FROM restricted.cadastre_right_holders WHERE holder_pin = '11207199090017'"
        )
        conn.execute(
            "DELETE FROM cadastre.cadastre_parcels WHERE cadastral_code LIKE %s", [BLOCK + "-%"]
        )
        conn.execute("DELETE FROM cadastre.cadastre_blocks WHERE block_code = %s", [BLOCK])


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
