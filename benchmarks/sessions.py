"""`python -m benchmarks.sessions`: a load test of simulated users playing sessions.

Unlike `benchmarks/load.py`, which replays a list of GETs, each simulated user here plays
sessions the way a person does, with think times between steps, for `--duration` seconds:

| share | user | what a session does |
| --- | --- | --- |
| 70 % | viewer | the map's style, then 3-8 views: a screen of 4 x 3 tiles, zooms 6-14 |
| 15 % | items | pages through a collection's items (`limit=50`, following `next` 1-4 times) |
| 5 % | by id | opens 1-5 features by id |
| 5 % | search | types a place name, one `/search?q=` per keystroke from the third |
| 4 % | download | a PMTiles archive of a town's roads and buildings (`/downloads/pmtiles`) |
| 1 % | writer | with an API key (`--api-key`): creates a feature, reads it, deletes it (If-Match) |

A viewer looks around a town, zooming in or panning between views, fetching 6 tiles at a
time as a browser does. Roles are given by these shares (200 users: 140 viewers, 30 items,
10 by id, 10 search, 8 downloads, 2 writers). Every anonymous user connects from its own
loopback address (127.1.x.y, the client socket bound to it), as users behind different
addresses do, so each spends its own budget of the rate limiter; the writers share
127.0.0.1 and the key's quota.

Reported: throughput, p50/p95/p99 per class of request and every error. An error is any
status other than 200, 201, 204, 304, or a failed request. A 429 is an error: with the
shipped defaults (30 work-seconds a minute per address, a burst of 20 s) no simulated user
comes near its quota (a viewer session spends well under a second of server time a minute),
so a 429 means the limiter refused a client that stayed within its documented quota.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import os
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import typer

from benchmarks.floor import percentile

ROLES = (  # role, share of the users
    ("viewer", 0.70),
    ("items", 0.15),
    ("by_id", 0.05),
    ("search", 0.05),
    ("download", 0.04),
    ("writer", 0.01),
)
OK = {200, 201, 204, 304}
TOWNS = {  # lon, lat: where the users look
    "Bishkek": (74.59, 42.87),
    "Osh": (72.80, 40.53),
    "Jalal-Abad": (73.00, 40.93),
    "Karakol": (78.39, 42.49),
    "Naryn": (75.99, 41.43),
    "Talas": (72.24, 42.52),
    "Tokmok": (75.30, 42.84),
    "Kara-Balta": (73.85, 42.81),
}
ITEM_COLLECTIONS = ("roads", "settlements", "buildings", "agri_plots", "sports_facilities")
WRITE_COLLECTION = "sports_facilities"
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


class TimeUp(Exception):
    """The test's duration is over: the user stops between two steps."""


