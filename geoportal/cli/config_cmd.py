"""`geoportal config ...`: check and show the configuration."""

from __future__ import annotations

import typer
from rich.console import Console

from geoportal.settings import Settings
from layers.catalogue import load_catalogue

console = Console()
app = typer.Typer(help="Check the settings and the layer declarations.", no_args_is_help=True)


@app.command()
def validate() -> None:
    """Validate the settings (GEOPORTAL_* variables) and every layer declaration; fail loudly
    on the first problem."""
    from pygeoapi.config import validate_config

    from analyses import PROCESSES
    from geoportal.pygeoapi_.processes import add_processes
    from geoportal.server.pygeoapi_config import build_config

    settings = Settings()
    catalogue = load_catalogue()
    config = build_config(
        catalogue,
        public_url=settings.public_url,
        host=settings.host,
        port=settings.port,
        conninfo="",
        extents={},
        statement_timeout_ms=settings.statement_timeout_ms,
        base_path=settings.pygeoapi_base,
    )
    add_processes(config, "", settings.processes, settings.server_dir)
    validate_config(config)
    console.print(
        f"settings valid; {len(catalogue)} vector and {len(catalogue.rasters)} raster "
        f"layer declarations valid; {len(PROCESSES)} processes; generated pygeoapi "
        "configuration valid"
    )


@app.command()
def show() -> None:
    """Print the effective settings (connection strings with passwords masked)."""
    settings = Settings()
    for name, value in settings.model_dump().items():
        if "url" in name and value and "@" in str(value):
            value = "***masked***"
        console.print(f"{name} = {value}")
