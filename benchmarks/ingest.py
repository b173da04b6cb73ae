"""Loading agricultural plots from a GeoPackage: our loader against ogr2ogr, side by side.

    python -m benchmarks.ingest                       # 100,000 and 1,000,000 plots
    python -m benchmarks.ingest --sizes 100000        # the shared machine: 100k only

For each size, the same GeoPackage (generated once into `var/bench-ingest/`, reused) is
loaded into the same database of the benchmark's own cluster by

- ours: `geoportal layers load agri_plots FILE` in a subprocess (read, every value and
  geometry validated against the declaration, reprojected, COPY, ANALYZE: the real command);
- ogr2ogr: `ogr2ogr -f PostgreSQL` with `PG_USE_COPY=YES` into `bench.ogr_agri_plots`
  (a multipolygon table with a GiST index, replaced each run; no validation at all).

Each command's wall time and peak RSS (`os.wait4` rusage of the child) are printed with the
ratio ours / ogr2ogr. Targets: ours at least as fast as ogr2ogr; our peak RSS at 1M rows no
more than 1.2 times what it is at 100k (memory flat in the file's size).

The plots are synthetic (a vectorised generator, seed 42): quadrilaterals of 0.5 to 60 ha
(log-normal) at random points inside the real rayons (geoBoundaries ADM2, weighted by area),
with the rayon's oblast and name, random soil, irrigation and elevation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from benchmarks.data import REPO, geoportal_env, open_database
from layers.catalogue import load_catalogue

RAYONS = REPO / "demo" / "base" / "data" / "kg_admin2.geojson"
METRIC_CRS = 32643
OGR_TABLE = "bench.ogr_agri_plots"


@dataclass(frozen=True)
class Run:
    """One command's figures."""

    tool: str
    rows: int
    wall_s: float
    peak_rss_mb: float
    exit_code: int


