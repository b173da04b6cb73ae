"""The demo season: a few small synthetic scenes over the densest cluster of demo plots,
ingested through the imagery pipeline (COGs, STAC items, NDVI per plot, change), and the real
GEBCO elevation model as the terrain model. SYNTHETIC scenes, real DEM."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import psycopg
import pyogrio
import shapely
import shapely.affinity

from demo.base import demo_data_dir
from demo.imagery.scenes import (
    Grid,
    SceneSpec,
    SceneTruth,
    choose_grid,
    crop_of_plots,
    plot_raster,
    vegetation,
)
from demo.imagery.write import write_scene
from imagery import bank
from imagery.catalog import items as bank_items
from imagery.pipeline import Progress, ingest_scene, quiet
from imagery.workflows import detect_change, ingest_terrain, plot_ndvi, write_change

DEMO_DEM = "kg_dem_gebco2023_30s.tif"
SEASON = (
    SceneSpec(dt.datetime(2025, 5, 20, 6, tzinfo=dt.UTC), clouds=1),
    SceneSpec(dt.datetime(2025, 6, 24, 6, tzinfo=dt.UTC), clouds=2),
    SceneSpec(dt.datetime(2025, 7, 1, 5, 50, tzinfo=dt.UTC), sensor="landsat", clouds=1),
    SceneSpec(dt.datetime(2025, 7, 29, 6, tzinfo=dt.UTC), clouds=1, fire_scar=None),
)
"""Three Sentinel-2 dates and one Landsat date; the last date carries the fire scar."""


@dataclass(frozen=True)
class SeasonResult:
    """What the demo season produced."""

    scenes: list[str]
    plot_rows: int
    burned_areas: int
    landscape_changes: int
    terrain: list[str]


def fire_scar(grid: Grid) -> shapely.Polygon:
    """The fire scar of the demo season: an ellipse in the lower right part of the grid
    (about 6% of the scene), UTM 43N."""
    extent = grid.size * grid.pixel_m
    centre = shapely.Point(grid.x0 + 0.72 * extent, grid.y0 - 0.7 * extent)
    circle = centre.buffer(0.12 * extent, quad_segs=16)
    return shapely.affinity.scale(circle, 1.0, 0.7)


def synthetic_season(
    plots: gpd.GeoDataFrame,
    seasons: gpd.GeoDataFrame | None,
    out_dir: Path,
    *,
    size: int = 256,
    seed: int = 42,
    specs: tuple[SceneSpec, ...] = SEASON,
) -> list[SceneTruth]:
    """Write the season's synthetic scenes (the last one with the fire scar) into
    `out_dir`; returns what each holds."""
    grid = choose_grid(plots, size)
    ids = plot_raster(plots, grid)
    scar = fire_scar(grid)
    truths = []
    for number, spec in enumerate(specs):
        if number == len(specs) - 1 and spec.fire_scar is None:
            spec = SceneSpec(spec.when, spec.sensor, spec.layout, spec.clouds, scar)
        veg = vegetation(ids, crop_of_plots(seasons, spec.when.date()), spec.when.date(), seed)
        truths.append(write_scene(out_dir, spec, grid, veg, seed + number))
    return truths


def _read(folder: Path, layer: str) -> gpd.GeoDataFrame | None:
    path = folder / f"{layer}.gpkg"
    if not path.exists():
        return None
    return pyogrio.read_dataframe(path, fid_as_index=False)


def load_season(
    conninfo: str,
    data_dir: Path,
    generated: Path,
    *,
    size: int = 256,
    seed: int = 42,
    progress: Progress = quiet,
) -> SeasonResult:
    """Generate the demo season's scenes over the generated plots, ingest them into the
    image bank of `data_dir`, write NDVI per plot, the change between the last two
    Sentinel-2 dates, and the terrain products of the real GEBCO DEM."""
    plots = _read(generated, "agri_plots")
    if plots is None or plots.empty:
        raise FileNotFoundError(f"no generated agri_plots.gpkg in {generated}")
    sources = data_dir / "imagery-sources" / f"demo-seed{seed}"
    truths = synthetic_season(
        plots, _read(generated, "agri_plot_seasons"), sources, size=size, seed=seed
    )
    items, rows = [], 0
    with psycopg.connect(conninfo) as conn:
        for number, truth in enumerate(truths):
            progress(100 * number / (len(truths) + 2), f"ingesting {truth.path.name}")
            result = ingest_scene(truth.path, data_dir)
            items.append(result.scene)
            rows += plot_ndvi(conn, data_dir, result.scene)
        s2 = [item for item in items if item.collection_id == "sentinel-2-l2a"]
        progress(100 * len(truths) / (len(truths) + 2), "change between the last two dates")
        change = detect_change(data_dir, s2[-2].id, s2[-1].id)
        burned, changes = write_change(conn, change)
    progress(100 * (len(truths) + 1) / (len(truths) + 2), "terrain of the GEBCO DEM")
    terrain = ingest_terrain(
        demo_data_dir() / DEMO_DEM, data_dir, when=dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    )
    with psycopg.connect(conninfo) as conn:
        bank.publish(conn, bank_items(data_dir))
    progress(100, "imagery done")
    return SeasonResult([i.id for i in items], rows, burned, changes, sorted(terrain))
