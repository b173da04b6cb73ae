"""Revoking a key or disabling a user takes effect at once in every process: a key verified
(and cached) by the session's server and by a second server process stops working in both
as soon as the change commits (NOTIFY geoportal_auth, migration 0012)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest

from geoportal.db.database import Database
from geoportal.security import keys
from tests.support.server import LiveServer, spawn_server

BOUND_S = 3.0  # far below the key cache (60 s) and below the old 30 s


@pytest.fixture(scope="module")
def second(loaded: Database, settings) -> Iterator[LiveServer]:
    with spawn_server(settings, GEOPORTAL_SECURITY__RATE_LIMIT_PER_MINUTE="0") as server:
        yield server


def _status(server: LiveServer, key: str) -> int:
    with server.client() as client:
        return client.get("/audit", params={"limit": 1}, headers={"X-API-Key": key}).status_code


def _refused_everywhere(servers: list[LiveServer], key: str) -> bool:
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        if all(_status(server, key) == 401 for server in servers):
            return True
    return False


def _admin_key(database: Database, name: str) -> str:
    with psycopg.connect(database.owner_conninfo) as conn:
        keys.add_user(conn, name, "admin", [], [])
        return keys.create_key(conn, name, note="revocation test")


@pytest.mark.parametrize(
    "change",
    [
        lambda conn, name, key: keys.revoke_key(conn, key),
        lambda conn, name, key: keys.disable_user(conn, name),
    ],
    ids=["revoked key", "disabled user"],
)
def test_a_change_is_seen_at_once_by_every_process(
    live_server: LiveServer,
    second: LiveServer,
    loaded: Database,
    change: Callable[[psycopg.Connection, str, str], None],
) -> None:
    name = f"revoke.{time.time_ns()}"
    key = _admin_key(loaded, name)
    servers = [live_server, second]
    for server in servers:  # verified, hence cached, in both processes
        assert [_status(server, key) for _ in range(3)] == [200, 200, 200]
    with psycopg.connect(loaded.owner_conninfo) as conn:
        change(conn, name, key)
    assert _refused_everywhere(servers, key)


def test_keys_are_not_checked_against_the_database_each_time(
    live_server: LiveServer, loaded: Database
) -> None:
    """The cache is still used while nothing changes (a request does not run a scrypt)."""
    key = _admin_key(loaded, f"cached.{time.time_ns()}")
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        client.get("/audit", headers={"X-API-Key": key})
        started = time.perf_counter()
        for _ in range(20):
            assert client.get("/healthz", headers={"X-API-Key": key}).status_code == 200
        per_request_s = (time.perf_counter() - started) / 20
    assert per_request_s < 0.03  # an scrypt alone takes about 50 ms here
