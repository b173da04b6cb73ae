"""`/metrics`: the server's Prometheus metrics (prometheus-client's text format, `text/plain`).

What is measured:

- `geoportal_http_requests_total{method,route,status}` and
  `geoportal_http_request_duration_seconds{method,route}`: `route` is the route's template
  (`/collections/{collection_id}/items`), never the raw path, so the label set stays bounded;
  a path no route matches is `<unmatched>`.
- `geoportal_tile_cache_total{result,source}`: tile answers, `hit` from `memory` or `disk`,
  `miss` rendered by the `database` (read from the tile answer's `X-Tile-Cache` header).
- `geoportal_db_pool_connections{pool,state}` (`size`, `available`, `max`) and
  `geoportal_db_pool_waiting{pool}`: psycopg_pool's statistics, refreshed after a request at
  most once a second, and at each scrape.
- `geoportal_jobs_queued{status}` and `geoportal_jobs_oldest_age_seconds{status}` for
  `accepted` and `running` jobs: one query on `jobs.jobs` (its partial indexes) per scrape,
  through the agency pool.

Several worker processes (gunicorn): prometheus-client's multiprocess mode. `geoportal serve`
sets `PROMETHEUS_MULTIPROC_DIR` to an empty directory before the workers start; each process
writes its values there and a scrape, answered by any worker, sums them (pool gauges: sum over
the live processes; gunicorn's `child_exit` hook marks a dead worker's files). Without the
variable (one process, tests) the default registry is used.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from functools import lru_cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geoportal.db.pools import Pools

UNMATCHED = "<unmatched>"
POOL_REFRESH_S = 1.0
CONVERTER = re.compile(r":[a-z]+}")
QUEUE_STATUSES = ("accepted", "running")
QUEUE_SQL = """
SELECT status, count(*), COALESCE(EXTRACT(epoch FROM now() - min(COALESCE(started, created))), 0)
FROM jobs.jobs WHERE status IN ('accepted', 'running') GROUP BY status
"""

REQUESTS = Counter(
    "geoportal_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "geoportal_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response started)",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TILE_CACHE = Counter("geoportal_tile_cache", "Tile answers by cache result", ["result", "source"])
POOL_CONNECTIONS = Gauge(
    "geoportal_db_pool_connections",
    "Connections of a pool: size (open), available (idle), max",
    ["pool", "state"],
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "geoportal_db_pool_waiting",
    "Requests waiting for a connection of a pool",
    ["pool"],
    multiprocess_mode="livesum",
)


class RouteTemplates:
    """The template of the route a request goes to, through mounts (pygeoapi's too)."""

    def __init__(
        self, routes: Callable[[], Iterable[BaseRoute]], fallback: Iterable[BaseRoute] = ()
    ) -> None:
        self.routes = routes
        """The app's routes (a function: the app is built after its middleware is declared)."""
        self.fallback = list(fallback)
        """The routes of an app mounted without a route table of its own (pygeoapi's)."""

        self._cached = lru_cache(maxsize=4096)(self._template)

    def template(self, scope: Scope) -> str:
        """`/collections/{collection_id}/items`-like, or `<unmatched>` (the last 4,096
        method and path pairs remembered: matching walks some 60 routes)."""
        return self._cached(scope["method"], scope["path"], scope.get("root_path", ""))

    def _template(self, method: str, path: str, root_path: str) -> str:
        scope = {"type": "http", "method": method, "path": path, "root_path": root_path}
        return self._find(list(self.routes()), scope, "") or UNMATCHED

    def _find(self, routes: list[BaseRoute], scope: Scope, prefix: str) -> str | None:
        """As Starlette routes: the first full match, else the first partial (wrong method)."""
        partial = None
        for route in routes:
            match, child = route.matches(scope)
            if match == Match.NONE:
                continue
            if isinstance(route, Mount):
                inner = getattr(route.app, "routes", None) or self.fallback
                found = self._find(list(inner), {**scope, **child}, prefix + route.path)
                if found:
                    return found
                continue
            template = CONVERTER.sub("}", prefix + getattr(route, "path", ""))
            if match == Match.FULL:
                return template
            partial = partial or template
        return partial


class MetricsMiddleware:
    """Counts and times every HTTP request by route template; tile cache results; pools."""

    def __init__(
        self, app: ASGIApp, templates: RouteTemplates | None = None, pools: Pools | None = None
    ) -> None:
        self.app = app
        self.templates = templates
        self.pools = pools
        self._pools_due = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.templates is None:
            await self.app(scope, receive, send)
            return
        route = self.templates.template(scope)
        method = scope["method"]
        start = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                LATENCY.labels(method, route).observe(time.perf_counter() - start)
                _count_tile(message)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            REQUESTS.labels(method, route, str(status)).inc()
            if self.pools is not None and start >= self._pools_due:  # at most once a second
                self._pools_due = start + POOL_REFRESH_S
                update_pool_gauges(self.pools)


def _count_tile(message: Message) -> None:
    for name, value in message.get("headers", []):
        if name.lower() == b"x-tile-cache":
            source = value.decode("latin-1")
            if source in ("memory", "disk", "database"):
                TILE_CACHE.labels("miss" if source == "database" else "hit", source).inc()
            return


def update_pool_gauges(pools: Pools) -> None:
    """Copy each open pool's statistics into the pool gauges."""
    for name, stats in pools.statistics().items():
        POOL_CONNECTIONS.labels(name, "size").set(stats.get("pool_size", 0))
        POOL_CONNECTIONS.labels(name, "available").set(stats.get("pool_available", 0))
        POOL_CONNECTIONS.labels(name, "max").set(stats.get("pool_max", 0))
        POOL_WAITING.labels(name).set(stats.get("requests_waiting", 0))


def base_registry() -> CollectorRegistry:
    """This process' registry, or all workers' values in multiprocess mode."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


class _Families:
    """A collector of ready-made metric families (no stored values, so nothing is written to
    the multiprocess directory: values read at scrape time are not summed over workers)."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        """The families."""
        return self.families


async def queue_registry(pools: Pools) -> CollectorRegistry:
    """A registry of the job queue's depth and oldest age, read now (scrape time)."""
    depth = GaugeMetricFamily("geoportal_jobs_queued", "Jobs by status", labels=["status"])
    age = GaugeMetricFamily(
        "geoportal_jobs_oldest_age_seconds",
        "Age of the oldest job of a status (running: since it started)",
        labels=["status"],
    )
    async with pools["agency"].connection() as conn:
        cursor = await conn.execute(QUEUE_SQL)
        rows = {status: (count, float(oldest)) for status, count, oldest in await cursor.fetchall()}
    for status in QUEUE_STATUSES:
        count, oldest = rows.get(status, (0, 0.0))
        depth.add_metric([status], count)
        age.add_metric([status], oldest)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([depth, age]))  # type: ignore[arg-type]
    return registry


async def metrics_endpoint(request: Request) -> Response:
    """`/metrics`: Prometheus text format (`prometheus_client.CONTENT_TYPE_LATEST`, text/plain)."""
    pools: Pools = request.app.state.pools
    update_pool_gauges(pools)
    body = generate_latest(base_registry())
    body += generate_latest(await queue_registry(pools))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
