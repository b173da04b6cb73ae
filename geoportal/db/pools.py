"""The server's named connection pools and the session settings of each, in one place.

A pool is declared by a `PoolSpec`: a name (also the `application_name` the statements
carry in `pg_stat_activity` where one is set), the database role it connects as, its sizes
and the session settings applied once to each new connection (`SessionSettings`: statement
timeout, time zone, read only, JIT, plan cache mode, application name). `server_pools`
lists the pools of one server process; `Pools` opens them in the app's lifespan and hands
them out by name (`Pools.getter`), so every route and middleware gets its pool the same
way. A spec marked `blocking` is opened as a blocking pool (`Pools.blocking`) for code that
runs in threads: pygeoapi's providers, which find it in their registry
(`geoportal.providers.features.serving_pool`). The CLI (`geoportal tiles export`) and a
provider used outside a server (tests, scripts) build theirs from the same specs
(`async_pool`, `sync_pool`).

| pool | role | settings |
| --- | --- | --- |
| `agency` | geoportal_agency | none per session: each write sets its statement timeout and identity per transaction (`writes.py`) |
| `tiles` | geoportal_public | tile timeout, UTC, read only, JIT off, custom plans, `geoportal-tiles` |
| `search` | geoportal_public (the read replica when configured) | statement timeout |
| `features` (fast path, asyncio) | geoportal_public (the read replica when configured) | timeout, UTC, read only, `geoportal-features` |
| `features-blocking` (pygeoapi's providers, threads) | the same | the same |
| `stac` | geoportal_public (pgstac_read; the read replica when configured) | timeout, UTC, read only, `pgstac.readonly`, pgstac's search path, `geoportal-stac` |
"""  # noqa: E501

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from geoportal.db.database import AGENCY_ROLE, PUBLIC_ROLE, Database
from tiles.settings import TileSettings

PoolGetter = Callable[[], AsyncConnectionPool | None]
"""How routes and middleware reach a pool: None until the lifespan has opened it."""

SEARCH_TIMEOUT_MS = 5_000


