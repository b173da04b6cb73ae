"""Backups of the geoportal database: `pg_dump` custom format out, `pg_restore` in.

A restore never touches the live database until the copy is complete: the roles are made
first (they are cluster-wide, not in the dump), the dump is restored into a new database,
and only then are the names swapped (the previous database is kept as
`<name>_before_restore_<time>` until an operator drops it). A failed restore leaves the live
database as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg
from psycopg import sql

from geoportal.db.cluster import find_bin_dir
from geoportal.db.errors import DatabaseError

log = logging.getLogger(__name__)


class BackupError(DatabaseError):
    """pg_dump or pg_restore failed, or the backup file is not one."""


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did."""

    database: str
    kept_as: str | None
    """The name the replaced database now has (None: there was none)."""


def tool(name: str, bin_dir: Path | None = None) -> str:
    """The path of `pg_dump` / `pg_restore`: the embedded cluster's bin dir, else PATH."""
    try:
        candidate = find_bin_dir(bin_dir) / name
        if candidate.exists():
            return str(candidate)
    except DatabaseError:
        pass
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools")
    return found


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        errors = [line for line in lines if "error" in line.lower()] or lines
        detail = "; ".join(errors[:3])[:1000] if errors else f"exit {result.returncode}"
        log.error("%s failed:\n%s", what, "\n".join(lines[-40:]))
        raise BackupError(f"{what} failed: {detail}")


def backup(conninfo: str, path: Path, bin_dir: Path | None = None) -> Path:
    """Dump the database of `conninfo` to `path` (pg_dump custom format, compressed).

    Written to a temporary name first: an interrupted backup never looks complete.
    """
    path = path.absolute()
    partial = path.with_name(path.name + ".partial")
    _run(
        [tool("pg_dump", bin_dir), "--format=custom", "--file", str(partial), "--dbname", conninfo],
        "pg_dump",
    )
    partial.replace(path)
    log.info("backup written to %s (%d bytes)", path, path.stat().st_size)
    return path


def ensure_roles(conn: psycopg.Connection) -> None:
    """Create the geoportal roles with their limits, when missing (`roles.sql`)."""
    conn.execute(resources.files("geoportal.db").joinpath("roles.sql").read_text("utf-8"))


def _exists(conn: psycopg.Connection, name: str) -> bool:
    return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def _drop_connections(conn: psycopg.Connection, name: str) -> None:
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        [name],
    )


def restore(
    admin_conninfo: str, database: str, path: Path, bin_dir: Path | None = None
) -> RestoreResult:
    """Restore `path` as the database `database`, keeping the one it replaces.

    `admin_conninfo` is a superuser's connection to the maintenance database (`postgres`).

    Raises:
        BackupError: the file is missing or not a pg_dump archive, or pg_restore failed (the
            live database is untouched and the partial copy is dropped).
    """
    if not path.is_file():
        raise BackupError(f"no backup file {path}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    staging, kept = f"{database}_restoring_{stamp}", f"{database}_before_restore_{stamp}"
    _run([tool("pg_restore", bin_dir), "--list", str(path)], f"reading {path.name}")
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        ensure_roles(conn)
        conn.execute(
            sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(staging)
            )
        )
    target = psycopg.conninfo.make_conninfo(admin_conninfo, dbname=staging)
    try:
        _run(
            [tool("pg_restore", bin_dir), "--exit-on-error", "--dbname", target, str(path)],
            "pg_restore",
        )
    except BackupError:
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(staging)))
        raise
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        replaced = _exists(conn, database)
        if replaced:
            _drop_connections(conn, database)
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(database), sql.Identifier(kept)
                )
            )
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(staging), sql.Identifier(database)
            )
        )
    log.info("restored %s into %s", path, database)
    return RestoreResult(database, kept if replaced else None)
