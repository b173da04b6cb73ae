"""Versioned schema migrations: `geoportal/db/migrations/NNNN_name.sql`, applied in order.

Each file runs in its own transaction and is recorded with its checksum in
`geoportal_meta.schema_migrations`; an applied file that was edited afterwards is an error
(write a new migration instead). A session advisory lock keeps two migrators apart.

The one exception is `AMENDED`: a migration whose text was changed without changing the schema
it leaves (only how it gets there), listed with the checksums of its earlier texts. A database
that applied an earlier text is in step; the migrator records the current checksum.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg

from geoportal.db.errors import MigrationError

log = logging.getLogger(__name__)

MIGRATION_LOCK = 7_310_001  # pg_advisory_lock key of the migrator
FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# version -> checksums of earlier texts that leave the same schema (see the module docstring)
AMENDED: dict[int, frozenset[str]] = {
    # 0019's backfill ran with every row trigger on (hours on a national register); it now
    # runs with them off and tells the caches once (amended 2026-12-06)
    19: frozenset({"e8f73882cccb69fef5051f472c2c38377123304ede40e20d0e0b4693ebe84d1a"}),
}


def is_amendment(version: int, applied_checksum: str) -> bool:
    """Whether `applied_checksum` is an earlier text of migration `version` (see `AMENDED`)."""
    return applied_checksum in AMENDED.get(version, frozenset())


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations_dir() -> Path:
    """The migrations shipped with the package."""
    return Path(str(resources.files("geoportal.db") / "migrations"))


def list_migrations(directory: Path | None = None) -> list[Migration]:
    """All migration files in version order; gaps or duplicates are an error."""
    found = []
    for path in sorted((directory or migrations_dir()).glob("*.sql")):
        match = FILE_PATTERN.match(path.name)
        if not match:
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text("utf-8")))
    expected = 1
    for migration in found:
        if migration.version != expected:
            raise MigrationError(
                f"migration {migration.version:04d} found where "
                f"{expected:04d} was expected (gap or duplicate)"
            )
        expected += 1
    return found


def applied_migrations(conn: psycopg.Connection) -> dict[int, str]:
    """Version -> checksum of the migrations recorded in the database."""
    exists = conn.execute("SELECT to_regclass('geoportal_meta.schema_migrations')").fetchone()
    if not exists or exists[0] is None:
        return {}
    rows = conn.execute("SELECT version, checksum FROM geoportal_meta.schema_migrations")
    return {version: checksum for version, checksum in rows.fetchall()}


def migrate(conninfo: str, directory: Path | None = None) -> list[Migration]:
    """Apply the pending migrations; return the ones applied (empty when up to date).

    Raises:
        MigrationError: an applied migration was edited, or a migration failed (that
            migration is rolled back; earlier ones stay applied).
    """
    migrations = list_migrations(directory)
    applied: list[Migration] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            done = applied_migrations(conn)
            for migration in migrations:
                if migration.version in done:
                    if is_amendment(migration.version, done[migration.version]):
                        _record_amendment(conn, migration)
                    elif done[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} was changed "
                            "after it was applied; add a new migration instead"
                        )
                    continue
                _apply(conn, migration)
                applied.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
    return applied


def _record_amendment(conn: psycopg.Connection, migration: Migration) -> None:
    log.info(
        "migration %04d_%s was amended; recording its current checksum",
        migration.version,
        migration.name,
    )
    conn.execute(
        "UPDATE geoportal_meta.schema_migrations SET checksum = %s WHERE version = %s",
        [migration.checksum, migration.version],
    )


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    log.info("applying migration %04d_%s", migration.version, migration.name)
    try:
        with conn.transaction():
            conn.execute(migration.sql.encode())  # a fixed file of ours, several statements
            conn.execute(
                "INSERT INTO geoportal_meta.schema_migrations (version, name, checksum) "
                "VALUES (%s, %s, %s)",
                [migration.version, migration.name, migration.checksum],
            )
    except psycopg.Error as exc:
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} failed: {exc}"
        ) from exc
