"""`python -m benchmarks.tiles`: vector tiles, ours (cold and warm cache) side by side with
stock pygeoapi's MVT-postgresql provider, tipg and the SQL floor, on the national data.

See benchmarks/README.md ("Vector tiles") for what is measured and how to read the tables.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import psycopg
import typer
from rich.console import Console

from benchmarks import report, servers, tile_cases
from benchmarks.data import REPO, BenchDatabase, open_database
from benchmarks.floor import database_times_ms, percentile, pgbench_rps
from benchmarks.load import PhaseResult, choose_client, cpu_count, run_phase
from benchmarks.tile_cases import TileCase, TileTarget
from layers.catalogue import Catalogue, load_catalogue
from layers.errors import LayerNotFoundError
from tiles.settings import TileSettings

SERVERS = ("cold", "warm", "stock", "tipg")
TARGET_MAX_TILE_BYTES = 500 * 1024
TARGET_LOW_ZOOM_MS = 250.0
TARGET_WARM_VS_TIPG = 3.0
console = Console() if sys.stdout.isatty() else Console(width=170)
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@dataclass
class TileRow:
    """One server on one tile class."""

    server: str
    label: str
    case: str
    statuses: dict[int, int] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    """Latency of each tile's first request (the correctness pass)."""
    timeout: bool = False
    c1: PhaseResult | None = None
    c8: PhaseResult | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TileFloor:
    """Our tile query of each tile of a class, timed in the database."""

    p50_ms: float
    p95_ms: float
    rps: float | None
    sizes: list[int]
    samples: int


def check_pass(row: TileRow, base_url: str, paths: list[str], timeout_s: float) -> None:
    """Each tile once: status, size, latency; stop at the first request over the timeout."""
    with httpx.Client(base_url=base_url, timeout=timeout_s) as client:
        for path in paths:
            started = time.perf_counter()
            try:
                answer = client.get(path)
            except httpx.TimeoutException:
                row.timeout = True
                row.warnings.append(f"no answer within {timeout_s:g} s: {path}")
                return
            except httpx.TransportError as exc:  # e.g. gunicorn killed a worker stuck on it
                row.timeout = True
                row.warnings.append(
                    f"connection lost after {time.perf_counter() - started:.1f}"
                    f" s ({exc.__class__.__name__}): {path}"
                )
                return
            row.first_ms.append((time.perf_counter() - started) * 1000)
            row.statuses[answer.status_code] = row.statuses.get(answer.status_code, 0) + 1
            row.sizes.append(len(answer.content))
            if answer.status_code not in (200, 204):
                row.warnings.append(f"HTTP {answer.status_code} for {path}: {answer.text[:160]}")


def time_row(
    row: TileRow, client: str, base_url: str, paths: list[str], options: dict[str, Any]
) -> None:
    """Latency at concurrency 1 and throughput at 8; fewer requests for slow servers so
    that a phase stays near `max_seconds`."""
    each_s = max(statistics.median(row.first_ms) / 1000, 1e-4)
    budget = options["max_seconds"]
    n1 = max(min(options["requests"], int(budget / each_s)), min(3, options["requests"]))
    n8 = max(min(options["requests_c8"], int(budget * min(8, cpu_count()) / each_s)), 8)
    timeout = max(60.0, 4 * options["timeout"])
    row.c1 = run_phase(client, base_url, paths, n1, 1, timeout_s=timeout * n1)
    row.c8 = run_phase(client, base_url, paths, n8, 8, timeout_s=timeout * n8 / 4)
    for phase in (row.c1, row.c8):
        if phase.failed:
            row.warnings.append(f"c{phase.concurrency}: {phase.failed} failed requests")


