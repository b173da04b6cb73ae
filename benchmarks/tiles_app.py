"""Our app for the tile benchmark: `geoportal.server.asgi:app_factory` with some layers'
minimum zoom lowered (`BENCH_TILE_MINZOOMS=agri_plots=2`), so that low zooms, which the
declarations do not serve, can be measured side by side with servers that draw every zoom."""

from __future__ import annotations

import os

from starlette.applications import Starlette


def minzooms_from_env() -> dict[str, int]:
    """`layer=zoom,...` from the environment."""
    text = os.environ.get("BENCH_TILE_MINZOOMS", "")
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {layer.strip(): int(zoom) for layer, zoom in pairs}


def app_factory() -> Starlette:
    """The geoportal app with the lowered zoom ranges (one call per worker process)."""
    from benchmarks.tile_cases import with_minzoom
    from geoportal.server.app import create_app
    from geoportal.settings import Settings
    from layers.catalogue import load_catalogue

    return create_app(Settings(), with_minzoom(load_catalogue(), minzooms_from_env()))
