"""The validation report of a load: every problem of a file, not the first one.

A problem has a `code` (what kind), the field at fault, the row numbers (1-based, in the
file's order) and the offending values (the first `SHOWN` of each), a message and, for
closed lists, the closest allowed value. `blocking` problems stop the load unless the caller
skips the rows at fault (`--skip-invalid`); the others are notes (a repaired geometry, a file
column no field uses). The report is JSON (`to_dict`) and a readable HTML page (`to_html`).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

SHOWN = 20
"""Row numbers and values kept per problem (the count says how many there are in all)."""


@dataclass
class Problem:
    """One kind of problem in one field (or the geometry), over all the rows that have it."""

    code: str
    message: str
    blocking: bool = True
    field_name: str | None = None
    count: int = 0
    rows: list[int] = dc_field(default_factory=list)
    values: list[Any] = dc_field(default_factory=list)
    suggestions: dict[str, str] = dc_field(default_factory=dict)

    def add(self, rows: list[int], values: list[Any]) -> None:
        """Count more rows with this problem, keeping the first few."""
        self.count += len(rows)
        room = SHOWN - len(self.rows)
        if room > 0:
            self.rows.extend(int(r) for r in rows[:room])
            self.values.extend(_plain(v) for v in values[:room])

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON."""
        out: dict[str, Any] = {
            "code": self.code,
            "blocking": self.blocking,
            "message": self.message,
            "count": self.count,
        }
        if self.field_name is not None:
            out["field"] = self.field_name
        if self.rows:
            out["rows"] = self.rows
            out["values"] = self.values
        if self.suggestions:
            out["closest"] = self.suggestions
        return out


def _plain(value: Any) -> Any:
    """A JSON-able form of a cell value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN: a missing cell (JSON has no NaN)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if type(value).__module__.startswith(("pandas", "numpy")) and str(value) in {"NaT", "<NA>"}:
        return None
    return str(value)


@dataclass
class ValidationReport:
    """Every problem found in one file for one layer."""

    layer: str
    file: str
    mode: str
    rows_read: int = 0
    rows_skipped: int = 0
    problems: dict[tuple[str, str | None, str], Problem] = dc_field(default_factory=dict)

    def problem(
        self, code: str, message: str, *, field_name: str | None = None, blocking: bool = True
    ) -> Problem:
        """The problem of this code, field and message, created on first use."""
        key = (code, field_name, message)
        if key not in self.problems:
            self.problems[key] = Problem(code, message, blocking, field_name)
        return self.problems[key]

    def note(self, code: str, message: str, *, field_name: str | None = None) -> None:
        """A problem of the whole file (no rows): a missing column, an unmapped one."""
        found = self.problem(code, message, field_name=field_name, blocking=code in BLOCKING)
        found.count = max(found.count, 1)

    @property
    def blocking(self) -> list[Problem]:
        """The problems that stop the load."""
        return [p for p in self.problems.values() if p.blocking]

    def summary(self) -> str:
        """One line: how many problems of which kinds."""
        if not self.problems:
            return f"{self.file}: no problems in {self.rows_read} rows"
        parts = [f"{p.code} ({p.count})" for p in self.problems.values()]
        return f"{self.file}: {len(self.blocking)} blocking problem(s): {', '.join(parts)}"

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "layer": self.layer,
            "file": self.file,
            "mode": self.mode,
            "rowsRead": self.rows_read,
            "rowsSkipped": self.rows_skipped,
            "blocking": bool(self.blocking),
            "problems": [p.to_dict() for p in self.problems.values()],
        }

    def to_html(self) -> str:
        """The report as a self-contained HTML page (no script, no external resource)."""
        rows = "".join(_html_row(p) for p in self.problems.values())
        verdict = (
            "The file cannot be loaded as it is: fix the blocking problems, or load it with "
            "--skip-invalid to leave out the rows at fault."
            if self.blocking
            else "No blocking problem."
        )
        esc = html.escape
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Validation report: {esc(self.file)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #999;padding:4px 8px;vertical-align:top}"
            ".blocking{background:#fdd}</style></head><body>"
            f"<h1>Validation report: {esc(self.file)} into {esc(self.layer)}</h1>"
            f"<p>Mode {esc(self.mode)}; {self.rows_read} rows read; "
            f"{self.rows_skipped} rows left out.</p><p>{esc(verdict)}</p>"
            "<table><tr><th>problem</th><th>field</th><th>rows</th><th>message</th>"
            "<th>rows (first)</th><th>values (first)</th><th>closest allowed</th></tr>"
            f"{rows}</table></body></html>"
        )


def _html_row(problem: Problem) -> str:
    esc = html.escape
    closest = ", ".join(f"{k} → {v}" for k, v in problem.suggestions.items())
    css = ' class="blocking"' if problem.blocking else ""
    return (
        f"<tr{css}><td>{esc(problem.code)}</td><td>{esc(problem.field_name or '')}</td>"
        f"<td>{problem.count}</td><td>{esc(problem.message)}</td>"
        f"<td>{esc(', '.join(map(str, problem.rows)))}</td>"
        f"<td>{esc(', '.join(map(repr, problem.values)))}</td><td>{esc(closest)}</td></tr>"
    )


BLOCKING = frozenset(
    {
        "missing_field",
        "no_geometry",
        "type",
        "range",
        "required",
        "enum",
        "invalid_geometry",
        "empty_geometry",
        "geometry_type",
        "outside_country",
        "outside_oblasts",
        "duplicate_key",
        "reference",
        "empty_file",
    }
)
"""Codes that stop a load; the others (`unmapped_column`, `repaired_geometry`) are notes."""
