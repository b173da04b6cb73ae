"""Two server processes on different ports standing for two hosts on one database (real
`uvicorn` subprocesses, real HTTP):

- an edit through one purges the tile cache of the other (the primary's NOTIFY reaches
  every host);
- the rate limiter counts across both: a client that spent its budget on one host is
  refused by the other (`auth.rate_spending`), a client from another address is not;
- with `GEOPORTAL_LOG_FORMAT=json` every line a host writes is one JSON object, and a
  request's access line carries its method, path, status, duration and request id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import morecantile
import psycopg
import pytest

from geoportal.db.database import Database
from geoportal.security import keys
from geoportal.settings import Settings
from tests.support.server import LiveServer, spawn_server

USER = "ops.sports"
POINT = (74.6, 42.87)  # Bishkek
LIMITS = {
    # an anonymous address may spend 300 ms of server time at once, then 1 ms a second
    "GEOPORTAL_SECURITY__RATE_LIMIT_PER_MINUTE": "0.06",
    "GEOPORTAL_SECURITY__RATE_LIMIT_BURST": "0.3",
    "GEOPORTAL_SECURITY__RATE_LIMIT_SYNC_S": "0.2",
    "GEOPORTAL_LOG_FORMAT": "json",
}
SPENDER, BYSTANDER, TILE_VIEWER = "127.0.0.7", "127.0.0.8", "127.0.0.9"  # on loopback


def poll(condition: Callable[[], bool], seconds: float = 30, every_s: float = 0.05) -> bool:
    """True as soon as `condition()` holds, False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return False


@dataclass(frozen=True)
class Hosts:
    a: LiveServer
    b: LiveServer
    a_log: Path
    key: str


def api_key(db: Database) -> str:
    with psycopg.connect(db.owner_conninfo) as conn:
        if not conn.execute("SELECT 1 FROM auth.users WHERE name = %s", [USER]).fetchone():
            keys.add_user(conn, USER, "agency", ["sports"], [])
        return keys.create_key(conn, USER, note="two hosts test")


@pytest.fixture(scope="module")
def hosts(
    loaded: Database, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hosts]:
    logs = tmp_path_factory.mktemp("two-hosts")
    with (
        spawn_server(settings, stderr=logs / "a.log", **LIMITS) as a,
        spawn_server(settings, stderr=logs / "b.log", **LIMITS) as b,
    ):
        yield Hosts(a, b, logs / "a.log", api_key(loaded))


def client_from(server: LiveServer, address: str, **headers: str) -> httpx.Client:
    """A client whose connections leave from `address` (its own loopback address)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, headers=headers, timeout=60)


def test_an_edit_through_one_host_purges_the_tiles_of_the_other(hosts: Hosts) -> None:
    tile = morecantile.tms.get("WebMercatorQuad").tile(*POINT, 12)
    path = f"/collections/sports_facilities/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    key = {"X-API-Key": hosts.key}  # writes: the key's own quota
    with (
        client_from(hosts.a, "127.0.0.1", **key) as a,
        client_from(hosts.b, TILE_VIEWER) as b,  # cached tiles cost 0.2 ms of its budget
    ):
        assert [b.get(path).headers["x-tile-cache"] for _ in range(2)][1] == "memory"
        stored = a.get("/collections/sports_facilities/items/1", params={"f": "json"})
        body = {
            "type": "Feature",
            "properties": stored.json()["properties"],
            "geometry": {"type": "Point", "coordinates": list(POINT)},
        }
        created = a.post("/collections/sports_facilities/items", json=body)
        assert created.status_code == 201, created.text
        try:
            assert poll(lambda: b.get(path).headers["x-tile-cache"] == "database")
        finally:
            deleted = a.delete(
                created.headers["location"], headers={"If-Match": created.headers["etag"]}
            )
            assert deleted.status_code == 204


def test_a_client_over_its_budget_on_one_host_is_refused_by_the_other(hosts: Hosts) -> None:
    pages = {"limit": "1000", "f": "json"}
    with client_from(hosts.a, SPENDER) as a, client_from(hosts.b, SPENDER) as b:
        statuses = []
        for _ in range(300):  # pages of 1,000 buildings until host A says 429
            statuses.append(a.get("/collections/buildings/items", params=pages).status_code)
            if statuses[-1] == 429:
                break
        assert statuses[-1] == 429 and set(statuses[:-1]) == {200}, statuses
        # host B never served this address: it learns the spending from the shared table
        # within a flush or two; each answer before costs B about a millisecond, far below
        # the 300 ms burst, so a 429 from B is A's spending
        answers: list[httpx.Response] = []
        assert poll(
            lambda: answers.append(b.get("/no-such-route")) or answers[-1].status_code == 429, 10
        )
        assert len(answers) <= 40 and {r.status_code for r in answers[:-1]} <= {404}
        assert answers[-1].headers["retry-after"]
    with client_from(hosts.b, BYSTANDER) as other:
        assert other.get("/no-such-route").status_code == 404  # per address


def test_json_logs_one_object_a_line_with_the_access_fields(hosts: Hosts) -> None:
    request_id = f"json-logs-{time.time_ns()}"
    with client_from(hosts.a, "127.0.0.1", **{"X-Request-ID": request_id}) as a:
        answer = a.get("/collections/roads/items", params={"limit": "1", "f": "json"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == request_id

    def access_lines() -> list[dict]:
        lines = [json.loads(line) for line in hosts.a_log.read_text("utf-8").splitlines()]
        return [
            line
            for line in lines
            if line["request_id"] == request_id and line["logger"] == "geoportal.access"
        ]

    assert poll(lambda: bool(access_lines()), 10)  # every line parses as JSON
    [line] = access_lines()
    assert line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == (
        "GET",
        "/collections/roads/items",
        200,
    )
    assert 0 < line["duration_ms"] < 60_000
    assert line["time"].endswith("+00:00") and "roads" in line["message"]