@dataclass
class Results:
    """Latencies (ms) per class of request, and the errors."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    refused_users: set[int] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)

    def add(self, kind: str, started: float, status: int | str, user: int, what: str) -> None:
        """Record one request (status: the HTTP status or the exception's name)."""
        self.latencies[kind].append((time.perf_counter() - started) * 1000)
        if status not in OK:
            self.errors[(kind, str(status))] += 1
            if len(self.examples) < 20:  # a few, to tell what failed
                self.examples.append(f"{status} {what}")
            if status == 429:
                self.refused_users.add(user)


@dataclass(frozen=True)
class Plan:
    """What the users need to know: the server, the data they ask for, the key."""

    url: str
    collections: tuple[str, ...]
    ids: dict[str, list[Any]]
    api_key: str | None
    deadline: float
    bounds: tuple[float, float, float, float]  # of the tiles (tilejson), CRS84
    write_properties: dict[str, Any] | None  # of a feature of WRITE_COLLECTION, copied


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """WebMercatorQuad column and row of a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def user_address(index: int) -> str:
    """The loopback address of anonymous user `index` (127.1.0.1, 127.1.0.2, ...)."""
    return str(ipaddress.IPv4Address("127.1.0.1") + index)


class User:
    """One simulated user: a role, its own connections (and address), a random stream."""

    def __init__(self, index: int, role: str, plan: Plan, results: Results, seed: int) -> None:
        self.index, self.role, self.plan, self.results = index, role, plan, results
        self.rng = random.Random(seed * 100_003 + index)
        address = "127.0.0.1" if role == "writer" else user_address(index)
        connector = aiohttp.TCPConnector(limit=6, local_addr=(address, 0))
        self.session = aiohttp.ClientSession(
            plan.url, connector=connector, timeout=aiohttp.ClientTimeout(total=120)
        )

    async def get(self, kind: str, path: str, **params: str) -> tuple[int, bytes]:
        """GET `path`, timed as `kind`; (status, body), status 0 when it failed."""
        return await self.request(kind, "GET", path, params=params)

    async def request(self, kind: str, method: str, path: str, **kwargs: Any) -> tuple[int, bytes]:
        """One timed request, its body read whole."""
        started = time.perf_counter()
        try:
            async with self.session.request(method, path, **kwargs) as answer:
                body = await answer.read()
                what = f"{method} {answer.url.path_qs}"
                self.results.add(kind, started, answer.status, self.index, what)
                self.headers = answer.headers
                return answer.status, body
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.results.add(kind, started, type(exc).__name__, self.index, f"{method} {path}")
            return 0, b""

    async def think(self, low_s: float, high_s: float) -> None:
        """Wait as a person does between two steps; the session ends at the deadline.

        Raises:
            TimeUp: the test's duration is over.
        """
        await asyncio.sleep(self.rng.uniform(low_s, high_s))
        if time.monotonic() >= self.plan.deadline:
            raise TimeUp

    async def run(self) -> None:
        """Sessions of the user's role until the deadline."""
        session = getattr(self, self.role)
        try:
            await asyncio.sleep(self.rng.uniform(0, 10))  # users arrive over 10 s
            while time.monotonic() < self.plan.deadline:
                await session()
        except TimeUp:
            pass
        finally:
            await self.session.close()

    # -- sessions ----------------------------------------------------------------------
    async def viewer(self) -> None:
        lon, lat = self.rng.choice(list(TOWNS.values()))
        z = self.rng.randint(6, 10)
        await self.get("style", "/tiles/WebMercatorQuad/style.json")
        west, south, east, north = self.plan.bounds  # as MapLibre, only tiles in bounds
        for _ in range(self.rng.randint(3, 8)):
            x, y = tile_of(lon, lat, z)
            (x0, y0), (x1, y1) = tile_of(west, north, z), tile_of(east, south, z)
            screen = [(x + dx, y + dy) for dx in (-2, -1, 0, 1) for dy in (-1, 0, 1)]
            await asyncio.gather(
                *(
                    self.get("tile", f"/tiles/WebMercatorQuad/{z}/{ty}/{tx}")
                    for tx, ty in screen
                    if x0 <= tx <= x1 and y0 <= ty <= y1
                )
            )
            await self.think(1, 4)
            if z < 14 and self.rng.random() < 0.6:
                z += 1
            else:  # pan by about a third of a screen
                span = 360 / 2**z
                lon += self.rng.uniform(-1.3, 1.3) * span
                lat += self.rng.uniform(-0.6, 0.6) * span

    async def items(self) -> None:
        collection = self.rng.choice(self.plan.collections)
        status, body = await self.get(
            "items", f"/collections/{collection}/items", f="json", limit="50"
        )
        for _ in range(self.rng.randint(1, 4)):
            if status != 200:
                break
            links = [link["href"] for link in json.loads(body)["links"] if link["rel"] == "next"]
            if not links:
                break
            await self.think(1, 3)
            status, body = await self.get("items", links[0].replace(self.plan.url, "", 1))
        await self.think(2, 6)

    async def by_id(self) -> None:
        for _ in range(self.rng.randint(1, 5)):
            collection = self.rng.choice([c for c in self.plan.ids if self.plan.ids[c]])
            feature = self.rng.choice(self.plan.ids[collection])
            await self.get("item", f"/collections/{collection}/items/{feature}", f="json")
            await self.think(1, 4)

    async def search(self) -> None:
        name = self.rng.choice(list(TOWNS))
        for end in range(3, len(name) + 1):
            await self.get("search", "/search", q=name[:end])
            await self.think(0.2, 0.6)
        await self.think(2, 6)

    async def download(self) -> None:
        lon, lat = self.rng.choice(list(TOWNS.values()))
        box = f"{lon - 0.03:.4f},{lat - 0.02:.4f},{lon + 0.03:.4f},{lat + 0.02:.4f}"
        await self.get(
            "download", "/downloads/pmtiles", layers="roads,buildings", bbox=box, maxzoom="12"
        )
        await self.think(5, 15)

    async def writer(self) -> None:
        if self.plan.api_key is None:  # reported as skipped
            await asyncio.sleep(max(0.0, self.plan.deadline - time.monotonic()))
            return
        headers = {"X-API-Key": self.plan.api_key}
        lon, lat = self.rng.choice(list(TOWNS.values()))
        body = {
            "type": "Feature",
            "properties": self.plan.write_properties,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        }
        path = f"/collections/{WRITE_COLLECTION}/items"
        status, _ = await self.request("write", "POST", path, json=body, headers=headers)
        if status == 201:
            location, etag = self.headers["location"], self.headers["etag"]
            await self.think(1, 3)
            await self.get("item", location.replace(self.plan.url, "", 1), f="json")
            await self.request("write", "DELETE", location, headers={**headers, "If-Match": etag})
        await self.think(5, 15)


async def discover(url: str) -> tuple[tuple[str, ...], dict[str, list[Any]], Any, Any]:
    """The collections the server has among ours, ids from their first pages, the
    properties of a feature the writers copy, and the bounds of the tiles."""
    async with aiohttp.ClientSession(url) as session:
        async with session.get("/tiles/WebMercatorQuad/tilejson.json") as answer:
            answer.raise_for_status()
            bounds = tuple((await answer.json(content_type=None))["bounds"])
        async with session.get("/collections", params={"f": "json"}) as answer:
            answer.raise_for_status()
            present = {c["id"] for c in (await answer.json())["collections"]}
        collections = tuple(c for c in ITEM_COLLECTIONS if c in present)
        ids: dict[str, list[Any]] = {}
        write_properties = None
        for collection in collections:
            path = f"/collections/{collection}/items"
            async with session.get(path, params={"f": "json", "limit": "200"}) as answer:
                features = (await answer.json(content_type=None)).get("features", [])
            ids[collection] = [f["id"] for f in features]
            if collection == WRITE_COLLECTION and features:
                write_properties = features[0]["properties"]
    if not collections:
        raise SystemExit(f"none of {ITEM_COLLECTIONS} is served by {url}")
    return collections, ids, write_properties, bounds


def roles(users: int) -> list[str]:
    """The role of each user, in the shares of ROLES (largest remainders)."""
    exact = [(role, share * users) for role, share in ROLES]
    counts = {role: int(value) for role, value in exact}
    rest = sorted(exact, key=lambda item: item[1] - int(item[1]), reverse=True)
    for role, _ in rest[: users - sum(counts.values())]:
        counts[role] += 1
    return [role for role, _ in ROLES for _ in range(counts[role])]


def summary(results: Results, wall_s: float, assigned: list[str]) -> dict[str, Any]:
    """Throughput, percentiles per class, errors."""
    classes = {
        kind: {
            "requests": len(values),
            "req_per_s": len(values) / wall_s,
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "p99_ms": percentile(values, 99),
            "errors": sum(n for (k, _), n in results.errors.items() if k == kind),
        }
        for kind, values in sorted(results.latencies.items())
    }
    total = sum(len(v) for v in results.latencies.values())
    return {
        "users": dict(Counter(assigned)),
        "wall_s": wall_s,
        "requests": total,
        "req_per_s": total / wall_s,
        "classes": classes,
        "errors": {f"{kind} {status}": n for (kind, status), n in results.errors.items()},
        "users_refused_429": len(results.refused_users),
        "error_examples": results.examples,
    }


def markdown(record: dict[str, Any]) -> str:
    """The summary as Markdown tables."""
    lines = [
        f"{record['requests']:,} requests in {record['wall_s']:.0f} s, "
        f"{record['req_per_s']:.1f} req/s; users {record['users']}",
        "",
        "| class | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, c in record["classes"].items():
        lines.append(
            f"| {kind} | {c['requests']:,} | {c['req_per_s']:.1f} | {c['p50_ms']:.1f} | "
            f"{c['p95_ms']:.1f} | {c['p99_ms']:.1f} | {c['errors']} |"
        )
    errors = ", ".join(f"{k}: {n}" for k, n in sorted(record["errors"].items())) or "none"
    lines += ["", f"Errors: {errors}."]
    return "\n".join(lines)


async def play(url: str, users: int, duration_s: float, api_key: str | None, seed: int) -> dict:
    """Discover, then run every user until the deadline; the summary."""
    collections, ids, write_properties, bounds = await discover(url)
    if api_key is not None and write_properties is None:
        raise SystemExit(f"{WRITE_COLLECTION} has no feature for the writers to copy")
    assigned = roles(users)
    started = time.monotonic()
    plan = Plan(url, collections, ids, api_key, started + duration_s, bounds, write_properties)
    results = Results()
    crowd = [User(i, role, plan, results, seed) for i, role in enumerate(assigned)]
    await asyncio.gather(*(user.run() for user in crowd))
    record = summary(results, time.monotonic() - started, assigned)
    record["writes_skipped"] = api_key is None
    return record


@app.command()
def main(
    url: str = typer.Option("http://127.0.0.1:5000", help="The server under test."),
    users: int = typer.Option(200, min=1, max=60_000, help="Concurrent simulated users."),
    duration: float = typer.Option(600, help="Seconds the users play (default 10 minutes)."),
    api_key: str = typer.Option(
        None, envvar="GEOPORTAL_LOAD_API_KEY", help="Key of the writers (1 %); none: no writes."
    ),
    seed: int = typer.Option(1, help="Seed of the users' random choices."),
    out: Path = typer.Option(None, help="JSON record (default var/benchmarks/sessions-*.json)."),
) -> None:
    """200 simulated users playing viewer, items, by-id, search, download and write sessions."""
    cpu = time.process_time()
    record = asyncio.run(play(url.rstrip("/"), users, duration, api_key, seed))
    record.update(
        {
            "url": url,
            "duration_s": duration,
            "seed": seed,
            "client_cpu_s": time.process_time() - cpu,  # the load generator's own share
            "load_average_after": os.getloadavg(),
        }
    )
    out = out or Path("var/benchmarks") / f"sessions-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    print(markdown(record))
    print(f"record: {out}")


if __name__ == "__main__":
    app()
