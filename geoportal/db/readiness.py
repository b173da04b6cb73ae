"""Is the database ready for this code: reachable, and migrated exactly as the code expects.

The applied versions and checksums are read through `catalog.applied_migrations()`
(migration 0015, a SECURITY DEFINER function the server's roles may execute) and compared with
the migration files shipped with the code (`geoportal.db.migrate.list_migrations`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from geoportal.db.migrate import is_amendment, list_migrations

APPLIED_SQL = "SELECT version, checksum FROM catalog.applied_migrations()"


@dataclass(frozen=True)
class MigrationState:
    """How the database's migrations differ from the code's (all empty: in step)."""

    missing: tuple[str, ...] = ()
    """Migrations of the code not applied to the database (`NNNN_name`)."""
    changed: tuple[str, ...] = ()
    """Applied with another checksum than the code's file."""
    unknown: tuple[int, ...] = ()
    """Applied versions the code does not have (the database is ahead of the code)."""

    @property
    def ready(self) -> bool:
        """The database is migrated exactly as the code expects."""
        return not (self.missing or self.changed or self.unknown)

    def detail(self) -> str:
        """What is wrong, in one sentence for an operator."""
        parts = []
        if self.missing:
            parts.append(f"migrations not applied: {', '.join(self.missing)}")
        if self.changed:
            parts.append(f"applied with another checksum: {', '.join(self.changed)}")
        if self.unknown:
            versions = ", ".join(f"{v:04d}" for v in self.unknown)
            parts.append(f"applied migrations this code does not have: {versions}")
        return "; ".join(parts) or "migrations in step"


def expected_migrations(directory: Path | None = None) -> dict[int, tuple[str, str]]:
    """Version -> (`NNNN_name`, checksum) of the code's migration files."""
    return {
        m.version: (f"{m.version:04d}_{m.name}", m.checksum) for m in list_migrations(directory)
    }


def compare(expected: Mapping[int, tuple[str, str]], applied: Mapping[int, str]) -> MigrationState:
    """The difference between the code's migrations and the applied ones."""
    missing = tuple(name for v, (name, _) in sorted(expected.items()) if v not in applied)
    changed = tuple(
        name
        for v, (name, checksum) in sorted(expected.items())
        if v in applied and applied[v] != checksum and not is_amendment(v, applied[v])
    )
    unknown = tuple(sorted(v for v in applied if v not in expected))
    return MigrationState(missing, changed, unknown)


async def check_migrations(
    conn: psycopg.AsyncConnection[Any], expected: Mapping[int, tuple[str, str]]
) -> MigrationState:
    """Compare the migrations applied to `conn`'s database with `expected`.

    A database without `catalog.applied_migrations()` predates migration 0015: everything
    from 0015 on is reported missing (the versions before cannot be read by this role).
    """
    try:
        async with conn.transaction():
            cursor = await conn.execute(APPLIED_SQL)
            applied = {version: checksum for version, checksum in await cursor.fetchall()}
    except psycopg.errors.UndefinedFunction:
        return MigrationState(missing=tuple(n for v, (n, _) in sorted(expected.items()) if v >= 15))
    return compare(expected, applied)
