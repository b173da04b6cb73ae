"""The two raster tile servers of `benchmarks/raster_tiles.py`, as ASGI app factories.

- `ours`: the geoportal's map tile routes (`geoportal/server/raster_routes.py`) over the
  image bank in `$BENCH_RASTER_DATA_DIR`, without the rest of the app (no database is
  needed to draw a tile; the security middleware is left out on both sides);
- `titiler`: titiler.core's `TilerFactory` (FastAPI), the COG named by `?url=`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette


def ours() -> Starlette:
    """Our raster routes alone."""
    from geoportal.server.raster_routes import raster_routes
    from geoportal.settings import Settings

    data_dir = Path(os.environ["BENCH_RASTER_DATA_DIR"])
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=None)  # type: ignore[call-arg]
    routes, _ = raster_routes(settings)
    return Starlette(routes=routes)


def titiler() -> Any:
    """TiTiler's tiler on the same worker count."""
    from fastapi import FastAPI
    from titiler.core.factory import TilerFactory

    app = FastAPI()
    app.include_router(TilerFactory().router)
    return app
