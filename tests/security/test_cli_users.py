"""`geoportal users ...` and `geoportal keys ...` as an administrator runs them."""

from __future__ import annotations

import re

import httpx

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
