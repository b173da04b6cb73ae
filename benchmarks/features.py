"""`python -m benchmarks.features`: OGC API Features, ours side by side with stock pygeoapi,
tipg, pygeoapi's own ceiling and the SQL floor, on the same table in one run.

See benchmarks/README.md for what is measured and how to read the table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import typer
from rich.console import Console

from benchmarks import checks, report, servers
from benchmarks.cases import DEFAULT_FILTER, Case, build_cases, densest_square, sample_ids
from benchmarks.data import REPO, BenchDatabase, ensure_national, ensure_synthetic, open_database
from benchmarks.floor import (
    FloorResult,
    count_rows,
    matched_total,
    measure_floor,
    page_ids,
    page_sql,
    public_columns,
)
from benchmarks.load import PhaseResult, choose_client, cpu_count, run_phase
from benchmarks.standin import find_layer
from layers.model import Layer

SERVERS = ("ours", "stock", "tipg", "ceiling", "httpfloor")
CLASSES = ("first", "bbox", "deep", "filter", "item")
console = Console() if sys.stdout.isatty() else Console(width=170)
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """`minx,miny,maxx,maxy` (CRS84) or None."""
    if not text:
        return None
    values = [float(v) for v in text.split(",")]
    if len(values) != 4:
        raise typer.BadParameter("--bbox needs minx,miny,maxx,maxy")
    return (values[0], values[1], values[2], values[3])


def prepare_data(
    data_dir: Path, layer: Layer, synthetic: bool, plots: int, seed: float, reset: bool
) -> tuple[BenchDatabase, str]:
    """The bench cluster up and migrated, with the layer loaded."""
    db = open_database(data_dir, reset=reset)
    if synthetic:
        return db, ensure_synthetic(db, layer, plots, seed)
    return db, ensure_national(db, layer)


def bounded(asked: int, rate_per_s: float, max_seconds: float, minimum: int = 30) -> int:
    """The asked number of requests, or fewer when they would take over max_seconds."""
    return max(min(asked, minimum), min(asked, int(rate_per_s * max_seconds)))


def median_phase(phases: list[PhaseResult]) -> PhaseResult:
    """Field-wise median of repeated rounds (counts added up)."""
    if len(phases) == 1:
        return phases[0]

    def med(name: str) -> float:
        return float(statistics.median(getattr(p, name) for p in phases))

    return replace(
        phases[0],
        p50_ms=med("p50_ms"),
        p95_ms=med("p95_ms"),
        mean_ms=med("mean_ms"),
        rps=med("rps"),
        requests=sum(p.requests for p in phases),
        non_200=sum(p.non_200 for p in phases),
        failed=sum(p.failed for p in phases),
        client_cpu_s=sum(p.client_cpu_s for p in phases),
        wall_s=sum(p.wall_s for p in phases),
    )


def time_server(
    row: report.Measured,
    client: str,
    server: servers.RunningServer,
    postmaster: int,
    paths: list[str],
    options: dict[str, Any],
) -> None:
    """Warm up, then latency at concurrency 1 and throughput at 8, for `rounds` rounds;
    CPU used by the server's processes and by PostgreSQL is recorded around the c8 phases."""
    base_url = server.spec.base_url
    warm = run_phase(client, base_url, paths, options["warmup"], 8)
    n8 = bounded(options["requests_c8"], warm.rps, options["max_seconds"])
    n1 = bounded(options["requests"], warm.rps / min(8, cpu_count()), options["max_seconds"])
    c1s, c8s = [], []
    cpu = {"server": 0.0, "postgres": 0.0}
    for _ in range(options["rounds"]):
        c1s.append(run_phase(client, base_url, paths, n1, 1))
        before = (servers.cpu_seconds(server.process.pid), servers.cpu_seconds(postmaster))
        c8s.append(run_phase(client, base_url, paths, n8, 8))
        cpu["server"] += servers.cpu_seconds(server.process.pid) - before[0]
        cpu["postgres"] += servers.cpu_seconds(postmaster) - before[1]
    row.c1, row.c8 = median_phase(c1s), median_phase(c8s)
    done = sum(p.requests for p in c8s) or 1
    row.cpu_ms_per_request = {
        "server": 1000 * cpu["server"] / done,
        "postgres": 1000 * cpu["postgres"] / done,
        "client": 1000 * sum(p.client_cpu_s for p in c8s) / done,
    }
    row.rounds = [{"c1": c1, "c8": c8} for c1, c8 in zip(c1s, c8s, strict=True)]
    for phase in (row.c1, row.c8):
        if phase.non_200 or phase.failed:
            row.warnings.append(
                f"c{phase.concurrency}: {phase.non_200} non-200 answers, "
                f"{phase.failed} failed requests"
            )


