"""`geoportal users ...` and `geoportal keys ...` as an administrator runs them."""

from __future__ import annotations

import re

import httpx
import psycopg

from geoportal.db.database import Database
from geoportal.settings import Settings
from tests.cli.test_cli import geoportal


def test_user_and_key_life_cycle(
    loaded: Database, settings: Settings, client: httpx.Client
) -> None:
    added = geoportal(
        "users",
        "add",
        "osh.roads",
        "--theme",
        "roads",
        "--oblast",
        "ош",
        "--full-name",
        "Test Officer",
        settings=settings,
    )
    assert added.returncode == 0, added.stderr
    assert "Osh" in added.stdout
    listed = geoportal("users", "list", settings=settings)
    assert "osh.roads" in listed.stdout and "roads" in listed.stdout
    created = geoportal(
        "keys", "create", "osh.roads", "--note", "cli test", "--days", "30", settings=settings
    )
    assert created.returncode == 0, created.stderr
    key = re.search(r"gpk_[0-9a-f]{12}_\S{43}", created.stdout)
    assert key is not None
    prefix = key.group(0).split("_")[1]
    keys_listed = geoportal("keys", "list", "--user", "osh.roads", settings=settings)
    assert prefix in keys_listed.stdout and key.group(0) not in keys_listed.stdout
    headers = {"X-API-Key": key.group(0)}
    assert (
        client.delete("/collections/roads/items/999999999", headers=headers).status_code == 404
    )  # authenticated, and no such road
    assert geoportal("keys", "revoke", prefix, settings=settings).returncode == 0
    disabled = geoportal("users", "disable", "osh.roads", settings=settings)
    assert disabled.returncode == 0
    assert geoportal("keys", "create", "osh.roads", settings=settings).returncode == 1


def test_bad_input_is_one_clear_line(loaded: Database, settings: Settings) -> None:
    theme = geoportal("users", "add", "x.y", "--theme", "weather", settings=settings)
    assert theme.returncode == 1 and "valid: roads" in " ".join(theme.stdout.split())
    oblast = geoportal(
        "users", "add", "x.y", "--theme", "roads", "--oblast", "Atlantis", settings=settings
    )
    assert oblast.returncode == 1 and "Batken Region" in " ".join(oblast.stdout.split())
    revoke = geoportal("keys", "revoke", "ffffffffffff", settings=settings)
    assert revoke.returncode == 1 and "no key" in revoke.stdout
    for result in (theme, oblast, revoke):
        assert "Traceback" not in result.stdout + result.stderr


def _quotas(database: Database, user: str) -> tuple[float | None, list[float | None]]:
    with psycopg.connect(database.owner_conninfo) as conn:
        row = conn.execute(
            "SELECT quota_per_minute FROM auth.users WHERE name = %s", [user]
        ).fetchone()
        keys = conn.execute(
            "SELECT quota_per_minute FROM auth.api_keys WHERE user_name = %s", [user]
        ).fetchall()
    assert row is not None
    return row[0], [k[0] for k in keys]


def test_quotas_are_set_by_the_administrator(loaded: Database, settings: Settings) -> None:
    added = geoportal(
        "users", "add", "acme.business", "--theme", "roads", "--quota", "600", settings=settings
    )
    assert added.returncode == 0, added.stdout
    created = geoportal("keys", "create", "acme.business", "--quota", "900", settings=settings)
    key = re.search(r"gpk_([0-9a-f]{12})_\S{43}", created.stdout)
    assert key is not None
    assert _quotas(loaded, "acme.business") == (600, [900])
    assert geoportal("users", "quota", "acme.business", "30", settings=settings).returncode == 0
    assert geoportal("keys", "quota", key.group(1), "default", settings=settings).returncode == 0
    assert _quotas(loaded, "acme.business") == (30, [None])
    bad = geoportal("users", "quota", "acme.business", "lots", settings=settings)
    assert bad.returncode != 0 and "quota" in bad.stdout
