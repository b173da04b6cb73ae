"""Tables (rich) and the JSON record of a features benchmark run."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.cases import Case
from benchmarks.floor import FloorResult
from benchmarks.load import PhaseResult

FLOOR_FACTOR, FLOOR_SLACK_MS = (
    1.3,
    2.0,
)  # the floor target (docs/benchmarks.md): within 1.3x or 2 ms


@dataclass
class Measured:
    """One server on one request class."""

    server: str
    label: str
    case: str
    features: int | None = None
    c1: PhaseResult | None = None
    c8: PhaseResult | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    """CPU per request in the c8 phases: the server's processes, PostgreSQL, the client."""


def ms(value: float | None) -> str:
    """A latency for the table."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:,.1f}"


def rate(value: float | None) -> str:
    """A throughput for the table."""
    if value is None or math.isnan(value) or value == 0:
        return "-"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, None when either is missing or b is 0."""
    if not a or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def cpu_cell(row: Measured) -> str:
    """`server + PostgreSQL` CPU milliseconds per request."""
    cpu = row.cpu_ms_per_request
    if not cpu:
        return "-"
    return f"{ms(cpu['server'])} + {ms(cpu['postgres'])}"


def within_floor_target(ours_ms: float, floor_ms: float) -> bool:
    """Within 1.3x of the floor or within 2 ms of it, whichever is larger."""
    return ours_ms <= max(FLOOR_FACTOR * floor_ms, floor_ms + FLOOR_SLACK_MS)


def comparison(row: Measured, ours: Measured | None, floor: FloorResult | None) -> str:
    """The "ours versus this row" cell."""
    if ours is None or ours.c1 is None or ours.c8 is None or row.server == "ours":
        if row.server == "ours" and ours and ours.c1 and floor:
            met = within_floor_target(ours.c1.p50_ms, floor.p50_ms)
            return "floor target met" if met else "floor target missed"
        return ""
    own = row.c8.rps if row.c8 else None
    value = ratio(ours.c8.rps, own)
    if row.server == "ceiling":
        return f"ours = {value:.0%} of ceiling req/s" if value else ""
    return f"ours/{row.server} {value:.2f}x req/s" if value else ""


RESULT_HEADERS = [
    "request",
    "server",
    "features",
    "p50 ms c1",
    "p95 ms c1",
    "req/s c8",
    "CPU ms/req server+PG",
    "ours vs this",
]
WARNING = "WARNING"


def result_rows(
    cases: list[Case], measured: dict[str, dict[str, Measured]], floor: dict[str, FloorResult]
) -> list[list[list[str]]]:
    """Cells per request class: one row per server, warnings under it, the floor last."""
    sections = []
    for case in cases:
        ours = measured.get("ours", {}).get(case.key)
        rows: list[list[str]] = []
        for by_case in measured.values():
            row = by_case.get(case.key)
            if row is None:
                continue
            rows.append(
                [
                    "",
                    row.label,
                    str(row.features if row.features is not None else "-"),
                    ms(row.c1.p50_ms if row.c1 else None),
                    ms(row.c1.p95_ms if row.c1 else None),
                    rate(row.c8.rps if row.c8 else None),
                    cpu_cell(row),
                    comparison(row, ours, floor.get(case.key)),
                ]
            )
            rows += [["", WARNING, "", "", "", "", "", warning] for warning in row.warnings]
        result = floor.get(case.key)
        if result is not None:
            cell = ""
            if ours and ours.c1:
                cell = (
                    f"ours-floor {ours.c1.p50_ms - result.p50_ms:+.2f} ms, ours/floor "
                    f"{ours.c1.p50_ms / result.p50_ms:.1f}x"
                )
            rows.append(
                [
                    "",
                    f"SQL floor (db time; {result.client})",
                    str(result.rows),
                    ms(result.p50_ms),
                    ms(result.p95_ms),
                    rate(result.rps),
                    "",
                    cell,
                ]
            )
        if rows:
            rows[0][0] = case.title
        sections.append(rows)
    return sections


