"""Raster map tiles: ours cold and warm against TiTiler on the same COG and worker count.

    python -m benchmarks.raster_tiles [--requests 2000] [--concurrency 8]

The COG is the elevation model of the demo (GEBCO 2023 30",
written by `imagery.workflows.ingest_terrain`
into a temporary image bank), drawn as PNG with the same rescale and colour map on both
sides. Each server runs under uvicorn with `WORKERS` worker processes.

- cold: every WebMercatorQuad tile of z9 over the COG, each requested once (our cache is
  empty for all of them; TiTiler has no tile cache);
- warm: 16 tiles of z8 requested over and over after each worker has drawn them once (ours
  answers from its memory cache; TiTiler renders each time, as deployed without a CDN).

Targets (issue 12): cold p50 within 1.3x (or 2 ms) of TiTiler's, warm at least 3x its
requests per second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import morecantile
import typer

from benchmarks.load import PhaseResult, choose_client, run_phase
from benchmarks.servers import free_port
from demo.base import demo_data_dir
from imagery.catalog import asset_path
from imagery.workflows import ingest_terrain

WORKERS = 2
RESCALE = "-1500,6500"
COLORMAP = "terrain"
REPO = Path(__file__).resolve().parents[1]


def tiles_over(bounds: tuple[float, float, float, float], zoom: int) -> list[morecantile.Tile]:
    """Every WebMercatorQuad tile of `zoom` over a CRS84 box."""
    return list(morecantile.tms.get("WebMercatorQuad").tiles(*bounds, zooms=[zoom]))


def our_path(tile: morecantile.Tile) -> str:
    return f"/collections/elevation/map/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}?f=png"


def titiler_path(tile: morecantile.Tile, cog: Path) -> str:
    return (
        f"/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png?url={cog}"
        f"&rescale={RESCALE}&colormap_name={COLORMAP}"
    )


@contextmanager
def serve(factory: str, env: dict[str, str]) -> Iterator[str]:
    """uvicorn with WORKERS workers on a free port; stopped by its process group."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/docs-or-anything", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def check(base: str, path: str) -> None:
    """The path answers a PNG (else the run would time errors)."""
    response = httpx.get(f"{base}{path}", timeout=30)
    if response.status_code != 200 or response.headers["content-type"] != "image/png":
        raise RuntimeError(f"{base}{path}: {response.status_code} {response.text[:200]}")


def phases(
    client: str, base: str, cold: list[str], warm: list[str], requests: int, concurrency: int
) -> tuple[PhaseResult, PhaseResult]:
    """The cold pass (each path once) and the warm phase (after each worker drew them)."""
    check(base, warm[0])
    cold_result = run_phase(client, base, cold, len(cold), concurrency)
    run_phase(client, base, warm, len(warm) * WORKERS * 4, concurrency)  # warm every worker
    warm_result = run_phase(client, base, warm, requests, concurrency)
    return cold_result, warm_result


def main(
    requests: int = typer.Option(2000, help="Requests of the warm phase."),
    concurrency: int = typer.Option(8, help="Concurrent connections."),
    client: str = typer.Option("auto", help="h2load, asyncio or auto."),
) -> None:
    """Run both servers, print a JSON summary and a markdown table."""
    client = choose_client(client)
    with tempfile.TemporaryDirectory(prefix="bench-raster-") as folder:
        data_dir = Path(folder)
        dem = ingest_terrain(demo_data_dir() / "kg_dem_gebco2023_30s.tif", data_dir)
        cog = asset_path(data_dir, "elevation", dem["elevation"].id)
        import rasterio

        with rasterio.open(cog) as src:
            bounds = tuple(src.bounds)
        cold_tiles = tiles_over(bounds, 9)  # type: ignore[arg-type]
        warm_tiles = tiles_over(bounds, 8)[:16]  # type: ignore[arg-type]
        results = {}
        with serve("benchmarks.raster_tiles_apps:ours", {"BENCH_RASTER_DATA_DIR": folder}) as base:
            results["ours"] = phases(
                client, base, [our_path(t) for t in cold_tiles],
                [our_path(t) for t in warm_tiles], requests, concurrency,
            )  # fmt: skip
        with serve("benchmarks.raster_tiles_apps:titiler", {}) as base:
            results["titiler"] = phases(
                client, base, [titiler_path(t, cog) for t in cold_tiles],
                [titiler_path(t, cog) for t in warm_tiles], requests, concurrency,
            )  # fmt: skip
    report(results, client, len(cold_tiles), concurrency)


def report(
    results: dict[str, tuple[PhaseResult, PhaseResult]], client: str, cold_n: int, conc: int
) -> None:
    """JSON figures, then the markdown rows and the two targets."""
    figures = {
        name: {phase: vars(result) for phase, result in zip(("cold", "warm"), pair, strict=True)}
        for name, pair in results.items()
    }
    print(json.dumps({"client": client, "workers": WORKERS, "cold_tiles": cold_n, **figures}))
    print("| server | cold p50 ms | cold req/s | warm p50 ms | warm req/s | non-200 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (cold, warm) in results.items():
        print(
            f"| {name} | {cold.p50_ms:.2f} | {cold.rps:.0f} | {warm.p50_ms:.2f} | "
            f"{warm.rps:.0f} | {cold.non_200 + warm.non_200} |"
        )
    ours_cold, ours_warm = results["ours"]
    tt_cold, tt_warm = results["titiler"]
    limit = max(1.3 * tt_cold.p50_ms, tt_cold.p50_ms + 2)
    print(
        f"cold: ours {ours_cold.p50_ms:.2f} ms vs limit {limit:.2f} ms -> "
        f"{'met' if ours_cold.p50_ms <= limit else 'MISSED'}; warm: "
        f"{ours_warm.rps / tt_warm.rps:.1f}x TiTiler's req/s -> "
        f"{'met' if ours_warm.rps >= 3 * tt_warm.rps else 'MISSED'}"
    )


if __name__ == "__main__":
    typer.run(main)