def measure_floor(conninfo: str, statements: list[str], options: dict[str, Any]) -> TileFloor:
    """Database time of our tile statements (EXPLAIN ANALYZE, tiles in turn) and pgbench
    throughput on 8 connections (a statement drawn at random per transaction)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("SET jit = off")  # as on our tile connections (tiles/service.py)
        sizes = [len(conn.execute(s).fetchone()[0] or b"") for s in statements]  # type: ignore[index]
        first = [database_times_ms(conn, s, [], 1)[0] for s in statements]
        each_s = max(statistics.median(first), 0.01) / 1000
        samples = max(
            len(statements), min(options["requests"], int(options["max_seconds"] / each_s))
        )
        times = [
            database_times_ms(conn, statements[i % len(statements)], [], 1)[0]
            for i in range(samples)
        ]
    parts = {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(conninfo).items()}
    requests = max(8, min(options["requests_c8"], int(options["max_seconds"] * 2 / each_s)))
    rps = pgbench_rps(parts, statements, [], requests, 8)
    return TileFloor(statistics.median(times), percentile(times, 95), rps, sizes, samples)


def prepare_data(data_dir: Path) -> tuple[BenchDatabase, str]:
    """The bench cluster up (never loaded here: the national data must be there)."""
    db = open_database(data_dir)
    with psycopg.connect(db.public_conninfo) as conn:
        rows = dict(
            conn.execute(
                "SELECT layer_id, feature_count FROM catalog.layer_stats "
                "WHERE layer_id IN ('agri_plots', 'buildings')"
            ).fetchall()
        )
    if rows.get("agri_plots", 0) < 250_000:
        if db.started_cluster:
            db.cluster.down()
        raise RuntimeError(
            f"{data_dir} does not hold the national data (agri_plots: "
            f"{rows.get('agri_plots', 0):,}); load it with "
            "`python -m benchmarks.features --layer agri_plots` first"
        )
    return (
        db,
        f"national data: {rows['agri_plots']:,} plots, {rows.get('buildings', 0):,} buildings",
    )


def versions() -> dict[str, str]:
    """Versions of what ran."""
    return {
        "python": platform.python_version(),
        **{name: version(name) for name in ("pygeoapi", "tipg", "psycopg", "gunicorn", "uvicorn")},
    }


def quiesce(conninfo: str, wait_s: float = 30.0) -> None:
    """Cancel the statements still running in the bench database (a server's tile that a
    client gave up on: stock pygeoapi's low-zoom queries run on after the timeout) and wait
    until none runs, so they do not load the machine while the next row is measured."""
    others = (
        "FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_cancel_backend(pid) " + others)
        deadline = time.monotonic() + wait_s
        while conn.execute("SELECT pid " + others).fetchone() and time.monotonic() < deadline:
            time.sleep(0.05)


def run_case(
    case: TileCase,
    catalogue: Catalogue,
    plan: dict[str, Any],
    running: list[servers.RunningServer],
    rows: dict[str, dict[str, TileRow]],
    floors: dict[str, TileFloor],
) -> None:
    """The floor of a class, then each server: correctness pass and timed phases."""
    layer = catalogue.get(case.layer)
    options, db = plan["options"], plan["db"]
    statements = tile_cases.floor_statements(db.public_conninfo, layer, case, TileSettings())
    quiesce(db.admin_conninfo)
    floors[case.key] = floor = measure_floor(db.public_conninfo, statements, options)
    console.log(
        f"{case.key:14} SQL floor p50 {floor.p50_ms:9.2f} ms, {floor.rps or 0:8.1f}/s, "
        f"max {max(floor.sizes):,} B"
    )
    for server in running:
        spec = server.spec
        row = rows.setdefault(spec.name, {})[case.key] = TileRow(spec.name, spec.label, case.key)
        paths = plan["targets"][spec.name].paths(layer, case)
        quiesce(db.admin_conninfo)
        check_pass(row, spec.base_url, paths, options["timeout"])
        if row.timeout or not row.first_ms:
            console.log(
                f"{case.key:14} {spec.name:6} [yellow]timeout[/] (> {options['timeout']:g}"
                " s): not timed"
            )
            continue
        time_row(row, plan["client"], spec.base_url, paths, options)
        assert row.c1 is not None and row.c8 is not None
        console.log(
            f"{case.key:14} {spec.name:6} p50 {row.c1.p50_ms:9.2f} ms, "
            f"{row.c8.rps:8.1f} req/s, max {max(row.sizes):,} B"
        )


def run(
    db: BenchDatabase,
    names: list[str],
    client: str,
    national_zooms: list[int],
    options: dict[str, Any],
) -> dict[str, Any]:
    """Everything after the data is in place; returns the JSON record."""
    minzooms = {"agri_plots": min([*national_zooms, 6])}
    catalogue = tile_cases.with_minzoom(load_catalogue(), minzooms)
    plots = catalogue.get("agri_plots")
    try:
        buildings = catalogue.get("buildings")
    except LayerNotFoundError:
        buildings = None
    layers = [plots, *([buildings] if buildings else [])]
    with psycopg.connect(db.public_conninfo) as conn:
        cases, where = tile_cases.build_tile_cases(conn, plots, buildings, national_zooms)
    rows: dict[str, dict[str, TileRow]] = {}
    floors: dict[str, TileFloor] = {}
    with tempfile.TemporaryDirectory(prefix="geoportal-tilebench-") as tmp:
        workdir = Path(tmp)
        builders = {
            "cold": lambda: tile_cases.ours_tile_spec(
                db, "cold", "ours, cold (no cache)", workdir, False, minzooms, plots.id
            ),
            "warm": lambda: tile_cases.ours_tile_spec(
                db, "warm", "ours, warm cache", workdir, True, minzooms, plots.id
            ),
            "stock": lambda: tile_cases.stock_tile_spec(db, layers, workdir, options["timeout"]),
            "tipg": lambda: tile_cases.tipg_tile_spec(db, layers, workdir),
        }
        specs = [builders[name]() for name in names]
        targets = {
            s.name: TileTarget("ours" if s.name in ("cold", "warm") else s.name) for s in specs
        }
        plan = {"db": db, "client": client, "options": options, "targets": targets}
        with servers.serving(specs, workdir) as running:
            console.log(
                "servers up: " + ", ".join(f"{s.spec.name} :{s.spec.port}" for s in running)
            )
            for case in cases:
                run_case(case, catalogue, plan, running, rows, floors)
            memory = {s.spec.name: servers.memory(s) for s in running}
        labels = {s.name: s.label for s in specs}
    tables = markdown_tables(cases, rows, floors, memory, labels)
    console.print(tables)
    return {
        "markdown": tables,
        "meta": {
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpus": cpu_count(),
            "workers_per_server": servers.WORKERS,
            "load_generator": client,
            "options": options,
            "where": where,
            "minzoom_overrides": minzooms,
            "versions": versions(),
        },
        "cases": cases,
        "floor": floors,
        "results": rows,
        "memory": memory,
    }


# -- tables -----------------------------------------------------------------------------
def size_cell(sizes: list[int]) -> str:
    """Median / max tile size in bytes."""
    if not sizes:
        return "-"
    return f"{int(statistics.median(sizes)):,} / {max(sizes):,}"


def result_rows(
    cases: list[TileCase], rows: dict[str, dict[str, TileRow]], floors: dict[str, TileFloor]
) -> list[list[str]]:
    """One line per server and class, the floor last."""
    out = []
    for case in cases:
        first = True
        for name in rows:
            row = rows[name].get(case.key)
            if row is None:
                continue
            title = f"{case.title}" if first else ""
            first = False
            if row.timeout:
                out.append([title, row.label, "timeout", "timeout", "-", "-", ""])
                continue
            statuses = ", ".join(f"{n}x{s}" for s, n in sorted(row.statuses.items()))
            out.append(
                [
                    title,
                    row.label,
                    report.ms(row.c1.p50_ms if row.c1 else None),
                    report.ms(row.c1.p95_ms if row.c1 else None),
                    report.rate(row.c8.rps if row.c8 else None),
                    size_cell(row.sizes),
                    statuses,
                ]
            )
        floor = floors.get(case.key)
        if floor:
            out.append(
                [
                    "",
                    "SQL floor (our query, db time; pgbench)",
                    report.ms(floor.p50_ms),
                    report.ms(floor.p95_ms),
                    report.rate(floor.rps),
                    size_cell(floor.sizes),
                    "",
                ]
            )
    return out


def _get(rows: dict[str, dict[str, TileRow]], name: str, key: str) -> TileRow | None:
    row = rows.get(name, {}).get(key)
    return row if row is not None and not row.timeout and row.c1 is not None else None


def target_rows(
    cases: list[TileCase], rows: dict[str, dict[str, TileRow]], floors: dict[str, TileFloor]
) -> list[list[str]]:
    """Ratios against the issue's targets, per class."""
    out = []
    for case in cases:
        cold, warm = _get(rows, "cold", case.key), _get(rows, "warm", case.key)
        tipg, floor = _get(rows, "tipg", case.key), floors.get(case.key)
        cells = [case.title]
        if cold and cold.c1 and floor:
            met = report.within_floor_target(cold.c1.p50_ms, floor.p50_ms)
            cells.append(
                f"{cold.c1.p50_ms / max(floor.p50_ms, 1e-6):.2f}x, "
                f"{cold.c1.p50_ms - floor.p50_ms:+.1f} ms: {'met' if met else 'MISSED'}"
            )
        else:
            cells.append("-")
        if cold and cold.c1 and tipg and tipg.c1:
            ratio = cold.c1.p50_ms / tipg.c1.p50_ms
            cells.append(f"{ratio:.2f}x: {'met' if ratio <= 1 else 'MISSED'}")
        else:
            cells.append("tipg timeout" if rows.get("tipg", {}).get(case.key) else "-")
        if warm and warm.c8 and tipg and tipg.c8 and tipg.c8.rps:
            ratio = warm.c8.rps / tipg.c8.rps
            cells.append(f"{ratio:.1f}x: {'met' if ratio >= TARGET_WARM_VS_TIPG else 'MISSED'}")
        else:
            cells.append("-")
        largest = max(cold.sizes) if cold and cold.sizes else None
        cells.append(
            "-"
            if largest is None
            else f"{largest / 1024:,.0f} KB: "
            f"{'met' if largest < TARGET_MAX_TILE_BYTES else 'MISSED'}"
        )
        if case.national and 6 <= case.z <= 8 and cold and cold.c1:
            ok = cold.c1.p95_ms < TARGET_LOW_ZOOM_MS
            cells.append(f"p95 {report.ms(cold.c1.p95_ms)} ms: {'met' if ok else 'MISSED'}")
        else:
            cells.append("")
        out.append(cells)
    return out


def markdown_tables(
    cases: list[TileCase],
    rows: dict[str, dict[str, TileRow]],
    floors: dict[str, TileFloor],
    memory: dict[str, dict[str, Any]],
    labels: dict[str, str],
) -> str:
    """The three tables of a run, as Markdown."""
    results = report.markdown(
        ["tiles", "server", "p50 ms c1", "p95 ms c1", "req/s c8", "bytes median / max", "answers"],
        result_rows(cases, rows, floors),
    )
    targets = report.markdown(
        [
            "tiles",
            "cold vs floor (1.3x or +2 ms)",
            "cold vs tipg p50 (<= 1x)",
            "warm vs tipg req/s (>= 3x)",
            "largest tile (< 500 KB)",
            "z6-z8 cold (< 250 ms)",
        ],
        target_rows(cases, rows, floors),
    )
    memory_md = report.markdown(
        ["server", "processes", "RSS MB now", "sum of peak RSS MB"],
        report.memory_cells(memory, labels),
    )
    return f"{results}\n{targets}\n{memory_md}"


@app.command()
def main(
    data_dir: Path = typer.Option(
        REPO / "var" / "bench",
        help="Data dir of the bench cluster "
        "holding the national data (never loaded or reset here).",
    ),
    server_names: str = typer.Option(
        ",".join(SERVERS), "--servers", help="Subset of cold,warm,stock,tipg."
    ),
    national: str = typer.Option("2,3,4,5,6,7,8", help="Zooms of the national plot classes."),
    requests: int = typer.Option(100, help="Requests per class and server at concurrency 1."),
    requests_c8: int = typer.Option(400, help="Requests per class and server at c8."),
    max_seconds: float = typer.Option(
        8.0, help="A phase that would take longer runs fewer requests (at least 3 at c1, 8 at c8)."
    ),
    timeout: float = typer.Option(
        20.0,
        help="Per-request timeout of the correctness pass: "
        "a server slower than this on a class is reported as "
        "`timeout` and not timed (stock pygeoapi at low zoom).",
    ),
    client_name: str = typer.Option("auto", "--client", help="h2load, asyncio or auto."),
    out: Path = typer.Option(
        None,
        help="JSON record [default: var/benchmarks/tiles-<date>"
        ".json]; the tables go next to it as .md.",
    ),
    keep_db: bool = typer.Option(False, help="Leave the bench cluster running."),
) -> None:
    """Vector tiles: ours (cold: caches off; warm: cache filled by a first pass), stock
    pygeoapi's MVT-postgresql provider, tipg and the SQL floor (our own tile query timed
    in the database), on the national plots and buildings, one run, side by side."""
    started, load_before = time.perf_counter(), os.getloadavg()
    names = [n.strip() for n in server_names.split(",") if n.strip()]
    if set(names) - set(SERVERS):
        raise typer.BadParameter(
            f"unknown servers {sorted(set(names) - set(SERVERS))}; choose from {SERVERS}"
        )
    zooms = [int(z) for z in national.split(",") if z.strip()]
    client = choose_client(client_name)
    options = {
        "requests": requests,
        "requests_c8": requests_c8,
        "max_seconds": max_seconds,
        "timeout": timeout,
    }
    console.rule(f"tile benchmark, load generator {client}")
    db, note = prepare_data(data_dir.absolute())
    console.log(note)
    try:
        record = run(db, names, client, zooms, options)
    finally:
        if db.started_cluster and not keep_db:
            db.cluster.down()
    record["meta"].update(
        {
            "data": note,
            "data_dir": str(data_dir),
            "seconds": time.perf_counter() - started,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        }
    )
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    tables = record.pop("markdown")
    path = report.write_json(out or REPO / "var" / "benchmarks" / f"tiles-{stamp}.json", record)
    path.with_suffix(".md").write_text(tables)
    console.log(
        f"record written to {path} and {path.with_suffix('.md').name} "
        f"({time.perf_counter() - started:.0f} s in all; load average "
        f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )


def cli() -> None:
    """Entry point: a known failure is one clear line and exit status 1."""
    report.run_cli(app, console)


if __name__ == "__main__":
    cli()
