"""The address registry derived from the loaded demo: one address for every building and
every parcel, its parts in three forms, the layer's counter exact."""

from __future__ import annotations

import psycopg
import pytest

from geoportal.db.database import Database


@pytest.fixture(scope="module")
def conn(loaded: Database):
    with psycopg.connect(loaded.owner_conninfo, autocommit=True) as conn:
        yield conn


def one(conn: psycopg.Connection, query: str) -> object:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def test_every_building_has_exactly_one_address(conn: psycopg.Connection) -> None:
    assert one(conn, "SELECT count(*) FROM city.buildings") > 0
    assert (
        one(
            conn,
            "SELECT count(*) FROM city.buildings b WHERE "
            "(SELECT count(*) FROM cadastre.addresses a WHERE a.building_id = b.id) <> 1",
        )
        == 0
    )


def test_every_parcel_has_an_address(conn: psycopg.Connection) -> None:
    assert (
        one(
            conn,
            "SELECT count(*) FROM cadastre.cadastre_parcels p WHERE NOT EXISTS "
            "(SELECT FROM cadastre.addresses a WHERE a.parcel_id = p.id)",
        )
        == 0
    )


def test_an_address_lies_in_its_parcel_and_building(conn: psycopg.Connection) -> None:
    assert (
        one(
            conn,
            "SELECT count(*) FROM cadastre.addresses a JOIN cadastre.cadastre_parcels p "
            "ON p.id = a.parcel_id WHERE NOT ST_Intersects(p.geom, a.geom) "
            "OR p.cadastral_code <> a.cadastral_code",
        )
        == 0
    )
    assert (
        one(
            conn,
            "SELECT count(*) FROM cadastre.addresses a "
            "JOIN city.buildings b ON b.id = a.building_id WHERE NOT ST_Intersects(b.geom, a.geom)",
        )
        == 0
    )


def test_addresses_are_unique_and_complete(conn: psycopg.Connection) -> None:
    assert (
        one(
            conn,
            "SELECT count(*) FROM (SELECT street_id, house_number, letter FROM cadastre.addresses "
            "GROUP BY 1, 2, 3 HAVING count(*) > 1) AS twice",
        )
        == 0
    )
    assert (
        one(
            conn,
            "SELECT count(*) FROM cadastre.addresses WHERE oblast IS NULL OR label_en !~ '[0-9]$' "
            "AND letter IS NULL",
        )
        == 0
    )


def test_chuy_avenue_in_three_forms(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "SELECT street_ky, street_latin, settlement_ky, label_ky, label_ru, house_number "
        "FROM cadastre.addresses WHERE street_ru = 'проспект Чуй' AND letter IS NULL LIMIT 1"
    ).fetchone()
    assert row is not None
    street_ky, latin, settlement, label_ky, label_ru, number = row
    assert (street_ky, latin, settlement) == ("Чуй проспекти", "Chuy prospekti", "Бишкек")
    assert label_ky == f"Бишкек, Чуй проспекти {number}"
    assert label_ru == f"Бишкек, проспект Чуй, {number}"


def test_the_layer_counter_and_extent_are_exact(conn: psycopg.Connection) -> None:
    count, bbox = conn.execute(
        "SELECT feature_count, bbox_4326 FROM catalog.layer_stats WHERE layer_id = 'addresses'"
    ).fetchone()
    assert count == one(conn, "SELECT count(*) FROM cadastre.addresses")
    assert 69 < bbox[0] < bbox[2] < 81 and 39 < bbox[1] < bbox[3] < 44


def test_the_public_role_reads_the_registry_and_the_names(loaded: Database) -> None:
    with psycopg.connect(loaded.public_conninfo) as conn:
        assert conn.execute("SELECT count(*) FROM cadastre.addresses").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM search.names").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM search.streets").fetchone()[0] > 0


@pytest.mark.parametrize("index", ["search.names_key_trgm_idx", "search.streets_head_trgm_idx"])
def test_the_search_indexes_keep_no_pending_list(conn: psycopg.Connection, index: str) -> None:
    """Rebuilt after every load, the trigram indexes are written straight (fastupdate off,
    migration 0024): a pending list would be scanned by every search until a vacuum."""
    row = conn.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [index])
    assert row.fetchone() == (["fastupdate=off"],)
