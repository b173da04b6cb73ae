"""SQL statements of the analyses, loaded with `importlib.resources`."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def statement(name: str) -> str:
    """The text of `analyses/sql/<name>.sql`."""
    return resources.files("analyses.sql").joinpath(f"{name}.sql").read_text("utf-8")
