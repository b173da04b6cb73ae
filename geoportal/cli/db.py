"""`geoportal db ...`: the embedded PostGIS cluster and the schema migrations."""

from __future__ import annotations

from pathlib import Path

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from geoportal.catalogue.records import sync_datasets
from geoportal.db import backup as backups
from geoportal.db.database import Database
from geoportal.db.geometry_bounds import set_country_buffer
from geoportal.db.migrate import applied_migrations, list_migrations, migrate, migrations_dir
from geoportal.db.schema_sync import diff_schema
from geoportal.settings import Settings
from layers.catalogue import load_catalogue

console = Console()
app = typer.Typer(
    help=(
        "Manage the database. Without GEOPORTAL_DATABASE_URL (or DATABASE_URL) the geoportal "
        "runs its own private PostGIS cluster in the data directory (GEOPORTAL_DATA_DIR, "
        "default ./var), on a unix socket; with it, the same commands use that server."
    ),
    no_args_is_help=True,
)


@app.command()
def up() -> None:
    """Create (first time) and start the embedded PostGIS cluster, then create the database.

    Safe to run again: a running cluster is left alone; a stale pid file from a crash is
    cleaned up. With DATABASE_URL set, only checks that the server answers.
    """
    settings = Settings()
    database = Database(settings)
    cluster = database.cluster
    if cluster is None:
        with psycopg.connect(database.admin_conninfo(), connect_timeout=10) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        console.print(
            f"using the external PostgreSQL {version[0] if version else '?'} "
            "from DATABASE_URL; nothing to start"
        )
        return
    started = cluster.up()
    created = database.ensure_database()
    state = "started" if started else "already running"
    console.print(f"embedded PostGIS {state}: {cluster.cluster_dir} (socket {cluster.socket_dir})")
    if created:
        console.print(f"created database {settings.db_name}")


@app.command()
def down() -> None:
    """Stop the embedded cluster (fast shutdown; open connections are closed)."""
    cluster = Database(Settings()).cluster
    if cluster is None:
        console.print("using an external server from DATABASE_URL; nothing to stop")
        return
    console.print("stopped" if cluster.down() else "not running")


@app.command()
def status() -> None:
    """Show where the cluster lives, whether it runs, and the migration state."""
    settings = Settings()
    database = Database(settings)
    table = Table(show_header=False, box=None)
    cluster = database.cluster
    if cluster is None:
        table.add_row("database", "external (DATABASE_URL)")
        running = True
    else:
        state = cluster.status()
        running = state.running
        table.add_row("data directory", str(settings.data_dir))
        table.add_row("cluster directory", str(state.cluster_dir))
        table.add_row("socket directory", str(state.socket_dir))
        table.add_row("run as user", state.run_user)
        table.add_row("initialised", "yes" if state.initialised else "no")
        table.add_row("running", f"yes (pid {state.pid})" if state.running else "no")
        table.add_row("PostgreSQL", state.version or "-")
    if running:
        try:
            with psycopg.connect(database.admin_conninfo(), connect_timeout=5) as conn:
                done = applied_migrations(conn)
            table.add_row("migrations", f"{len(done)} applied of {len(list_migrations())}")
        except psycopg.OperationalError as exc:
            table.add_row("migrations", f"unknown ({str(exc).strip().splitlines()[0]})")
    console.print(table)


@app.command("migrate")
def migrate_command() -> None:
    """Apply the pending schema migrations (versioned SQL files), each in a transaction."""
    settings = Settings()
    database = Database(settings)
    applied = migrate(database.admin_conninfo())
    with psycopg.connect(database.admin_conninfo()) as conn:
        sync_datasets(conn, load_catalogue())
        if set_country_buffer(conn, settings.country_buffer_m):
            console.print(f"country bounds: border buffered by {settings.country_buffer_m:g} m")
    if not applied:
        console.print("database schema is up to date")
    for migration in applied:
        console.print(f"applied {migration.version:04d}_{migration.name}")


@app.command()
def makemigration(
    name: str = typer.Argument(..., help="snake_case name of the migration, e.g. add_roads"),
    directory: Path = typer.Option(None, help="Where to write it (default: the package's)."),
) -> None:
    """Write a new migration with the DDL for layers or fields declared but not yet in the
    database (a migrated database is compared with `layers/declarations/*.yaml`)."""
    database = Database(Settings())
    with psycopg.connect(database.admin_conninfo()) as conn:
        diff = diff_schema(conn, load_catalogue())
    for column in diff.undeclared_columns:
        console.print(f"[yellow]note:[/] column {column} is in the database but not declared")
    if not diff.statements:
        console.print("the database matches the declarations; no migration written")
        return
    target = directory or migrations_dir()
    version = len(list_migrations(target)) + 1
    path = target / f"{version:04d}_{name}.sql"
    path.write_text(
        "-- Generated by `geoportal db makemigration`; review before committing.\n\n"
        + "\n".join(diff.statements),
        "utf-8",
    )
    console.print(f"wrote {path}")


@app.command("backup")
def backup_command(
    path: Path = typer.Argument(..., help="The backup file to write (pg_dump custom format)."),
) -> None:
    """Back up the whole geoportal database (layers, restricted data, users and keys, audit
    trail, jobs) into one compressed file. Safe while the server runs (a consistent
    snapshot). Restore it with `geoportal db restore FILE`."""
    settings = Settings()
    written = backups.backup(Database(settings).admin_conninfo(), path, settings.pg_bin_dir)
    console.print(f"backup written to {written} ({written.stat().st_size:,} bytes)")


@app.command("restore")
def restore_command(
    path: Path = typer.Argument(..., help="A file written by `geoportal db backup`."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Replace the geoportal database by a backup. The roles are created first; the backup
    is restored into a new database and only then swapped in, so a failed restore changes
    nothing. The replaced database is kept under another name (printed) until you drop it.
    Stop the server first: its connections are closed."""
    settings = Settings()
    if not yes and not typer.confirm(
        f"Replace the database {settings.db_name} with {path}?", default=False
    ):
        raise typer.Exit(1)
    database = Database(settings)
    result = backups.restore(
        database.admin_conninfo("postgres"), settings.db_name, path, settings.pg_bin_dir
    )
    console.print(f"restored {path} into {result.database}")
    if result.kept_as:
        console.print(
            f"the previous database is kept as {result.kept_as}; drop it when satisfied "
            f"(DROP DATABASE {result.kept_as})"
        )
