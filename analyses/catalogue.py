"""The table of analyses served as OGC API Processes (`PROCESSES`), in one place.

Each `Process` carries its OGC API Processes description (OGC 18-062r2, `process.yaml`:
inputs and outputs with JSON schemas), a `parse` step that checks a request's inputs and
returns them normalised (JSON-able, stored on the job), and a `run` step that computes the
results on a database connection. The server lists, checks and queues; a worker runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from analyses import acceptance, exposure, irrigation, maintenance
from analyses.errors import UnknownProcessError

Progress = Callable[[int, str], None]
Parse = Callable[[Mapping[str, Any]], dict[str, Any]]
Run = Callable[[psycopg.Connection[Any], Mapping[str, Any], Progress], dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Process:
    """One analysis: its OGC description and its two steps."""

    id: str
    description: Mapping[str, Any]
    parse: Parse
    run: Run

    @property
    def title(self) -> str:
        """The English title."""
        return str(self.description["title"])


PROCESSES: dict[str, Process] = {
    module.PROCESS_ID: Process(
        id=module.PROCESS_ID,
        description=module.DESCRIPTION,
        parse=module.parse,
        run=module.run,
    )
    for module in (exposure, maintenance, acceptance, irrigation)
}
"""Process id -> process, in the order `/processes` lists them."""


def get_process(process_id: str) -> Process:
    """The process with this id.

    Raises:
        UnknownProcessError: no such process.
    """
    try:
        return PROCESSES[process_id]
    except KeyError as exc:
        raise UnknownProcessError(f"no process {process_id!r}") from exc
