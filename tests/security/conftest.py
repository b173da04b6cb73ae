"""Users, keys and clients of the security tests (on the session's live server)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from geoportal.cli.users_cmd import resolve_oblasts
from geoportal.db.database import Database
from geoportal.security import keys
from tests.support.server import LiveServer

USERS = {  # name: (role, themes, oblasts)
    "roads.editor": ("agency", ["roads"], []),
    "sports.editor": ("agency", ["sports"], []),
    "agri.chuy": ("agency", ["agriculture"], ["Chuy"]),
    "chief.admin": ("admin", [], []),
}


@pytest.fixture(scope="session")
def api_keys(loaded: Database) -> dict[str, str]:
    """One API key per test user (users created once per run)."""
    created = {}
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for name, (role, themes, oblasts) in USERS.items():
            if not conn.execute("SELECT 1 FROM auth.users WHERE name = %s", [name]).fetchone():
                keys.add_user(conn, name, role, themes, resolve_oblasts(conn, oblasts))
            created[name] = keys.create_key(conn, name, note="tests")
    return created


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client
