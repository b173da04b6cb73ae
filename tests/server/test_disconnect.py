"""The one cancel-on-disconnect helper (`geoportal.server.disconnect`): a client that goes
away cancels its statement in the database; a client that waits gets its answer. Served by
uvicorn over real HTTP, on a pool of `geoportal.db.pools`, against the session's cluster."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import psycopg
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from geoportal.db.database import Database
from geoportal.db.pools import Pools, PoolSpec, SessionSettings
from geoportal.server.disconnect import respond_unless_disconnected
from tests.support.server import free_port, serve_asgi

APP_NAME = "geoportal-disconnect-test"
RUNNING_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    " AND state = 'active' AND query LIKE 'SELECT pg_sleep(%%'"
)


def sleeper_app(pools: Pools) -> Starlette:
    """`GET /sleep?s=N`: a statement of N seconds run through the helper."""
    pool = pools.getter("test")

    async def sleep(request: Request) -> Response:
        async def work() -> Response:
            current = pool()
            assert current is not None
            async with current.connection() as conn:
                await conn.execute("SELECT pg_sleep(%s)", [float(request.query_params["s"])])
            return PlainTextResponse("slept")

        return await respond_unless_disconnected(request, work())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with pools.opened():
            yield

    return Starlette(routes=[Route("/sleep", sleep)], lifespan=lifespan)


@pytest.fixture(scope="module")
def sleeper(database: Database) -> Iterator[str]:
    """The base URL of a running sleeper app."""
    spec = PoolSpec(name="test", session=SessionSettings(application_name=APP_NAME))
    port = free_port()
    with serve_asgi(sleeper_app(Pools(database, {"test": spec})), "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}"


def _running(conn: psycopg.Connection) -> int:
    row = conn.execute(RUNNING_SQL, [APP_NAME]).fetchone()
    return int(row[0]) if row else 0


def _poll(predicate: object, bound_s: float, what: str) -> float:
    """Seconds until `predicate()` holds; fails after `bound_s`."""
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < bound_s, what
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_client_that_leaves_cancels_its_statement(sleeper: str, database: Database) -> None:
    gave_up: list[Exception] = []

    def fetch() -> None:
        with httpx.Client(base_url=sleeper, timeout=1.0) as http:
            try:
                http.get("/sleep", params={"s": 30})
            except httpx.ReadTimeout as exc:
                gave_up.append(exc)

    client = threading.Thread(target=fetch)
    with psycopg.connect(database.admin_conninfo(), autocommit=True) as conn:
        client.start()
        _poll(lambda: _running(conn) == 1, 5, "the statement never started")
        client.join(timeout=10)  # the client gives up after 1 s and closes its connection
        assert gave_up, "the client did not give up"
        waited = _poll(lambda: _running(conn) == 0, 5, "the statement outlived its client")
    assert waited < 2  # the statement alone runs 30 s


def test_a_client_that_waits_gets_the_answer(sleeper: str) -> None:
    with httpx.Client(base_url=sleeper, timeout=10.0) as http:
        response = http.get("/sleep", params={"s": 0.2})
    assert response.status_code == 200
    assert response.text == "slept"
