"""Small synthetic scenes (demo/imagery) for the imagery tests: 96 x 96 pixels at 10 m in UTM
43N, a vegetation gradient, clouds, shadows, a no-data wedge and, on demand, a fire scar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import psycopg
import shapely

from demo.imagery.scenes import Grid, SceneSpec, SceneTruth
from demo.imagery.write import write_scene

GRID = Grid(x0=460_000.0, y0=4_750_000.0, pixel_m=10.0, size=96)
BEFORE = dt.datetime(2025, 6, 24, 6, tzinfo=dt.UTC)
AFTER = dt.datetime(2025, 7, 29, 6, tzinfo=dt.UTC)
SCAR = shapely.Point(GRID.x0 + 640, GRID.y0 - 620).buffer(180, quad_segs=16)
"""The fire scar of the tests (UTM 43N): a disc of 180 m radius, about 10 ha."""


def gradient(size: int = GRID.size) -> np.ndarray:
    """A vegetation fraction from 0.1 (west) to 0.9 (east)."""
    return np.tile(np.linspace(0.1, 0.9, size, dtype="float32"), (size, 1))


def make_scene(folder: Path, spec: SceneSpec, seed: int = 7) -> SceneTruth:
    """Write one small synthetic scene into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_scene(folder, spec, GRID, gradient(), seed)


PIPELINE_TABLES = (
    "agriculture.agri_plot_ndvi_anomalies",
    "agriculture.agri_plot_ndvi",
    "disaster.burned_areas",
    "environment.landscape_changes",
)
"""The tables the imagery pipelines fill (the demo load leaves them empty)."""


def clear_pipeline_tables(conninfo: str) -> None:
    """Empty them again (tests elsewhere replace `agri_plots`, which they reference)."""
    with psycopg.connect(conninfo) as conn:
        for table in PIPELINE_TABLES:
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)
