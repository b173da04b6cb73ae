"""/readyz: the database reachable and migrated exactly as the code expects."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from geoportal.db.database import Database
from geoportal.db.migrate import list_migrations
from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


@pytest.fixture
def admin(loaded: Database) -> Iterator[psycopg.Connection]:
    with psycopg.connect(loaded.admin_conninfo(), autocommit=True) as conn:
        yield conn


def test_ready_when_migrations_match(client: httpx.Client) -> None:
    assert client.get("/readyz").json() == {"status": "ok"}


def test_one_migration_behind_is_503_naming_it(
    client: httpx.Client, admin: psycopg.Connection
) -> None:
    last = list_migrations()[-1]
    row = admin.execute(
        "DELETE FROM geoportal_meta.schema_migrations WHERE version = %s "
        "RETURNING version, name, checksum, applied_at",
        [last.version],
    ).fetchone()
    assert row is not None
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert f"{last.version:04d}_{last.name}" in response.json()["detail"]
        assert "not applied" in response.json()["detail"]
    finally:
        admin.execute(
            "INSERT INTO geoportal_meta.schema_migrations (version, name, checksum, applied_at) "
            "VALUES (%s, %s, %s, %s)",
            list(row),
        )
    assert client.get("/readyz").status_code == 200


def test_changed_checksum_is_503(client: httpx.Client, admin: psycopg.Connection) -> None:
    first = list_migrations()[0]
    admin.execute(
        "UPDATE geoportal_meta.schema_migrations SET checksum = 'edited' WHERE version = 1"
    )
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert f"another checksum: {first.version:04d}_{first.name}" in response.json()["detail"]
    finally:
        admin.execute(
            "UPDATE geoportal_meta.schema_migrations SET checksum = %s WHERE version = 1",
            [first.checksum],
        )


def test_public_role_reads_versions_only_through_the_function(loaded: Database) -> None:
    with psycopg.connect(loaded.public_conninfo) as conn:
        rows = conn.execute("SELECT version, checksum FROM catalog.applied_migrations()")
        assert {v for v, _ in rows.fetchall()} == {m.version for m in list_migrations()}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT name FROM geoportal_meta.schema_migrations")
