"""`geoportal serve --workers 2`: gunicorn with two uvicorn workers, as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from geoportal.db.database import Database
from tests.support.server import free_port

ROOT = Path(__file__).parents[2]


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def wait_ready(url: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("geoportal serve did not become ready")


def healthz_count(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "geoportal_http_requests_total" and sample.labels == {
                "method": "GET",
                "route": "/healthz",
                "status": "200",
            }:
                return sample.value
    return 0.0


def test_two_workers_answer_share_metrics_and_stop_cleanly(
    loaded: Database, tmp_path: Path
) -> None:
    """The test cluster as an external server (DATABASE_URL), a data directory of its own."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEOPORTAL_", "PROMETHEUS_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        GEOPORTAL_DATA_DIR=str(tmp_path),
        GEOPORTAL_DATABASE_URL=loaded.admin_conninfo(),
        GEOPORTAL_SECURITY__RATE_LIMIT_PER_MINUTE="0",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "geoportal.cli", "serve", "--workers", "2", "--job-workers", "0"]
        + ["--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        assert len(children(process.pid)) == 2  # the gunicorn master and its two workers
        before = healthz_count(url)
        for _ in range(20):  # a new connection each: the kernel spreads them over the workers
            assert httpx.get(f"{url}/healthz", timeout=10).json() == {"status": "ok"}
        # whichever worker answers the scrape counts the requests of both
        assert healthz_count(url) == before + 20
        text = httpx.get(f"{url}/metrics", timeout=10).text
        families = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
        assert len(families) == len(set(families))  # each family once, summed over workers
        assert "geoportal_jobs_queued" in families and "geoportal_db_pool_waiting" in families
        assert httpx.get(f"{url}/collections/oblasts/items?limit=1", timeout=30).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Shutting down: Master" in output
