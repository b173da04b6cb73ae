"""`geoportal`: run and manage the national geoportal from the command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from exports.errors import ExportsError
from features.errors import FeaturesError
from geoportal.cli import (
    config_cmd,
    db,
    demo,
    export_cmd,
    imagery_cmd,
    jobs_cmd,
    layers_cmd,
    preview_cmd,
    serve,
    tiles_cmd,
    users_cmd,
)
from geoportal.db.errors import DatabaseError
from geoportal.regions import RegionNotFoundError
from imagery.errors import ImageryError
from ingestion.errors import IngestionError
from jobs.errors import JobsError
from layers.errors import LayersError
from tiles.errors import TilesError

console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="geoportal",
    help=(
        "The national geoportal of the Kyrgyz Republic: an embedded PostGIS, the national "
        "layers and an OGC API server.\n\n"
        "First steps: `geoportal db up`, `geoportal db migrate`, `geoportal demo load`, "
        "`geoportal serve`, then open http://127.0.0.1:5000. Settings come from GEOPORTAL_* "
        "environment variables (see docs/configuration.md)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
app.add_typer(db.app, name="db")
app.add_typer(demo.app, name="demo")
app.add_typer(imagery_cmd.app, name="imagery")
app.add_typer(layers_cmd.app, name="layers")
app.add_typer(config_cmd.app, name="config")
app.add_typer(tiles_cmd.app, name="tiles")
app.add_typer(users_cmd.users_app, name="users")
app.add_typer(users_cmd.keys_app, name="keys")
app.add_typer(jobs_cmd.jobs_app, name="jobs")
app.command("serve")(serve.serve)
app.command("worker")(jobs_cmd.worker)
app.command("export", epilog=export_cmd.EXAMPLES)(export_cmd.export)
app.command("preview")(preview_cmd.preview_command)


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
) -> None:
    """Set up logging for every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
    )


def run() -> None:
    """Console entry point: known errors become one clear line and exit status 1."""
    try:
        app()
    except (
        DatabaseError,
        ExportsError,
        FeaturesError,
        IngestionError,
        ImageryError,
        JobsError,
        LayersError,
        TilesError,
        RegionNotFoundError,
    ) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)