def floor_statements(conninfo: str, layer: Layer, cases: list[Case]) -> dict[str, str]:
    """The hand-written SQL of every class, over the columns the public role may read."""
    with psycopg.connect(conninfo) as conn:
        columns = public_columns(conn, layer)
    return {case.key: page_sql(layer, columns, case) for case in cases}


def expected_answers(
    conninfo: str, layer: Layer, cases: list[Case], statements: dict[str, str], ids: list[int]
) -> dict[str, checks.Expected]:
    """Rows of the floor's answer and exact matches per class, from the database."""
    with psycopg.connect(conninfo) as conn:
        return {
            c.key: checks.Expected(
                rows=count_rows(conn, statements[c.key], ids[0] if c.by_id else None),
                matched=1 if c.by_id else matched_total(conn, layer, c),
                ids=() if c.by_id else tuple(page_ids(conn, layer, c)),
            )
            for c in cases
        }


def record_checks(
    measured: dict[str, dict[str, report.Measured]],
    spec: servers.ServerSpec,
    found: dict[str, checks.Checked],
) -> None:
    """Keep feature counts and warnings of a server's correctness pass."""
    rows = measured.setdefault(spec.name, {})
    for key, result in found.items():
        rows[key] = report.Measured(
            spec.name, spec.label, key, features=result.features, warnings=list(result.warnings)
        )


def versions(conninfo: str, client: str) -> dict[str, str]:
    """Versions of everything measured."""
    found = {"python": platform.python_version()}
    for package in (
        "pygeoapi",
        "tipg",
        "gunicorn",
        "uvicorn",
        "psycopg",
        "SQLAlchemy",
        "starlette",
    ):
        try:
            found[package] = version(package)
        except Exception:  # PackageNotFoundError: not installed
            found[package] = "missing"
    with psycopg.connect(conninfo) as conn:
        found["postgresql"] = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        found["postgis"] = str(conn.execute("SELECT postgis_lib_version()").fetchone()[0])  # type: ignore[index]
    if client == "h2load":
        out = subprocess.run(["h2load", "--version"], capture_output=True, text=True).stdout
        found["h2load"] = out.strip()
    return found


