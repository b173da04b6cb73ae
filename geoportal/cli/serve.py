"""`geoportal serve`: the OGC API server."""

from __future__ import annotations

import os

import typer
import uvicorn

from geoportal.settings import Settings


def serve(
    host: str = typer.Option(None, help="Interface to listen on [default: 127.0.0.1]."),
    port: int = typer.Option(None, help="Port [default: 5000]."),
    workers: int = typer.Option(None, help="Worker processes [default: 1]."),
) -> None:
    """Serve the OGC API (landing page, collections, items, OpenAPI at /openapi) with uvicorn.

    The pygeoapi configuration is generated from the layer catalogue at start-up. The
    database must be up and loaded (`geoportal db up`, `db migrate`, `demo load`).
    """
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"GEOPORTAL_{name}"] = str(value)
    settings = Settings()
    uvicorn.run(
        "geoportal.server.asgi:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        proxy_headers=True,
    )
