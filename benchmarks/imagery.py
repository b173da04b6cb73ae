"""Imagery benchmarks, side by side in one run (docs/benchmarks.md, "Imagery").

1. NDVI COG production from a synthetic Sentinel-2 scene (B04, B08, SCL of `--size` pixels,
   10980 for a full tile): ours (Dask over rasterio windows, `imagery.cog.write_cog`, rio-cogeo)
   against a plain numpy + rasterio implementation of the same computation writing the same
   COG profile (DEFLATE, floating-point predictor, 512 x 512 blocks, average overviews).
   Each runs in its own process: wall time and peak RSS. Targets: within 1.3x of the floor,
   peak RSS under 2 GB.
2. NDVI statistics for `--plots` plots (100,000 for the target): ours (`imagery.zonal` and
   the COPY of `imagery.db`, into a temporary table of the same columns on the benchmark's
   embedded PostgreSQL) against `exactextract` called directly on the same COG and polygons.
   Target: at most 1.2x.

    python -m benchmarks.imagery --size 2048 --plots 10000      # a small run
    python -m benchmarks.imagery --size 10980 --plots 100000    # the targets' sizes
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
import shapely.affinity
from rasterio.enums import Resampling
from rasterio.windows import Window

from imagery.cog import cog_profile
from imagery.sensors import SENTINEL2

ROOT = Path(__file__).resolve().parents[1]
CRS = "EPSG:32643"
X0, Y0 = 400_000.0, 4_800_000.0


def _profile(size: int, dtype: str) -> dict:
    return {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": dtype,
        "crs": CRS, "transform": rasterio.Affine(10, 0, X0, 0, -10, Y0), "tiled": True,
        "blockxsize": 512, "blockysize": 512, "compress": "deflate",
    }  # fmt: skip


def make_scene(folder: Path, size: int) -> Path:
    """B04, B08 and SCL of a synthetic scene (fields, clouds, a no-data corner), written
    in strips so that even a full tile needs little memory. SYNTHETIC."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = "20250624T060000"
    paths = {b: folder / f"T43TEM_{stamp}_{b}_10m.tif" for b in ("B04", "B08", "SCL")}
    if all(p.exists() for p in paths.values()):
        return folder
    rng = np.random.default_rng(1)
    files = {b: rasterio.open(p, "w", **_profile(size, "uint8" if b == "SCL" else "uint16"))
             for b, p in paths.items()}  # fmt: skip
    cols = np.arange(size)
    for start in range(0, size, 512):
        rows = np.arange(start, min(start + 512, size))[:, None]
        veg = 0.5 + 0.4 * np.sin(rows / 97.0) * np.cos(cols / 131.0)
        veg = veg + rng.normal(0, 0.02, veg.shape)
        cloud = np.hypot((rows % 2000) - 1000, (cols % 2500) - 1200) < 300
        edge = cols + 0.4 * rows < 0.1 * size
        red = np.where(edge, 0, 1000 + (0.16 - 0.13 * veg) * 10_000)
        nir = np.where(edge, 0, 1000 + (0.22 + 0.28 * veg) * 10_000)
        scl = np.select([edge, cloud], [0, 9], 4)
        window = Window(0, start, size, len(rows))
        files["B04"].write(red.astype("uint16"), 1, window=window)
        files["B08"].write(nir.astype("uint16"), 1, window=window)
        files["SCL"].write(scl.astype("uint8"), 1, window=window)
    for f in files.values():
        f.close()
    return folder


def run_ours(folder: Path, out: Path, chunk: int) -> None:
    """NDVI as the pipeline makes it: lazy reflectance and mask, written by write_cog."""
    from imagery.blocks import scheduler
    from imagery.cog import write_cog
    from imagery.pipeline import index_array
    from imagery.scene import BandRef, Scene

    bands = {b: BandRef(str(next(folder.glob(f"*_{b}_*")))) for b in ("B04", "B08", "SCL")}
    with rasterio.open(bands["B04"].path) as src:
        crs, transform, (height, width) = src.crs, src.transform, src.shape
    scene = Scene("bench", SENTINEL2, dt.datetime(2025, 6, 24, tzinfo=dt.UTC), crs, transform,
                  width, height, bands, "05.11")  # fmt: skip
    with scheduler(None):
        write_cog(index_array(scene, "ndvi", chunk), out, crs=crs, transform=transform)


