"""/metrics: Prometheus text format, read back with prometheus-client's own parser."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import LiveServer
from tests.tiles.support import OSH, tile_path


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template(client: httpx.Client) -> None:
    key = {"method": "GET", "route": "/collections/{collection_id}/items", "status": "200"}
    before = value(scrape(client), "geoportal_http_requests_total", **key)
    for layer in ("oblasts", "rayons"):
        assert client.get(f"/collections/{layer}/items", params={"limit": 1}).status_code == 200
    samples = scrape(client)
    assert value(samples, "geoportal_http_requests_total", **key) == before + 2
    latency = {"method": "GET", "route": "/collections/{collection_id}/items"}
    assert value(samples, "geoportal_http_request_duration_seconds_count", **latency) >= 2
    routes = {dict(labels).get("route") for name, labels in samples if "http_requests" in name}
    assert not any("oblasts" in str(route) for route in routes)  # never a raw path


def test_tile_cache_hit_after_a_repeated_tile(client: httpx.Client) -> None:
    before = scrape(client)
    path = tile_path("/tiles", 11, *OSH)
    sources = [client.get(path).headers["x-tile-cache"] for _ in range(2)]
    assert sources[1] == "memory"
    after = scrape(client)
    hits = ("geoportal_tile_cache_total", {"result": "hit", "source": "memory"})
    assert value(after, hits[0], **hits[1]) == value(before, hits[0], **hits[1]) + 1
    tile_route = {"method": "GET", "route": "/tiles/{tileMatrixSetId}/{z}/{y}/{x}", "status": "200"}
    assert value(after, "geoportal_http_requests_total", **tile_route) >= 2


def test_pool_gauges(client: httpx.Client) -> None:
    samples = scrape(client)
    assert value(samples, "geoportal_db_pool_connections", pool="tiles", state="max") >= 1
    assert (("geoportal_db_pool_waiting", (("pool", "agency"),))) in samples


def test_job_queue_depth_and_oldest_age(
    client: httpx.Client, queue_conn: psycopg.Connection
) -> None:
    queue_conn.execute(
        "INSERT INTO jobs.jobs (kind, created) VALUES "
        "('echo', now() - interval '10 minutes'), ('echo', now())"
    )
    samples = scrape(client)
    assert value(samples, "geoportal_jobs_queued", status="accepted") == 2
    assert value(samples, "geoportal_jobs_queued", status="running") == 0
    assert value(samples, "geoportal_jobs_oldest_age_seconds", status="accepted") >= 600