def _points_in(polygons: gpd.GeoSeries, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`counts[i]` random points inside polygon i (metric CRS), by vectorised rejection."""
    out = []
    for geom, count in zip(polygons.to_numpy(), counts, strict=True):
        minx, miny, maxx, maxy = geom.bounds
        shapely.prepare(geom)
        found: list[np.ndarray] = []
        need = int(count)
        while need > 0:
            x = rng.uniform(minx, maxx, need * 3)
            y = rng.uniform(miny, maxy, need * 3)
            inside = shapely.contains_xy(geom, x, y)
            pts = np.column_stack([x[inside], y[inside]])[:need]
            found.append(pts)
            need -= len(pts)
        out.append(np.concatenate(found) if found else np.empty((0, 2)))
    return np.concatenate(out)


def generate_plots(rows: int, seed: int = 42) -> gpd.GeoDataFrame:
    """`rows` synthetic plots over the real rayons (EPSG:4326), in the layer's fields."""
    rng = np.random.default_rng(seed)
    rayons = gpd.read_file(RAYONS).to_crs(METRIC_CRS)
    weights = rayons.area.to_numpy() / rayons.area.sum()
    counts = rng.multinomial(rows, weights)
    centres = _points_in(rayons.geometry, counts, rng)
    which = np.repeat(np.arange(len(rayons)), counts)
    area_ha = np.clip(rng.lognormal(np.log(3.0), 0.9, rows), 0.5, 60.0)
    side = np.sqrt(area_ha * 10_000)
    aspect = rng.uniform(0.6, 1.6, rows)
    half_w, half_h = side * np.sqrt(aspect) / 2, side / np.sqrt(aspect) / 2
    # a slightly skewed rectangle: four corners around the centre
    skew = rng.uniform(-0.15, 0.15, rows) * half_w
    xs = centres[:, 0:1] + np.column_stack(
        [-half_w + skew, half_w + skew, half_w - skew, -half_w - skew]
    )
    ys = centres[:, 1:2] + np.column_stack([-half_h, -half_h, half_h, half_h])
    rings = np.stack([xs, ys], axis=2)
    polygons = shapely.polygons(rings)
    geoms = gpd.GeoSeries(shapely.multipolygons(polygons[:, None]), crs=METRIC_CRS)
    layer = load_catalogue().get("agri_plots")
    enum = {f.name: f.enum for f in layer.fields if f.enum}
    frame = gpd.GeoDataFrame(
        {
            "plot_code": pd.Series(np.arange(1, rows + 1)).map("BP-{:07d}".format),
            "farm_name": pd.Series(rng.integers(1, rows // 8 + 2, rows)).map("Farm {:d}".format),
            "area_ha": np.round(geoms.area.to_numpy() / 10_000, 2).clip(0.5, 60.0),
            "soil_type": rng.choice(enum["soil_type"], rows),
            "irrigation": rng.choice(enum["irrigation"], rows, p=[0.7, 0.3]),
            "oblast": rayons["adm1_name"].to_numpy()[which],
            "rayon": rayons["shapeName"].to_numpy()[which],
            "elevation_m": rng.integers(500, 3000, rows).astype("int32"),
        },
        geometry=geoms.to_crs(4326).to_numpy(),
        crs=4326,
    )
    return frame


def plots_file(folder: Path, rows: int) -> Path:
    """The GeoPackage of `rows` plots, generated the first time."""
    path = folder / f"agri_plots-{rows}.gpkg"
    if not path.exists():
        started = time.monotonic()
        tmp = path.with_suffix(".tmp.gpkg")
        tmp.unlink(missing_ok=True)
        pyogrio.write_dataframe(generate_plots(rows), tmp, driver="GPKG", layer="agri_plots")
        tmp.replace(path)
        print(f"generated {path.name} in {time.monotonic() - started:.0f} s")
    return path


LAUNCHER = """
import json, os, sys, time
started = time.monotonic()
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print(json.dumps([time.monotonic() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status)]))
"""
"""Runs one measured command. Linux records the parent's memory high-water in a spawned
child's `ru_maxrss` (the child shares the parent's pages until it executes), so the command
is spawned by this small interpreter (about 10 MB), not by the benchmark (hundreds of MB
after generating the plots)."""


def measure(tool: str, rows: int, command: list[str], env: dict[str, str]) -> Run:
    """Run `command` from the lean launcher: wall time, the command's peak RSS (`os.wait4`
    rusage), exit code; its output goes to the terminal (stderr)."""
    launcher = [sys.executable, "-c", LAUNCHER, *command]
    done = subprocess.run(launcher, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    wall, maxrss_kb, code = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(tool, rows, round(wall, 2), round(maxrss_kb / 1024, 1), code)


def ogr_conninfo(conninfo: str) -> str:
    """The libpq connection string as GDAL's `PG:` datasource."""
    return f"PG:{conninfo}"


def run_size(rows: int, folder: Path, db_settings: object, admin_conninfo: str) -> list[Run]:
    """Ours then ogr2ogr on the same file."""
    path = plots_file(folder, rows)
    env = geoportal_env(db_settings)  # type: ignore[arg-type]
    ours = measure(
        "ours",
        rows,
        [sys.executable, "-m", "geoportal.cli", "layers", "load", "agri_plots", str(path)],
        env,
    )
    ogr = measure(
        "ogr2ogr",
        rows,
        [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            ogr_conninfo(admin_conninfo),
            str(path),
            "agri_plots",
            "-nln",
            OGR_TABLE,
            "-overwrite",
            "-nlt",
            "MULTIPOLYGON",
            "-lco",
            "GEOMETRY_NAME=geom",
            "-lco",
            "SPATIAL_INDEX=GIST",
            "--config",
            "PG_USE_COPY",
            "YES",
        ],  # fmt: skip
        env,
    )
    return [ours, ogr]


def report(runs: list[Run]) -> dict[str, object]:
    """Print the side-by-side table; return the figures."""
    print(f"\n{'rows':>10} {'tool':>8} {'wall s':>8} {'peak RSS MB':>12} {'exit':>5}")
    for run in runs:
        figures = f"{run.wall_s:>8.2f} {run.peak_rss_mb:>12.1f} {run.exit_code:>5}"
        print(f"{run.rows:>10,} {run.tool:>8} {figures}")
    summary: dict[str, object] = {"runs": [asdict(r) for r in runs]}
    by = {(r.tool, r.rows): r for r in runs}
    for rows in sorted({r.rows for r in runs}):
        ours, ogr = by[("ours", rows)], by[("ogr2ogr", rows)]
        ratio = ours.wall_s / ogr.wall_s if ogr.wall_s else float("nan")
        summary[f"time_ratio_{rows}"] = round(ratio, 2)
        verdict = "met" if ratio <= 1.0 else "missed"
        print(f"{rows:>10,}: ours / ogr2ogr = {ratio:.2f} (target <= 1.0: {verdict})")
    if ("ours", 100_000) in by and ("ours", 1_000_000) in by:
        growth = by[("ours", 1_000_000)].peak_rss_mb / by[("ours", 100_000)].peak_rss_mb
        summary["rss_growth_1m_over_100k"] = round(growth, 2)
        verdict = "met" if growth <= 1.2 else "missed"
        print(f"peak RSS 1M / 100k = {growth:.2f} (target <= 1.2: {verdict})")
    else:
        print("peak RSS growth 1M / 100k: not measured (run both sizes)")
    return summary


def main(argv: list[str] | None = None) -> int:
    """Generate (once), load with both tools, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="Comma-separated row counts.")
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench-ingest")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(args.data_dir)
    import psycopg

    with psycopg.connect(db.admin_conninfo, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
    try:
        runs = [
            run
            for rows in sizes
            for run in run_size(rows, args.data_dir, db.settings, db.admin_conninfo)
        ]
    finally:
        if db.started_cluster:
            db.cluster.down()
    summary = report(runs)
    out = REPO / "var" / "benchmarks" / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"figures: {out}")
    return 0 if all(r.exit_code == 0 for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