def run_floor(folder: Path, out: Path) -> None:
    """The same NDVI with whole numpy arrays and rasterio: tiled GTiff, overviews, COG copy."""
    from rasterio.shutil import copy

    def band(name: str) -> tuple[np.ndarray, dict]:
        with rasterio.open(next(folder.glob(f"*_{name}_*"))) as src:
            return src.read(1), src.profile

    red, profile = band("B04")
    nir, _ = band("B08")
    scl, _ = band("SCL")
    r = (red.astype("float32") - 1000) / 10_000
    n = (nir.astype("float32") - 1000) / 10_000
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (n - r) / (n + r)
    ndvi[np.isin(scl, (0, 1, 3, 8, 9, 10)) | (red == 0) | (nir == 0)] = np.nan
    tmp = out.with_name(".floor.tif")
    profile.update(dtype="float32", nodata=float("nan"), compress="zstd", zstd_level=1)
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(ndvi, 1)
        factors, size = [], max(ndvi.shape)
        while size / (2 ** (len(factors) + 1)) >= 256 and size > 512:
            factors.append(2 ** (len(factors) + 1))
        dst.build_overviews(factors, Resampling.average)
    cog = {k: v for k, v in cog_profile("float32").items() if k not in ("driver", "interleave")}
    copy(tmp, out, driver="GTiff", copy_src_overviews=True, **cog)
    tmp.unlink()


def make_plots(count: int, size: int, seed: int = 3) -> gpd.GeoDataFrame:
    """`count` rectangular plots (50-250 m sides, slightly rotated) inside the scene."""
    rng = np.random.default_rng(seed)
    extent = size * 10.0
    x = X0 + rng.uniform(300, extent - 300, count)
    y = Y0 - rng.uniform(300, extent - 300, count)
    w, h = rng.uniform(50, 250, count), rng.uniform(50, 250, count)
    boxes = shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
    rotated = [
        shapely.affinity.rotate(b, a)
        for b, a in zip(boxes, rng.uniform(-20, 20, count), strict=True)
    ]
    return gpd.GeoDataFrame({"id": np.arange(1, count + 1)}, geometry=rotated, crs=CRS)


def timed_child(args: list[str]) -> dict:
    """Run one variant in its own process; its wall time and peak RSS (MB)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.imagery", *args],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    measured["wall_s"] = round(time.perf_counter() - started, 2)
    return measured


def child(variant: str, folder: Path, out: Path, chunk: int) -> None:
    """Entry of a child process: run one variant, print its time and peak RSS. Imports are
    done before the clock starts (Dask's import alone takes most of a second)."""
    if variant == "ours":
        import imagery.blocks
        import imagery.cog
        import imagery.pipeline  # noqa: F401
    else:
        import rasterio.shutil  # noqa: F401
    started = time.perf_counter()
    if variant == "ours":
        run_ours(folder, out, chunk)
    else:
        run_floor(folder, out)
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"variant": variant, "seconds": round(seconds, 2), "peak_rss_mb": round(rss_mb)})
    )