@app.command()
def main(
    layer_id: str = typer.Option("agri_plots", "--layer", help="Collection id under test."),
    data_dir: Path = typer.Option(
        None, help="Bench data dir (default: var/bench, or var/bench-synthetic with --synthetic)."
    ),
    synthetic: bool = typer.Option(
        False, help="Use the SQL stand-in instead of the national demo data."
    ),
    plots: int = typer.Option(300_000, help="Stand-in size (--synthetic)."),
    seed: float = typer.Option(0.42, help="Stand-in seed, -1..1 (--synthetic)."),
    requests: int = typer.Option(200, help="Requests per class and server at concurrency 1."),
    requests_c8: int = typer.Option(1000, help="Requests per class and server at concurrency 8."),
    warmup: int = typer.Option(40, help="Warm-up requests before each measurement."),
    max_seconds: float = typer.Option(
        12.0, help="Fewer requests when a phase would take longer (the count used is recorded)."
    ),
    rounds: int = typer.Option(1, help="Repeat the timed phases; medians are reported."),
    ids: int = typer.Option(100, help="Random feature ids for the by-id class."),
    cql: str = typer.Option(DEFAULT_FILTER, "--filter", help="CQL2 text of the filter class."),
    bbox_text: str = typer.Option(
        None,
        "--bbox",
        help="minx,miny,maxx,maxy of the bbox "
        "class (default: the densest 2 km square of the Chui valley).",
    ),
    server_names: str = typer.Option(",".join(SERVERS), "--servers", help="Which servers to run."),
    class_names: str = typer.Option(
        ",".join(CLASSES), "--classes", help="Which request classes to measure."
    ),
    client_name: str = typer.Option("auto", "--client", help="auto, h2load or asyncio."),
    out: Path = typer.Option(
        None, help="JSON record (default: var/benchmarks/features-<date>-<time>.json)."
    ),
    reset: bool = typer.Option(False, help="Delete the bench cluster first."),
    keep_db: bool = typer.Option(False, help="Leave the bench cluster running at the end."),
) -> None:
    """Benchmark OGC API Features: ours vs stock pygeoapi vs tipg vs the SQL floor."""
    started, load_before = time.perf_counter(), os.getloadavg()
    names = [n.strip() for n in server_names.split(",") if n.strip()]
    unknown = set(names) - set(SERVERS)
    if unknown:
        raise typer.BadParameter(f"unknown servers {sorted(unknown)}; choose from {SERVERS}")
    classes = tuple(n.strip() for n in class_names.split(",") if n.strip())
    if set(classes) - set(CLASSES):
        raise typer.BadParameter(f"unknown classes {sorted(set(classes) - set(CLASSES))}")
    client = choose_client(client_name)
    options = {
        "classes": classes,
        "requests": requests,
        "requests_c8": requests_c8,
        "warmup": warmup,
        "max_seconds": max_seconds,
        "rounds": rounds,
    }
    data_dir = data_dir or REPO / ("var/bench-synthetic" if synthetic else "var/bench")
    layer, declared = find_layer(layer_id)
    console.rule(
        f"features benchmark: {layer.id} ({'its' if declared else 'stand-in'} "
        f"declaration), load generator {client}"
    )
    db, data_note = prepare_data(data_dir.absolute(), layer, synthetic, plots, seed, reset)
    console.log(data_note)
    try:
        record = run(db, layer, names, client, cql, parse_bbox(bbox_text), ids, options)
    finally:
        if db.started_cluster and not keep_db:
            db.cluster.down()
    record["meta"].update(
        {
            "data": data_note,
            "declared_layer": declared,
            "data_dir": str(data_dir),
            "seconds": time.perf_counter() - started,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        }
    )
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    tables = record.pop("markdown")
    path = report.write_json(out or REPO / "var" / "benchmarks" / f"features-{stamp}.json", record)
    path.with_suffix(".md").write_text(tables)
    console.log(
        f"record written to {path} and {path.with_suffix('.md').name} "
        f"({time.perf_counter() - started:.0f} s in all)"
    )
    if max(load_before[0], record["meta"]["load_average_after"][0]) > 1.0:
        console.log(
            "[yellow]note:[/] other processes loaded the machine (load average "
            f"{load_before[0]:.1f} before, {record['meta']['load_average_after'][0]:.1f}"
            " after): figures are noisier than on an idle machine"
        )


@dataclass(frozen=True)
class Plan:
    """What every step of a run needs."""

    db: BenchDatabase
    layer: Layer
    cases: list[Case]
    ids: list[int]
    statements: dict[str, str]
    expected: dict[str, checks.Expected]
    client: str
    options: dict[str, Any]

    @property
    def conninfo(self) -> str:
        """The public role's connection (floor and checks)."""
        return self.db.public_conninfo


def check_all(
    plan: Plan,
    running: list[servers.RunningServer],
    measured: dict[str, dict[str, report.Measured]],
) -> dict[str, checks.Checked]:
    """The correctness pass of each server; its counts and warnings go into `measured`."""
    found = {}
    for server in running:
        paths = {c.key: server.spec.target.paths(c, plan.ids) for c in plan.cases}
        found[server.spec.name] = checks.check_server(
            server.spec.base_url,
            paths,
            plan.cases,
            plan.expected,
            plan.ids,
            plan.layer,
            plan.conninfo,
        )
        record_checks(measured, server.spec, found[server.spec.name])
    return found


def measure_all(
    plan: Plan,
    running: list[servers.RunningServer],
    measured: dict[str, dict[str, report.Measured]],
) -> dict[str, FloorResult]:
    """Class by class: the floor, then each server."""
    floor = {}
    for case in plan.cases:
        floor[case.key] = measure_floor(
            plan.conninfo,
            plan.statements[case.key],
            plan.ids if case.by_id else [],
            samples=plan.options["requests"],
            requests=plan.options["requests_c8"],
            max_seconds=plan.options["max_seconds"],
        )
        console.log(
            f"{case.key:6} SQL floor p50 {floor[case.key].p50_ms:8.2f} ms "
            f"{floor[case.key].rps or 0:8.1f} statements/s"
        )
        time_case(
            running,
            case,
            plan.ids,
            measured,
            plan.client,
            plan.db.cluster.running_pid() or 0,
            plan.options,
        )
    return floor


