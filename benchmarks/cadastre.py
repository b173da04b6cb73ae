"""Cadastral plan PDFs: p50 and p95 of `GET /cadastre/parcels/{code}/plan` (issue 13).

    .venv/bin/python -m benchmarks.cadastre [--requests 100] [--url http://127.0.0.1:5000]

Without `--url` it starts `geoportal serve` on its own cluster in `var/bench-cadastre` with
the small demo (generated and loaded on the first run), as `benchmarks.robustness` does, and
an admin API key. It reads up to 200 parcel codes from the public collection, then requests
each plan one at a time, anonymously (no rights) and as the administrator (rights summary
read under the database's read policies), `--requests` of each, cycling through the codes.
Each answer is checked to be a PDF. Target: p50 under 300 ms. Exit status 1 when missed.
Only loopback addresses are ever sent to.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

from benchmarks.data import REPO
from benchmarks.robustness import own_server

TARGET_P50_MS = 300.0


def parcel_codes(client: httpx.Client, count: int = 200) -> list[str]:
    """Codes of current parcels, from the public collection."""
    page = client.get("/collections/cadastre_parcels/items", params={"limit": count, "f": "json"})
    page.raise_for_status()
    return [f["properties"]["cadastral_code"] for f in page.json()["features"]]


def time_plans(
    client: httpx.Client, codes: list[str], requests: int, headers: dict[str, str]
) -> list[float]:
    """Milliseconds per plan request (each answer checked to be a PDF)."""
    times = []
    for i in range(requests):
        start = time.perf_counter()
        answer = client.get(f"/cadastre/parcels/{codes[i % len(codes)]}/plan", headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200 or not answer.content.startswith(b"%PDF"):
            raise RuntimeError(f"plan of {codes[i % len(codes)]}: {answer.status_code}")
    return times


def run(url: str, api_key: str | None, requests: int) -> bool:
    """Measure and print; True when the target is met."""
    ok = True
    with httpx.Client(base_url=url, timeout=60) as client:
        codes = parcel_codes(client)
        time_plans(client, codes, 5, {})  # warm-up: key, fonts, pools
        callers = {"anonymous": {}, "admin (rights)": {"X-API-Key": api_key} if api_key else {}}
        print(
            f"| caller | requests | p50 ms | p95 ms | max ms | target p50 < {TARGET_P50_MS:.0f} |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        for name, headers in callers.items():
            times = sorted(time_plans(client, codes, requests, headers))
            p50 = statistics.median(times)
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            met = p50 < TARGET_P50_MS
            ok &= met
            print(
                f"| {name} | {len(times)} | {p50:.1f} | {p95:.1f} | {times[-1]:.1f} | "
                f"{'met' if met else 'MISSED'} |"
            )
    return ok


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running server (loopback only); default: start one.")
    parser.add_argument("--api-key", help="An admin or cadastre key for the rights variant.")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench-cadastre")
    args = parser.parse_args(argv)
    if args.url:
        if httpx.URL(args.url).host not in ("127.0.0.1", "localhost", "::1"):
            parser.error("--url must be a loopback address")
        ok = run(args.url, args.api_key, args.requests)
    else:
        with own_server(args.data_dir.absolute()) as (url, api_key):
            ok = run(url, api_key, args.requests)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
