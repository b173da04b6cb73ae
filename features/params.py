"""Bound parameters of one statement."""

from __future__ import annotations

from typing import Any

from psycopg import sql


class Params:
    """Collects bound parameter values and hands out named placeholders."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> sql.Placeholder:
        """Register ``value`` and return the placeholder that binds it."""
        name = f"p{len(self.values)}"
        self.values[name] = value
        return sql.Placeholder(name)

    def copy(self) -> Params:
        """A collector that starts with this one's values (for a derived statement)."""
        other = Params()
        other.values.update(self.values)
        return other
