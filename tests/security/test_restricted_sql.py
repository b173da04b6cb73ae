"""Personal data at the SQL level: only in the `restricted` schema, unreachable for the
public database role whatever query it runs."""

from __future__ import annotations

import re

import psycopg
import pytest
from psycopg import sql

from cadastre.pins import is_fictional_pin
from geoportal.db.database import Database
from layers.catalogue import Catalogue

QUERIES = [
    "SELECT * FROM restricted.{table}",
    "SELECT count(*) FROM restricted.{table}",
    "SELECT feature_id FROM restricted.{table} LIMIT 1",
    "UPDATE restricted.{table} SET feature_id = feature_id",
    "DELETE FROM restricted.{table}",
    "COPY restricted.{table} TO STDOUT",
]


@pytest.mark.parametrize("query", QUERIES)
def test_public_role_is_denied_every_restricted_table(
    loaded: Database, catalogue: Catalogue, query: str
) -> None:
    with psycopg.connect(loaded.public_conninfo) as conn:
        for table in catalogue.restricted_layers:
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
                conn.transaction(),
            ):
                conn.execute(sql.SQL(query).format(table=sql.Identifier(table.table)))


def test_public_role_has_no_privilege_at_all(loaded: Database) -> None:
    with psycopg.connect(loaded.admin_conninfo()) as conn:
        schema = conn.execute(
            "SELECT has_schema_privilege('geoportal_public', 'restricted', 'USAGE')"
        ).fetchone()
        grants = conn.execute(
            "SELECT count(*) FROM information_schema.role_table_grants "
            "WHERE grantee IN ('geoportal_public', 'PUBLIC') AND table_schema = 'restricted'"
        ).fetchone()
        columns = conn.execute(
            "SELECT count(*) FROM information_schema.column_privileges "
            "WHERE grantee IN ('geoportal_public', 'PUBLIC') AND table_schema = 'restricted'"
        ).fetchone()
    assert schema == (False,) and grants == (0,) and columns == (0,)


def test_no_public_table_has_a_restricted_column(loaded: Database, catalogue: Catalogue) -> None:
    """Names, PINs and phones appear in no column the public role can select."""
    restricted = {f.name for table in catalogue.restricted_layers for f in table.fields}
    with psycopg.connect(loaded.admin_conninfo()) as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.column_privileges "
                "WHERE grantee = 'geoportal_public' AND privilege_type = 'SELECT'"
            ).fetchall()
        }
    assert columns and not columns & restricted
    assert not [c for c in columns if re.search(r"(pin$|phone|e?mail|holder|person)", c)]


def test_restricted_tables_are_loaded_and_linked(loaded: Database) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        operators = conn.execute(
            "SELECT count(*), count(DISTINCT o.feature_id), (SELECT count(*) FROM "
            "agriculture.agri_plots) FROM restricted.agri_plot_operators o "
            "JOIN agriculture.agri_plots p ON p.id = o.feature_id"
        ).fetchone()
        pins = [
            r[0]
            for r in conn.execute(
                "SELECT holder_pin FROM restricted.cadastre_right_holders LIMIT 500"
            ).fetchall()
        ]
        stats = conn.execute(
            "SELECT count(*) FROM catalog.layer_stats WHERE layer_id IN "
            "('agri_plot_operators', 'cadastre_right_holders')"
        ).fetchone()
    assert operators is not None and operators[0] == operators[1] == operators[2] > 0
    assert pins and all(is_fictional_pin(pin) for pin in pins)
    assert stats == (0,)  # no public statistics of personal data


def test_parcel_rights_stay_with_its_retired_record(loaded: Database) -> None:
    """Nothing in the register is deleted (migration 0024): even the owner's DELETE of a
    parcel retires it, and its rights stay with its register record."""
    with psycopg.connect(loaded.owner_conninfo) as conn, conn.transaction(force_rollback=True):
        feature = conn.execute(
            "SELECT feature_id FROM restricted.cadastre_right_holders LIMIT 1"
        ).fetchone()
        assert feature is not None
        conn.execute("DELETE FROM cadastre.cadastre_parcels WHERE id = %s", feature)
        left = conn.execute(
            "SELECT count(*) FROM restricted.cadastre_right_holders WHERE feature_id = %s", feature
        ).fetchone()
        retired = conn.execute(
            "SELECT retired_by FROM cadastre.parcel_register WHERE parcel_id = %s", feature
        ).fetchone()
        assert left is not None and left[0] >= 1
        assert retired == ("retire",)
