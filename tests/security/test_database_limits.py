"""Below the API: role limits and row-level security by the writer's theme."""

from __future__ import annotations

import psycopg
import pytest

from geoportal.db.database import Database


def test_public_sessions_are_read_only_and_time_limited(loaded: Database) -> None:
    with psycopg.connect(loaded.public_conninfo) as conn:
        timeout = conn.execute("SHOW statement_timeout").fetchone()
        read_only = conn.execute("SHOW default_transaction_read_only").fetchone()
    assert timeout == ("30s",) and read_only == ("on",)


def _as(conn: psycopg.Connection, role: str, themes: str) -> None:
    conn.execute(
        "SELECT set_config('geoportal.user', 'rls-test', true), "
        "set_config('geoportal.role', %s, true), "
        "set_config('geoportal.themes', %s, true)",
        [role, themes],
    )


@pytest.mark.parametrize(
    ("role", "themes", "allowed"),
    [
        ("agency", "roads", True),
        ("agency", "sports,agriculture", False),
        ("admin", "", True),
        ("public", "roads", False),
        ("", "", False),
    ],
)
def test_agency_role_writes_only_the_themes_of_the_identity(
    loaded: Database, role: str, themes: str, allowed: bool
) -> None:
    with psycopg.connect(loaded.agency_conninfo) as conn, conn.transaction(force_rollback=True):
        _as(conn, role, themes)
        updated = conn.execute(
            "UPDATE roads.roads SET lanes = lanes WHERE id IN (SELECT id FROM roads.roads LIMIT 3)"
        ).rowcount
        assert updated == (3 if allowed else 0)
        visible = conn.execute("SELECT count(*) FROM roads.roads").fetchone()
        assert visible is not None and visible[0] > 0  # reads are not restricted
    if not allowed:
        with psycopg.connect(loaded.agency_conninfo) as conn, conn.transaction(force_rollback=True):
            _as(conn, role, themes)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level"):
                conn.execute("INSERT INTO roads.roads SELECT * FROM roads.roads LIMIT 1")