@dataclass(frozen=True, kw_only=True)
class SessionSettings:
    """Settings of a pooled connection's session, applied once when the pool opens it."""

    statement_timeout_ms: int | None = None
    utc: bool = False
    """TimeZone UTC (timestamps read as UTC)."""
    read_only: bool = False
    """default_transaction_read_only: a statement that writes fails."""
    jit: bool | None = None
    """None leaves the server's choice."""
    custom_plans: bool = False
    """plan_cache_mode = force_custom_plan: prepared statements planned for their values."""
    application_name: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    """Further (setting, value) pairs, e.g. pgstac's `search_path` and `pgstac.readonly`."""

    def assignments(self) -> list[tuple[str, str]]:
        """The (setting, value) pairs, in a fixed order."""
        pairs: list[tuple[str, str]] = []
        if self.statement_timeout_ms is not None:
            pairs.append(("statement_timeout", str(int(self.statement_timeout_ms))))
        if self.utc:
            pairs.append(("TimeZone", "UTC"))
        if self.jit is not None:
            pairs.append(("jit", "on" if self.jit else "off"))
        if self.custom_plans:
            pairs.append(("plan_cache_mode", "force_custom_plan"))
        if self.read_only:
            pairs.append(("default_transaction_read_only", "on"))
        if self.application_name:
            pairs.append(("application_name", self.application_name))
        pairs.extend(self.extra)
        return pairs

    def statement(self) -> tuple[str, list[str]]:
        """One `SELECT set_config(...)` statement and its bound values (one round trip)."""
        pairs = self.assignments()
        calls = ", ".join("set_config(%s, %s, false)" for _ in pairs)
        return f"SELECT {calls}", [value for pair in pairs for value in pair]

    async def apply_async(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Apply the settings to an asyncio connection (a pool's `configure`)."""
        if self.assignments():
            await conn.execute(*self.statement())  # type: ignore[arg-type]

    def apply(self, conn: psycopg.Connection[Any]) -> None:
        """Apply the settings to a blocking connection (a pool's `configure`)."""
        if self.assignments():
            conn.execute(*self.statement())  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class PoolSpec:
    """A named pool: role, sizes, checkout timeout and session settings."""

    name: str
    role: str = PUBLIC_ROLE
    min_size: int = 1
    max_size: int = 4
    timeout_s: float = 10.0
    """How long a request waits for a free connection (then PoolTimeout)."""
    session: SessionSettings = field(default_factory=SessionSettings)
    read_path: bool = False
    """Connect to the read replica when one is configured (`Database.read_conninfo`)."""
    blocking: bool = False
    """A blocking pool (`psycopg_pool.ConnectionPool`) for code running in threads."""


def tile_session(statement_timeout_ms: int) -> SessionSettings:
    """Session settings of a tile connection: timeout, UTC, read only, no JIT, custom plans.

    JIT compilation is off: PostgreSQL turns it on for costly plans, which low-zoom tiles
    are, and compiling took longer than the query (a z6 tile of the national plots:
    650 ms with JIT, 200 ms without). Plans are made for each tile's values
    (`force_custom_plan`, about 0.3 ms of planning): the generic plan of a prepared tile
    statement cannot tell a small tile from a whole country, and chose the plain GiST index
    for a z2 tile the size index answers in 0.6 ms (55 ms).
    """
    return SessionSettings(
        statement_timeout_ms=statement_timeout_ms,
        utc=True,
        jit=False,
        custom_plans=True,
        read_only=True,
        application_name="geoportal-tiles",
    )


def features_session(statement_timeout_ms: int) -> SessionSettings:
    """Session settings of the features read path (pygeoapi provider and fast path)."""
    return SessionSettings(
        statement_timeout_ms=statement_timeout_ms,
        utc=True,
        read_only=True,
        application_name="geoportal-features",
    )


def tiles_spec(
    tiles: TileSettings, *, name: str = "tiles", max_size: int | None = None
) -> PoolSpec:
    """The tile engine's pool (`max_size` defaults to `tiles.pool_max_size`)."""
    return PoolSpec(
        name=name,
        max_size=max_size or tiles.pool_max_size,
        session=tile_session(tiles.statement_timeout_ms),
    )


def features_spec(
    statement_timeout_ms: int = 30_000,
    timeout_s: float = 10.0,
    max_size: int = 4,
    *,
    name: str = "features",
) -> PoolSpec:
    """A features read pool (the provider's options: timeout, pool timeout, pool size), on
    the read replica when one is configured."""
    return PoolSpec(
        name=name,
        max_size=max_size,
        timeout_s=timeout_s,
        session=features_session(statement_timeout_ms),
        read_path=True,
    )


def server_pools(tiles: TileSettings, statement_timeout_ms: int = 30_000) -> dict[str, PoolSpec]:
    """The pools one server process opens in its lifespan, by name (`statement_timeout_ms`:
    of the features read path)."""
    features = features_spec(statement_timeout_ms)
    return {
        "features": features,
        "features-blocking": replace(features, name="features-blocking", blocking=True),
        "agency": PoolSpec(name="agency", role=AGENCY_ROLE, min_size=0, max_size=4),
        "tiles": tiles_spec(tiles),
        "search": PoolSpec(
            name="search",
            min_size=0,
            read_path=True,
            session=SessionSettings(statement_timeout_ms=SEARCH_TIMEOUT_MS),
        ),
        "stac": PoolSpec(name="stac", min_size=0, read_path=True, session=stac_session()),
    }


def stac_session() -> SessionSettings:
    """The image bank's public searches: read only, pgstac's read-only mode (no search cache
    written), pgstac first on the search path (its functions name their tables unqualified)."""
    return SessionSettings(
        statement_timeout_ms=SEARCH_TIMEOUT_MS,
        utc=True,
        read_only=True,
        application_name="geoportal-stac",
        extra=(("search_path", "pgstac, public"), ("pgstac.readonly", "true")),
    )


def async_pool(spec: PoolSpec, conninfo: str) -> AsyncConnectionPool[Any]:
    """A new, unopened asyncio pool of `spec` (autocommit: callers open transactions)."""
    session = spec.session
    return AsyncConnectionPool(
        conninfo,
        min_size=spec.min_size,
        max_size=spec.max_size,
        open=False,
        timeout=spec.timeout_s,
        kwargs={"autocommit": True},
        configure=session.apply_async if session.assignments() else None,
        name=spec.name,
    )


def sync_pool(spec: PoolSpec, conninfo: str) -> ConnectionPool[Any]:
    """A new, opened blocking pool of `spec` (pygeoapi's providers run in threads).

    No `check` on checkout: it costs a round trip per request. A connection broken by a
    server restart fails its request once (503) and the pool replaces it when it is
    returned in a bad state.
    """
    session = spec.session
    return ConnectionPool(
        conninfo,
        min_size=spec.min_size,
        max_size=spec.max_size,
        open=True,
        timeout=spec.timeout_s,
        kwargs={"autocommit": True},
        configure=session.apply if session.assignments() else None,
        name=spec.name,
    )


class PoolNotOpenError(LookupError):
    """A pool was asked for by a name this process does not declare, or before it opened."""


class Pools:
    """The named pools of one process: declared at start, opened and closed by `opened()`."""

    def __init__(self, database: Database, specs: Mapping[str, PoolSpec]) -> None:
        self.database = database
        self.specs = dict(specs)
        self._open: dict[str, AsyncConnectionPool[Any]] = {}
        self._blocking: dict[str, ConnectionPool[Any]] = {}

    def get(self, name: str) -> AsyncConnectionPool[Any] | None:
        """The open pool called `name`, None outside the lifespan.

        Raises:
            PoolNotOpenError: no pool of that name is declared.
        """
        if name not in self.specs:
            raise PoolNotOpenError(f"no pool {name!r}; declared: {sorted(self.specs)}")
        return self._open.get(name)

    def blocking(self, name: str) -> ConnectionPool[Any]:
        """The open blocking pool called `name` (a spec marked `blocking`).

        Raises:
            PoolNotOpenError: no such pool, or the pools are not open.
        """
        self.get(name)
        pool = self._blocking.get(name)
        if pool is None:
            raise PoolNotOpenError(f"blocking pool {name!r} is not open")
        return pool

    def statistics(self) -> dict[str, dict[str, int]]:
        """psycopg_pool's statistics of every open pool, asyncio and blocking, by name."""
        opened: dict[str, Any] = {**self._open, **self._blocking}
        return {name: pool.get_stats() for name, pool in opened.items()}

    def __getitem__(self, name: str) -> AsyncConnectionPool[Any]:
        """The open pool called `name`.

        Raises:
            PoolNotOpenError: no such pool, or the pools are not open.
        """
        pool = self.get(name)
        if pool is None:
            raise PoolNotOpenError(f"pool {name!r} is not open (outside the app's lifespan)")
        return pool

    def getter(self, name: str) -> PoolGetter:
        """A function returning the pool `name` (None until opened): what routes hold."""
        self.get(name)  # an unknown name fails at start, not at the first request
        return lambda: self._open.get(name)

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[Pools]:
        """Open every pool (without waiting for connections), close them all on exit."""
        try:
            for name, spec in self.specs.items():
                conninfo = (
                    self.database.read_conninfo
                    if spec.read_path
                    else self.database.role_conninfo(spec.role)
                )
                if spec.blocking:  # its connections are made by its own threads
                    self._blocking[name] = sync_pool(spec, conninfo)
                    continue
                pool = async_pool(spec, conninfo)
                await pool.open(wait=False)
                self._open[name] = pool
            yield self
        finally:
            pools, self._open = self._open, {}
            blocking, self._blocking = self._blocking, {}
            for pool in pools.values():
                await pool.close()
            for sync in blocking.values():
                await asyncio.to_thread(sync.close)
