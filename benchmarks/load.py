"""The load generator and its statistics.

Timed phases run `h2load` (Debian/Ubuntu package `nghttp2-client`) in HTTP/1.1 mode: a C++
client on one thread with keep-alive connections, that sends exactly `-n` requests,
round-robins over a list of paths (random ids) and logs status and latency of every request.
It costs the 2-core machine a few percent of one core where a Python client would take a
large share of the CPU the servers need. `wrk` is not used because it only runs for a
duration (its main thread sleeps for `-d` whatever the Lua script stops). Without h2load an
asyncio client (aiohttp, keep-alive) runs the same phases. The correctness pass (status and
feature count of every distinct request) always uses aiohttp.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.floor import percentile


@dataclass(frozen=True)
class Sample:
    """One request: when it started (µs, any epoch), its status and its latency (µs)."""

    start_us: float
    status: int
    latency_us: float


@dataclass(frozen=True)
class PhaseResult:
    """Figures of one timed phase."""

    requests: int
    concurrency: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    rps: float
    non_200: int
    failed: int
    client_cpu_s: float
    wall_s: float


def summarise(
    samples: Sequence[Sample], asked: int, concurrency: int, client_cpu_s: float, wall_s: float
) -> PhaseResult:
    """Latency percentiles and throughput of a phase (throughput over the requests' span)."""
    if not samples:
        return PhaseResult(
            0,
            concurrency,
            float("nan"),
            float("nan"),
            float("nan"),
            0.0,
            0,
            asked,
            client_cpu_s,
            wall_s,
        )
    latencies = [s.latency_us / 1000 for s in samples]
    span_us = max(s.start_us + s.latency_us for s in samples) - min(s.start_us for s in samples)
    return PhaseResult(
        requests=len(samples),
        concurrency=concurrency,
        p50_ms=statistics.median(latencies),
        p95_ms=percentile(latencies, 95),
        mean_ms=statistics.fmean(latencies),
        rps=len(samples) / (span_us / 1e6) if span_us > 0 else 0.0,
        non_200=sum(1 for s in samples if s.status != 200),
        failed=max(0, asked - len(samples)),
        client_cpu_s=client_cpu_s,
        wall_s=wall_s,
    )


def h2load_path() -> str | None:
    """The h2load executable, if installed."""
    return shutil.which("h2load")


def run_h2load(
    base_url: str, paths: Sequence[str], requests: int, concurrency: int, timeout_s: float
) -> PhaseResult:
    """`requests` requests over `concurrency` keep-alive connections, paths in turn."""
    exe = h2load_path()
    if exe is None:
        raise RuntimeError("h2load is not installed (apt-get install nghttp2-client)")
    with tempfile.TemporaryDirectory(prefix="bench-h2load-") as tmp:
        uris, log = Path(tmp) / "uris.txt", Path(tmp) / "requests.log"
        uris.write_text("".join(f"{base_url}{p}\n" for p in paths))
        command = [
            exe,
            "--h1",
            "-n",
            str(requests),
            "-c",
            str(concurrency),
            "-t",
            "1",
            "-i",
            str(uris),
            f"--log-file={log}",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0 and not log.exists():
            raise RuntimeError(f"h2load failed: {result.stderr.strip() or result.stdout}")
        samples = [
            Sample(float(a), int(b), float(c))
            for a, b, c in (line.split("\t")[:3] for line in log.read_text().splitlines() if line)
        ]
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return summarise(samples, requests, concurrency, cpu, wall)


async def _async_phase(
    base_url: str, paths: Sequence[str], requests: int, concurrency: int
) -> list[Sample]:
    samples: list[Sample] = []
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for i in counter:
                started = time.perf_counter_ns()
                try:
                    async with session.get(paths[i % len(paths)]) as response:
                        await response.read()
                        status = response.status
                except aiohttp.ClientError:
                    continue
                samples.append(
                    Sample(started / 1000, status, (time.perf_counter_ns() - started) / 1000)
                )

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


def run_asyncio(
    base_url: str, paths: Sequence[str], requests: int, concurrency: int
) -> PhaseResult:
    """The same phase with an asyncio client in this process."""
    cpu_before, started = time.process_time(), time.perf_counter()
    samples = asyncio.run(_async_phase(base_url, paths, requests, concurrency))
    return summarise(
        samples,
        requests,
        concurrency,
        time.process_time() - cpu_before,
        time.perf_counter() - started,
    )


def run_phase(
    client: str,
    base_url: str,
    paths: Sequence[str],
    requests: int,
    concurrency: int,
    timeout_s: float = 600,
) -> PhaseResult:
    """One timed phase with the chosen client (`h2load` or `asyncio`); at least one request
    per connection."""
    requests = max(requests, concurrency)
    if client == "h2load":
        return run_h2load(base_url, paths, requests, concurrency, timeout_s)
    return run_asyncio(base_url, paths, requests, concurrency)


def choose_client(wanted: str) -> str:
    """`auto` picks h2load when installed, else the asyncio client."""
    if wanted == "auto":
        return "h2load" if h2load_path() else "asyncio"
    if wanted == "h2load" and not h2load_path():
        raise RuntimeError("h2load is not installed (apt-get install nghttp2-client)")
    return wanted


@dataclass(frozen=True)
class Answer:
    """What the correctness pass saw for one path."""

    path: str
    status: int
    features: int | None
    number_matched: int | None
    body: dict[str, Any] | None
    raw: bytes = b""
    """The answer's bytes as the server sent them (the HTTP floor replays them)."""


def count_features(body: Any) -> int | None:
    """Features in a FeatureCollection, 1 for a Feature, None otherwise."""
    if not isinstance(body, dict):
        return None
    if body.get("type") == "Feature":
        return 1
    features = body.get("features")
    return len(features) if isinstance(features, list) else None


async def _fetch_all(base_url: str, paths: Sequence[str]) -> list[Answer]:
    answers = []
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(base_url, timeout=timeout) as session:
        for path in paths:
            async with session.get(path) as response:
                raw = await response.read()
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                matched = body.get("numberMatched") if isinstance(body, dict) else None
                answers.append(
                    Answer(path, response.status, count_features(body), matched, body, raw)
                )
    return answers


def fetch_all(base_url: str, paths: Sequence[str]) -> list[Answer]:
    """GET every path once (sequentially) and keep status, feature count and body."""
    return asyncio.run(_fetch_all(base_url, paths))


def cpu_count() -> int:
    """CPUs this process may use."""
    return len(os.sched_getaffinity(0))
