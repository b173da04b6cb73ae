"""Who reads personal data, decided by the database (migration 0011): row-level security by
theme on every restricted table, with the identity the server sets for a transaction."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from geoportal.db.database import Database
from geoportal.security.identity import Identity
from layers.catalogue import Catalogue
from layers.ddl import create_table_sql, qualified, quote_literal

TABLES = ("agri_plot_operators", "cadastre_right_holders")


def as_identity(conn: psycopg.Connection, identity: Identity) -> None:
    """Set the identity for the transaction exactly as the server's write path does."""
    for name, value in identity.transaction_settings().items():
        conn.execute("SELECT set_config(%s, %s, true)", [name, value])


def counts(conn: psycopg.Connection) -> dict[str, int]:
    """Rows of each restricted table the session sees."""
    seen = {}
    for table in TABLES:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM restricted.{}").format(sql.Identifier(table))
        ).fetchone()
        assert row is not None
        seen[table] = row[0]
    return seen


@pytest.fixture(scope="module")
def stored(loaded: Database) -> dict[str, int]:
    """Rows of each restricted table (the owner sees them all)."""
    with psycopg.connect(loaded.owner_conninfo) as conn:
        total = counts(conn)
    assert all(total.values())
    return total


@pytest.mark.parametrize(
    ("identity", "readable"),
    [
        (Identity("roads.editor", "agency", frozenset({"roads"})), ()),
        (Identity("city.editor", "agency", frozenset({"city", "sports", "irrigation"})), ()),
        (Identity("cadastre.editor", "agency", frozenset({"cadastre"})), TABLES[1:]),
        (Identity("agri.editor", "agency", frozenset({"agriculture"})), TABLES[:1]),
        (
            Identity("agri.chuy", "agency", frozenset({"agriculture"}), frozenset({"Chuy"})),
            TABLES[:1],
        ),
        (Identity("chief.admin", "admin"), TABLES),
        (Identity("anonymous", "public", frozenset({"cadastre", "agriculture"})), ()),
    ],
    ids=lambda value: value.name if isinstance(value, Identity) else None,
)
def test_restricted_rows_are_read_by_theme(
    loaded: Database, stored: dict[str, int], identity: Identity, readable: tuple[str, ...]
) -> None:
    with psycopg.connect(loaded.agency_conninfo) as conn, conn.transaction(force_rollback=True):
        as_identity(conn, identity)
        seen = counts(conn)
    assert seen == {table: stored[table] if table in readable else 0 for table in TABLES}


def test_agency_session_without_identity_reads_nothing_restricted(loaded: Database) -> None:
    with psycopg.connect(loaded.agency_conninfo) as conn:
        assert counts(conn) == dict.fromkeys(TABLES, 0)


def test_public_role_is_still_denied(loaded: Database) -> None:
    with psycopg.connect(loaded.public_conninfo) as conn:
        for table in TABLES:
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
                conn.transaction(),
            ):
                as_identity(conn, Identity("chief.admin", "admin"))
                conn.execute(
                    sql.SQL("SELECT count(*) FROM restricted.{}").format(sql.Identifier(table))
                )


def test_restricted_rows_are_written_by_theme(loaded: Database) -> None:
    update = "UPDATE restricted.agri_plot_operators SET operator_phone = operator_phone"
    copy = (
        "INSERT INTO restricted.cadastre_right_holders (feature_id, holder_name, holder_pin, "
        "right_type, share) SELECT feature_id, holder_name, holder_pin, right_type, share "
        "FROM restricted.cadastre_right_holders LIMIT 1"
    )
    with psycopg.connect(loaded.agency_conninfo) as conn, conn.transaction(force_rollback=True):
        as_identity(conn, Identity("roads.editor", "agency", frozenset({"roads"})))
        assert conn.execute(update).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level"):
            conn.execute(
                "INSERT INTO restricted.cadastre_right_holders (feature_id, holder_name, "
                "holder_pin, right_type, share) VALUES (1, 'x', '00000000000000', 'use', 1)"
            )
    with psycopg.connect(loaded.agency_conninfo) as conn, conn.transaction(force_rollback=True):
        as_identity(conn, Identity("agri.editor", "agency", frozenset({"agriculture"})))
        assert conn.execute(update).rowcount > 0
        as_identity(conn, Identity("cadastre.editor", "agency", frozenset({"cadastre"})))
        assert conn.execute(copy).rowcount == 1


def test_every_declared_restricted_table_is_read_by_its_layers_theme(
    loaded: Database, catalogue: Catalogue
) -> None:
    """The policies follow the declarations: each restricted table has row-level security
    and a read policy naming the theme of its layer, and the DDL of a new restricted table
    (issue 13's cadastre tables) joins the same mechanism by its theme."""
    with psycopg.connect(loaded.admin_conninfo()) as conn:
        for table in catalogue.restricted_layers:
            regclass = ".".join(table.qualified_table)
            row = conn.execute(
                "SELECT c.relrowsecurity, pg_get_expr(p.polqual, p.polrelid) FROM pg_class c "
                "JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'theme_read' "
                "WHERE c.oid = %s::regclass",
                [regclass],
            ).fetchone()
            assert row is not None, regclass
            assert row[0] and f"identity_may_read_restricted('{table.theme}'" in row[1]
            ddl = create_table_sql(table, {layer.id: layer for layer in catalogue})
            protect = f"catalog.restricted_protect({quote_literal(qualified(table))}, "
            assert f"{protect}{quote_literal(table.theme)});" in ddl
