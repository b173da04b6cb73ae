"""The address registry: one address for every building and every parcel in the database.

`derive_addresses` works on whatever buildings and parcels are loaded (it is run after each
load of either), in one transaction on the caller's connection:

1. `sql/address_sources.sql`: every building (its point on surface, the parcel holding it)
   and every parcel holding no building, with the settlement, oblast and rayon (or city
   district) they lie in and the street and number read from their address text;
2. the streets: each distinct (settlement, Russian street name) gets an id and its Kyrgyz
   and Latin forms (`cadastre.streets`), and a settlement row for things without a street;
   written to `search.streets` with their search key;
3. `sql/address_insert.sql`: the addresses (things without a number of their own are
   numbered outward from their settlement's point), then each street's count and box, and
   the layer's extent in `catalog.layer_stats` (its count is kept by the layer's triggers).

The layers are found through the catalogue (`buildings`, `cadastre_parcels`, `settlements`,
`oblasts`, `rayons`, `city_districts`, `addresses`); their tables are identifiers from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from cadastre.streets import street_name
from layers.catalogue import Catalogue

SOURCE_LAYERS = (
    "buildings",
    "cadastre_parcels",
    "settlements",
    "oblasts",
    "rayons",
    "city_districts",
    "addresses",
)
"""The layers the derivation reads (and, for `addresses`, writes)."""
DERIVED_FROM = ("buildings", "cadastre_parcels")
"""A load of one of these layers makes the addresses stale."""


@dataclass(frozen=True)
class AddressCounts:
    """What one derivation wrote."""

    addresses: int
    streets: int


def _sql(name: str) -> str:
    return (resources.files("cadastre") / "sql" / name).read_text("utf-8")


def _tables(catalogue: Catalogue) -> dict[str, sql.Composable]:
    """The placeholders of the derivation's SQL: layer tables as identifiers."""
    return {lid: sql.Identifier(*catalogue.get(lid).qualified_table) for lid in SOURCE_LAYERS}


def _parcel_address(conn: psycopg.Connection, catalogue: Catalogue) -> sql.Composable:
    """`p.address` when the parcels table has an address column, else NULL."""
    schema, table = catalogue.get("cadastre_parcels").qualified_table
    row = conn.execute(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s AND column_name = 'address'",
        [schema, table],
    ).fetchone()
    return sql.SQL("p.address") if row else sql.SQL("NULL")


def _write_streets(conn: psycopg.Connection, settlements: sql.Composable) -> int:
    """Give each distinct (settlement, street) of `address_sources` an id and its three
    forms (temporary table `address_streets`), and write them to `search.streets`."""
    rows = conn.execute(
        sql.SQL(
            "SELECT DISTINCT a.settlement_id, a.street_ru, s.name_ky, s.name_ru, s.name_en "
            "FROM address_sources AS a JOIN {} AS s ON s.id = a.settlement_id "
            "ORDER BY s.name_en, a.settlement_id, a.street_ru NULLS FIRST"
        ).format(settlements)
    ).fetchall()
    conn.execute(
        "CREATE TEMPORARY TABLE address_streets (id integer, settlement_id bigint, "
        "settlement_ky text, settlement_ru text, settlement_en text, street_ru text, "
        "street_ky text, street_latin text) ON COMMIT DROP"
    )
    with conn.cursor().copy("COPY address_streets FROM STDIN") as copy:
        for number, (settlement_id, street_ru, ky, ru, en) in enumerate(rows, start=1):
            name = street_name(street_ru) if street_ru else None
            copy.write_row(
                (
                    number,
                    settlement_id,
                    ky or ru or en,
                    ru or ky or en,
                    en or ru or ky,
                    street_ru,
                    name.ky if name else None,
                    name.latin if name else None,
                )
            )
    conn.execute("ANALYZE address_streets")
    conn.execute("DELETE FROM search.streets")
    conn.execute(
        "INSERT INTO search.streets (id, settlement_ky, settlement_ru, settlement_en, "
        "street_ky, street_ru, street_latin, key, head) "
        "SELECT id, settlement_ky, settlement_ru, settlement_en, street_ky, street_ru, "
        "street_latin, search.name_key(settlement_ky, settlement_ru, settlement_en, "
        "street_ky, street_ru, street_latin), CASE WHEN street_ru IS NULL "
        "THEN search.name_key(settlement_ky, settlement_ru, settlement_en) "
        "ELSE search.name_key(street_ky, street_ru, street_latin) END FROM address_streets"
    )
    return len(rows)


def derive_addresses(conn: psycopg.Connection, catalogue: Catalogue) -> AddressCounts:
    """Replace the address registry with one address per building and per parcel holding
    no building, derived from the loaded layers (one transaction; readers see the old
    registry until it commits).

    Args:
        conn: an owner connection; the caller commits (or the `with` block does).
        catalogue: the declared layers (tables of the source layers and of `addresses`).

    Returns:
        How many addresses and streets were written.
    """
    tables = _tables(catalogue)
    placeholders = {**tables, "parcel_address": _parcel_address(conn, catalogue)}
    with conn.transaction():
        conn.execute(sql.SQL(_sql("address_sources.sql")).format(**placeholders))
        streets = _write_streets(conn, tables["settlements"])
        conn.execute(sql.SQL("DELETE FROM {}").format(tables["addresses"]))
        conn.execute(sql.SQL(_sql("address_insert.sql")).format(**placeholders))
        conn.execute(sql.SQL(_sql("address_totals.sql")).format(**placeholders))
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(tables["addresses"])
        ).fetchone()
    conn.execute(sql.SQL("ANALYZE {}").format(tables["addresses"]))
    conn.execute("ANALYZE search.streets")
    return AddressCounts(addresses=int(row[0]) if row else 0, streets=streets)
