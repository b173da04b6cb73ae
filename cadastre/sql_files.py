"""The cadastre's SQL files (`cadastre/sql/*.sql`), read once."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def sql_text(name: str) -> str:
    """The text of `cadastre/sql/<name>.sql`."""
    return resources.files("cadastre").joinpath("sql", f"{name}.sql").read_text("utf-8")