def results_table(
    cases: list[Case],
    measured: dict[str, dict[str, Measured]],
    floor: dict[str, FloorResult],
    title: str,
) -> Table:
    """The results as a rich table (warnings in red)."""
    table = Table(title=title)
    for name in RESULT_HEADERS:
        table.add_column(
            name, justify="left" if name in ("request", "server", "ours vs this") else "right"
        )
    for rows in result_rows(cases, measured, floor):
        for cells in rows:
            if cells[1] == WARNING:
                cells = [cells[0], f"[bold red]{WARNING}[/]", *cells[2:7], f"[red]{cells[7]}[/]"]
            table.add_row(*cells)
        table.add_section()
    return table


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table.

    >>> print(markdown(["a", "b"], [["1", "2"]]))
    | a | b |
    | --- | --- |
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_rows(
    cases: list[Case], measured: dict[str, dict[str, Measured]], floor: dict[str, FloorResult]
) -> list[dict[str, Any]]:
    """The ratios per request class (also written to the JSON record)."""
    rows = []
    for case in cases:
        rps = {
            name: row.c8.rps
            for name, rows_ in measured.items()
            if (row := rows_.get(case.key)) is not None and row.c8 is not None
        }
        ours = measured.get("ours", {}).get(case.key)
        ours_rps = rps.get("ours")
        ours_p50 = ours.c1.p50_ms if ours and ours.c1 else None
        floor_p50 = floor[case.key].p50_ms if case.key in floor else None
        http = measured.get("httpfloor", {}).get(case.key)
        http_p50 = http.c1.p50_ms if http and http.c1 else None
        both = floor_p50 + http_p50 if floor_p50 is not None and http_p50 is not None else None
        rows.append(
            {
                "case": case.key,
                "title": case.title,
                "ours_over_stock_rps": ratio(ours_rps, rps.get("stock")),
                "ours_over_tipg_rps": ratio(ours_rps, rps.get("tipg")),
                "ours_over_ceiling_rps": ratio(ours_rps, rps.get("ceiling")),
                "ours_minus_floor_p50_ms": (ours_p50 - floor_p50)
                if ours_p50 is not None and floor_p50 is not None
                else None,
                "ours_over_floor_p50": ratio(ours_p50, floor_p50),
                "http_floor_p50_ms": http_p50,
                "ours_minus_both_floors_p50_ms": (ours_p50 - both)
                if ours_p50 is not None and both is not None
                else None,
                "floor_target_met": within_floor_target(ours_p50, floor_p50)
                if ours_p50 is not None and floor_p50 is not None
                else None,
            }
        )
    return rows


SUMMARY_HEADERS = [
    "request",
    "ours/stock req/s",
    "ours/tipg req/s",
    "ours/ceiling req/s",
    "ours-floor p50",
    "ours/floor p50",
    "within 1.3x or +2 ms of floor",
    "HTTP floor p50",
    "ours-(SQL+HTTP floor) p50",
]


def summary_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Cells of the ratio table."""

    def times(value: float | None) -> str:
        return f"{value:.2f}x" if value is not None else "-"

    cells = []
    for row in rows:
        diff, met = row["ours_minus_floor_p50_ms"], row["floor_target_met"]
        cells.append(
            [
                row["title"],
                times(row["ours_over_stock_rps"]),
                times(row["ours_over_tipg_rps"]),
                times(row["ours_over_ceiling_rps"]),
                f"{diff:+.2f} ms" if diff is not None else "-",
                times(row["ours_over_floor_p50"]),
                "-" if met is None else ("yes" if met else "no"),
                ms(row.get("http_floor_p50_ms")),
                f"{extra:+.2f} ms"
                if (extra := row.get("ours_minus_both_floors_p50_ms")) is not None
                else "-",
            ]
        )
    return cells


def summary_table(rows: list[dict[str, Any]]) -> Table:
    """Ratios per request class."""
    table = Table(title="ours compared: throughput at c8, latency p50 at c1")
    for name in SUMMARY_HEADERS:
        table.add_column(name, justify="left" if name == "request" else "right")
    for cells in summary_cells(rows):
        table.add_row(*cells)
    return table


MEMORY_HEADERS = ["server", "processes", "RSS MB", "sum of peak RSS MB"]


def memory_cells(memory: dict[str, dict[str, Any]], labels: dict[str, str]) -> list[list[str]]:
    """Cells of the memory table."""
    return [
        [
            labels.get(name, name),
            str(v["processes"]),
            f"{v['rss_mb']:,.0f}",
            f"{v['peak_rss_mb']:,.0f}",
        ]
        for name, v in memory.items()
    ]


def memory_table(memory: dict[str, dict[str, Any]], labels: dict[str, str]) -> Table:
    """Resident memory of each server (gunicorn master + workers) after the run."""
    table = Table(title="server memory after the run (gunicorn master + workers)")
    for name in MEMORY_HEADERS:
        table.add_column(name, justify="left" if name == "server" else "right")
    for cells in memory_cells(memory, labels):
        table.add_row(*cells)
    return table


def markdown_report(
    cases: list[Case],
    measured: dict[str, dict[str, Measured]],
    floor: dict[str, FloorResult],
    memory: dict[str, dict[str, Any]],
    labels: dict[str, str],
) -> str:
    """The three tables in Markdown (for docs/benchmarks.md)."""
    rows = [cells for section in result_rows(cases, measured, floor) for cells in section]
    return (
        "\n\n".join(
            [
                markdown(RESULT_HEADERS, rows),
                markdown(SUMMARY_HEADERS, summary_cells(summary_rows(cases, measured, floor))),
                markdown(MEMORY_HEADERS, memory_cells(memory, labels)),
            ]
        )
        + "\n"
    )


def to_jsonable(value: Any) -> Any:
    """Dataclasses to dicts, NaN to None, recursively."""
    if hasattr(value, "__dataclass_fields__"):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def run_cli(app: Callable[[], Any], console: Console) -> None:
    """Run a benchmark's typer app: a known failure (RuntimeError) is one clear line and
    exit status 1."""
    try:
        app()
    except RuntimeError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)


def write_json(path: Path, record: dict[str, Any]) -> Path:
    """Write the run's record (creating the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(record), indent=2, ensure_ascii=False) + "\n")
    return path
