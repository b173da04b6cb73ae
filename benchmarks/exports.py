"""Exporting plots to GeoPackage: `geoportal export` against `ogr2ogr` from PostgreSQL on the
same table, side by side in one run, at several sizes (time, ratio, peak RSS).

    .venv/bin/python -m benchmarks.exports --sizes 100000,300000
    .venv/bin/python -m benchmarks.exports --data-dir var/bench-synthetic --synthetic 1000000 \\
        --sizes 100000,1000000

Each export runs in its own process; its peak RSS is the kernel's (`wait4` rusage). Both
read the same rows (`id <= K`, K chosen so that exactly N plots match) as the public role,
and write the same public fields into a new GeoPackage with its spatial index.

Ours runs twice: `geoportal export` as an operator types it (the whole process, with the
CLI's start-up: importing pygeoapi, pandas through pyogrio, pygeofilter's grammar, several
seconds on a loaded machine), and the export code of the server (`exports.plan_export` +
`exports.write_export`, what a `/downloads/geopackage` request or a job runs with its
libraries already loaded) in a process of its own that reports the export's own time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.data import REPO, ensure_national, ensure_synthetic, geoportal_env, open_database
from layers.catalogue import load_catalogue

LAYER = "agri_plots"


@dataclass(frozen=True)
class Run:
    """One export: who, how many plots, seconds, peak RSS (MB), file size (MB)."""

    tool: str
    plots: int
    seconds: float
    peak_rss_mb: float
    file_mb: float
    export_seconds: float | None = None
    """The export itself, libraries loaded (the server's case)."""


def measured(command: list[str], env: dict[str, str], out: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a command run in its own process."""
    seconds, rss, _ = measured_output(command, env, out)
    return seconds, rss


def measured_output(command: list[str], env: dict[str, str], out: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, standard output) of a command run in its own process."""
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=errors, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if status != 0 or not out.exists():
            errors.seek(0)
            raise RuntimeError(f"{command[0]} failed: {errors.read().decode()[-2000:]}")
        output.seek(0)
        return seconds, usage.ru_maxrss / 1024, output.read().decode()


def export_once(bound: int, out: Path) -> None:
    """The server's export code on `id <= bound` plots into `out`; prints its own seconds."""
    from exports.plan import ExportQuery, plan_export
    from exports.writers import write_export
    from geoportal import data_exports
    from geoportal.settings import Settings

    settings = Settings()
    catalogue = load_catalogue()
    query = ExportQuery(format="geopackage", layers=(LAYER,), filter=f"id <= {bound}")
    started = time.perf_counter()
    with data_exports.connect(settings) as conn:
        plan = plan_export(conn, catalogue, query)
        result = write_export(conn, plan, out.parent, out.stem)
    print(json.dumps({"seconds": time.perf_counter() - started, "features": result.features}))


def id_bound(conninfo: str, table: tuple[str, str], plots: int) -> int:
    """The id K such that `id <= K` holds exactly `plots` rows (or all of them)."""
    query = sql.SQL("SELECT max(id) FROM (SELECT id FROM {} ORDER BY id LIMIT %s) AS s")
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(query.format(sql.Identifier(*table)), [plots]).fetchone()
    return int(row[0])


def run_size(db: object, fields: list[str], table: str, plots: int, folder: Path) -> list[Run]:
    """Ours and ogr2ogr at one size."""
    settings = db.settings  # type: ignore[attr-defined]
    conninfo = db.public_conninfo  # type: ignore[attr-defined]
    schema, name = table.split(".")
    bound = id_bound(db.admin_conninfo, (schema, name), plots)  # type: ignore[attr-defined]
    env = geoportal_env(settings)
    ours = folder / f"ours-{plots}.gpkg"
    theirs = folder / f"ogr2ogr-{plots}.gpkg"
    inner = folder / f"inner-{plots}.gpkg"
    commands = {
        "exports (server code)": (
            [sys.executable, "-m", "benchmarks.exports", "--once", str(bound), str(inner)],
            inner,
        ),
        "geoportal export": (
            [
                sys.executable,
                "-m",
                "geoportal.cli",
                "export",
                "--layers",
                LAYER,
                "--filter",
                f"id <= {bound}",
                str(ours),
            ],
            ours,
        ),
        "ogr2ogr": (
            [
                "ogr2ogr",
                "-f",
                "GPKG",
                str(theirs),
                f"PG:{conninfo}",
                table,
                "-where",
                f"id <= {bound}",
                "-select",
                ",".join(fields),
                "-nln",
                LAYER,
            ],
            theirs,
        ),
    }
    runs = []
    for tool, (command, out) in commands.items():
        seconds, rss, stdout = measured_output(command, env, out)
        inside = json.loads(stdout.strip().splitlines()[-1])["seconds"] if out == inner else None
        runs.append(
            Run(
                tool,
                plots,
                round(seconds, 2),
                round(rss, 1),
                round(out.stat().st_size / 1e6, 1),
                round(inside, 2) if inside is not None else None,
            )
        )
        out.unlink()
    return runs


def table_of(runs: list[Run]) -> str:
    """The results as a Markdown table, with our time over ogr2ogr's per size."""
    lines = [
        "| plots | tool | process s | export s | ours / ogr2ogr | peak RSS MB | file MB |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        other = next(r for r in runs if r.plots == run.plots and r.tool == "ogr2ogr")
        mine = run.export_seconds or run.seconds
        ratio = f"{mine / other.seconds:.2f}x" if run.tool != "ogr2ogr" else ""
        lines.append(
            f"| {run.plots:,} | {run.tool} | {run.seconds} | {run.export_seconds or ''} | "
            f"{ratio} | {run.peak_rss_mb} | {run.file_mb} |"
        )
    lines.append("")
    for tool in dict.fromkeys(r.tool for r in runs):
        mine = sorted((r for r in runs if r.tool == tool), key=lambda r: r.plots)
        if len(mine) > 1:
            lines.append(
                f"- {tool}: peak RSS at {mine[-1].plots:,} / at {mine[0].plots:,}: "
                f"{mine[-1].peak_rss_mb / mine[0].peak_rss_mb:.2f}x"
            )
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print its table; write it as JSON under var/benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument(
        "--synthetic",
        type=int,
        default=0,
        help="load the SQL stand-in with this many plots instead of the national data",
    )
    parser.add_argument("--once", nargs=2, metavar=("BOUND", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        export_once(int(args.once[0]), Path(args.once[1]))
        return
    layer = load_catalogue().get(LAYER)
    db = open_database(args.data_dir.absolute())
    if args.synthetic:
        print(ensure_synthetic(db, layer, args.synthetic, 0.42))
    else:
        print(ensure_national(db, layer))
    fields = [f.name for f in layer.public_fields]  # ogr2ogr: id is the FID, geom the geometry
    table = f"{layer.schema_name}.{layer.table}"
    folder = Path(tempfile.mkdtemp(prefix="bench-exports-"))
    runs: list[Run] = []
    try:
        for plots in (int(s) for s in args.sizes.split(",")):
            runs += run_size(db, fields, table, plots, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if db.started_cluster:
            db.cluster.down()
    report = table_of(runs)
    print(report)
    out = REPO / "var" / "benchmarks" / f"exports-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    out.with_suffix(".md").write_text(report + "\n")


if __name__ == "__main__":
    main()
