"""Entry point for ASGI servers: `uvicorn --factory geoportal.server.asgi:app_factory`."""

from starlette.applications import Starlette

from geoportal.server.app import create_app
from geoportal.settings import Settings


def app_factory() -> Starlette:
    """Build the app from the environment's settings (one call per worker process)."""
    return create_app(Settings())
