"""The named pools of `geoportal.db.pools`: each connects as its role with the session
settings it is declared with (the settings the pools had when each module built its own)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from geoportal.db.database import AGENCY_ROLE, PUBLIC_ROLE, Database
from geoportal.db.pools import PoolNotOpenError, Pools, features_spec, server_pools
from tiles.settings import TileSettings

SHOW = (
    "SELECT current_user, current_setting('statement_timeout'), current_setting('TimeZone'),"
    " current_setting('jit'), current_setting('plan_cache_mode'),"
    " current_setting('default_transaction_read_only'), current_setting('application_name')"
)
TILES = TileSettings(statement_timeout_ms=7_000)
EXPECTED: dict[str, tuple[Any, ...]] = {
    "tiles": (PUBLIC_ROLE, "7s", "UTC", "off", "force_custom_plan", "on", "geoportal-tiles"),
    "search": (PUBLIC_ROLE, "5s", None, None, "auto", None, None),
    "agency": (AGENCY_ROLE, None, None, None, "auto", "off", None),
    "features": (PUBLIC_ROLE, "30s", "UTC", None, "auto", "on", "geoportal-features"),
    "features-blocking": (PUBLIC_ROLE, "30s", "UTC", None, "auto", "on", "geoportal-features"),
    "stac": (PUBLIC_ROLE, "5s", "UTC", None, "auto", "on", "geoportal-stac"),
}
"""Per pool: role, timeout, time zone, jit, plan cache mode, read only, application name
(None: the server's or role's default, not set by the pool)."""


def _blocking_session(pools: Pools, name: str) -> tuple[Any, ...]:
    with pools.blocking(name).connection() as conn:
        row = conn.execute(SHOW).fetchone()
        assert row is not None
        return tuple(row)


async def _sessions(database: Database) -> dict[str, tuple[Any, ...]]:
    pools = Pools(database, {**server_pools(TILES), "features": features_spec()})
    async with pools.opened():
        found = {}
        for name, spec in pools.specs.items():
            if spec.blocking:  # for code in threads (pygeoapi's providers)
                found[name] = await asyncio.to_thread(_blocking_session, pools, name)
                continue
            async with pools[name].connection() as conn:
                row = await (await conn.execute(SHOW)).fetchone()
                assert row is not None
                found[name] = tuple(row)
    assert pools.get("tiles") is None  # closed with the block
    return found


def test_each_pool_has_its_role_and_session_settings(database: Database) -> None:
    found = asyncio.run(_sessions(database))
    assert set(found) == set(EXPECTED)
    for name, expected in EXPECTED.items():
        for index, value in enumerate(expected):
            if value is not None:
                assert found[name][index] == value, (name, SHOW.split(",")[index], found[name])


def test_an_unknown_pool_is_refused_at_start(database: Database) -> None:
    pools = Pools(database, server_pools(TILES))
    with pytest.raises(PoolNotOpenError, match="declared"):
        pools.getter("tile")
    with pytest.raises(PoolNotOpenError, match="not open"):
        pools["tiles"]
    assert pools.getter("tiles")() is None