def run(
    db: BenchDatabase,
    layer: Layer,
    names: list[str],
    client: str,
    cql: str,
    bbox: tuple[float, float, float, float] | None,
    id_count: int,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Everything after the data is in place; returns the JSON record."""
    with psycopg.connect(db.public_conninfo) as conn:
        dense = None
        if bbox is None:
            bbox, dense = densest_square(conn, layer)
        ids = sample_ids(conn, layer, id_count, seed=1)
    cases = [c for c in build_cases(bbox, cql) if c.key in options.get("classes", CLASSES)]
    statements = floor_statements(db.public_conninfo, layer, cases)
    plan = Plan(
        db,
        layer,
        cases,
        ids,
        statements,
        expected_answers(db.public_conninfo, layer, cases, statements, ids),
        client,
        options,
    )
    measured: dict[str, dict[str, report.Measured]] = {}
    with tempfile.TemporaryDirectory(prefix="geoportal-bench-") as tmp:
        workdir = Path(tmp)
        builders = {
            "ours": servers.ours_spec,
            "stock": servers.stock_spec,
            "tipg": servers.tipg_spec,
        }
        specs = [builders[n](db, layer, workdir) for n in names if n in builders]
        with servers.serving(specs, workdir) as running:
            console.log(
                "servers up: " + ", ".join(f"{s.spec.name} :{s.spec.port}" for s in running)
            )
            found = check_all(plan, running, measured)
            ceiling_specs = []
            if "ceiling" in names and "ours" in found:  # our answers, canned for the stub
                canned = workdir / "canned.json"
                canned.write_text(json.dumps(checks.canned_answers(found["ours"])))
                ceiling_specs = [servers.ceiling_spec(db, layer, workdir, canned)]
            if "httpfloor" in names and "ours" in found:  # our answers' bytes, replayed
                raw = workdir / "http-floor.json"
                raw.write_text(json.dumps(checks.raw_answers(found["ours"])))
                ceiling_specs.append(servers.http_floor_spec(db, layer, workdir, raw))
            with servers.serving(ceiling_specs, workdir) as ceiling:
                check_all(plan, ceiling, measured)
                everything = running + ceiling
                floor = measure_all(plan, everything, measured)
                memory = {s.spec.name: servers.memory(s) for s in everything}
    labels = {s.spec.name: s.spec.label for s in everything}
    print_tables(cases, measured, floor, memory, labels, client)
    return {
        "markdown": report.markdown_report(cases, measured, floor, memory, labels),
        "meta": {
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "layer": layer.id,
            "table": ".".join(layer.qualified_table),
            "cpus": cpu_count(),
            "workers_per_server": servers.WORKERS,
            "load_generator": client,
            "options": options,
            "bbox": bbox,
            "bbox_densest_centroids": dense,
            "filter": cql,
            "ids": ids,
            "apps": {s.spec.name: s.spec.app for s in everything},
            "versions": versions(db.public_conninfo, client),
        },
        "cases": cases,
        "floor": floor,
        "expected": plan.expected,
        "results": measured,
        "summary": report.summary_rows(cases, measured, floor),
        "memory": memory,
    }


def time_case(
    running: list[servers.RunningServer],
    case: Case,
    ids: list[int],
    measured: dict[str, dict[str, report.Measured]],
    client: str,
    postmaster: int,
    options: dict[str, Any],
) -> None:
    """The timed phases of one class, each server in turn (run right after its floor, so
    that drift and other load on the machine hit all alike)."""
    for server in running:
        row = measured[server.spec.name][case.key]
        paths = server.spec.target.paths(case, ids)
        time_server(row, client, server, postmaster, paths, options)
        assert row.c1 is not None and row.c8 is not None
        cpu = row.cpu_ms_per_request
        console.log(
            f"{case.key:6} {server.spec.name:8} p50 {row.c1.p50_ms:8.2f} ms "
            f"{row.c8.rps:8.1f} req/s; CPU ms/req: server {cpu['server']:.2f}, "
            f"PostgreSQL {cpu['postgres']:.2f}, client {cpu['client']:.3f}"
        )


def print_tables(
    cases: list[Case],
    measured: dict[str, dict[str, report.Measured]],
    floor: dict[str, FloorResult],
    memory: dict[str, dict[str, Any]],
    labels: dict[str, str],
    client: str,
) -> None:
    """The three tables of a run."""
    title = (
        f"features: p50/p95 at concurrency 1, req/s at concurrency 8 "
        f"(gunicorn, {servers.WORKERS} uvicorn workers each; {client})"
    )
    console.print(report.results_table(cases, measured, floor, title))
    console.print(report.summary_table(report.summary_rows(cases, measured, floor)))
    console.print(report.memory_table(memory, labels))


def cli() -> None:
    """Entry point: a known failure is one clear line and exit status 1."""
    report.run_cli(app, console)


if __name__ == "__main__":
    cli()