def bench_stats(ndvi: Path, plots: gpd.GeoDataFrame, conninfo: str, rounds: int = 2) -> dict:
    """Ours (statistics + COPY into a temporary table) against exactextract alone, with the
    same operations and strategy; alternated `rounds` times, the best of each kept (the
    machine is shared: single runs vary by 20%)."""
    import psycopg
    from exactextract import exact_extract

    from imagery.db import copy_plot_ndvi
    from imagery.zonal import zonal_statistics

    direct_plots = plots.rename(columns={"id": "plot"})
    ops = ["mean", "median", "quantile(q=0.1)", "quantile(q=0.9)", "stdev", "count"]
    floors, ours, rows = [], [], 0
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "CREATE TEMP TABLE bench_ndvi (plot_id integer, scene_id text, sensor text, "
            "observed_on date, ndvi_mean float8, ndvi_median float8, ndvi_p10 float8, "
            "ndvi_p90 float8, ndvi_std float8, valid_pixels float8, valid_share float8)"
        )
        for _ in range(rounds):
            started = time.perf_counter()
            exact_extract(str(ndvi), direct_plots, ops, include_cols=["plot"], output="pandas",
                          strategy="raster-sequential")  # fmt: skip
            floors.append(time.perf_counter() - started)
            started = time.perf_counter()
            stats = zonal_statistics(str(ndvi), plots)
            rows = copy_plot_ndvi(
                conn, stats, scene_id="bench", sensor="sentinel-2",
                observed_on=dt.date(2025, 6, 24), table=("pg_temp", "bench_ndvi"),
            )  # fmt: skip
            conn.commit()
            ours.append(time.perf_counter() - started)
            conn.execute("TRUNCATE bench_ndvi")
    return {"plots": rows, "exactextract_s": round(min(floors), 2), "ours_s": round(min(ours), 2),
            "ratio": round(min(ours) / min(floors), 3), "rounds": rounds}  # fmt: skip


def bench_database(data_dir: Path) -> str:
    """The benchmark's own embedded PostgreSQL (never the one of `make run`)."""
    from geoportal.db.database import Database
    from geoportal.settings import Settings

    database = Database(Settings(data_dir=data_dir))
    assert database.cluster is not None
    database.cluster.up()
    database.ensure_database()
    return database.admin_conninfo()


def main() -> None:
    """Both benchmarks at the sizes given; prints a JSON summary and a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", type=int, default=2048, help="scene side in pixels (10980: a tile)"
    )
    parser.add_argument("--plots", type=int, default=10_000, help="plots for the statistics")
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2, help="alternated runs of each")
    parser.add_argument(
        "--part", choices=("all", "cog", "stats"), default="all",
        help="run both benchmarks or one (the NDVI COG of the stats part must exist)",
    )  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench-imagery")
    parser.add_argument(
        "--child", nargs=3, metavar=("VARIANT", "SCENE", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]), args.chunk)
        return
    results: dict = {"size": args.size, "chunk": args.chunk, "rounds": args.rounds}
    if args.part != "stats":
        results.update(bench_cog(args))
    if args.part != "cog":
        ndvi = args.data_dir / f"ndvi-ours-{args.size}.tif"
        plots = make_plots(args.plots, args.size)
        db = bench_database(args.data_dir / "db")
        results["stats"] = bench_stats(ndvi, plots, db, args.rounds)
    print(json.dumps(results, indent=1))
    print(markdown(results, args.size))


def bench_cog(args: argparse.Namespace) -> dict:
    """The NDVI COG, ours and the floor alternated `args.rounds` times (fastest kept)."""
    scene = make_scene(args.data_dir / f"scene-{args.size}", args.size)
    results: dict = {}
    for _ in range(args.rounds):  # alternated; the fastest run of each is kept
        for variant in ("floor", "ours"):
            out = args.data_dir / f"ndvi-{variant}-{args.size}.tif"
            run = timed_child(
                ["--chunk", str(args.chunk), "--child", variant, str(scene), str(out)]
            )
            if variant not in results or run["seconds"] < results[variant]["seconds"]:
                results[variant] = run
    results["ndvi_ratio"] = round(results["ours"]["seconds"] / results["floor"]["seconds"], 3)
    return results


def markdown(results: dict, size: int) -> str:
    """The rows of the results table that were run."""
    lines = [
        "| case | ours | floor | ratio | peak RSS ours / floor |",
        "| --- | --- | --- | --- | --- |",
    ]
    if "ours" in results:
        ours, floor = results["ours"], results["floor"]
        lines.append(
            f"| NDVI COG {size}² | {ours['seconds']} s | {floor['seconds']} s "
            f"| {results['ndvi_ratio']} | {ours['peak_rss_mb']} / {floor['peak_rss_mb']} MB |"
        )
    if "stats" in results:
        stats = results["stats"]
        lines.append(
            f"| NDVI stats {stats['plots']} plots (+ COPY) | {stats['ours_s']} s | "
            f"{stats['exactextract_s']} s | {stats['ratio']} | |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
