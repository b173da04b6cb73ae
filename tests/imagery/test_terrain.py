"""The terrain model from the real GEBCO DEM of Bishkek: chunked slope equals slope of the
whole grid (so chunk borders leave no trace), hillshade and items."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import rasterio

from demo.base import demo_data_dir
from imagery import catalog
from imagery.terrain import hillshade, slope_and_aspect
from imagery.workflows import ingest_terrain

DEM = demo_data_dir() / "bishkek_dem_gebco2023_15s.tif"


def test_chunked_terrain_equals_whole_grid(tmp_path: Path) -> None:
    items = ingest_terrain(DEM, tmp_path, when=dt.datetime(2023, 1, 1, tzinfo=dt.UTC), chunk=64)
    assert set(items) == {"elevation", "slope", "aspect", "hillshade"}
    with rasterio.open(DEM) as src:
        elevation, transform = src.read(1).astype("float64"), src.transform
    slope, aspect = slope_and_aspect(elevation, transform, geographic=True)

    def product(name: str) -> np.ndarray:
        with rasterio.open(catalog.asset_path(tmp_path, name, DEM.stem)) as src:
            return src.read(1)

    inner = (slice(1, -1), slice(1, -1))
    assert np.allclose(product("slope")[inner], slope[inner], atol=1e-4)
    assert np.allclose(product("aspect")[inner], aspect[inner], atol=1e-3)
    assert np.array_equal(product("hillshade")[inner], hillshade(slope, aspect)[inner])
    assert np.array_equal(product("elevation"), elevation.astype("float32"))
    assert 0 < np.nanmax(slope) < 45
    for item in items.values():
        catalog.validate(item)
        assert item.properties["proj:epsg"] == 4326


def test_slope_of_a_plane() -> None:
    """A plane rising 1 m per 10 m eastwards on a 10 m projected grid: 5.71° facing west."""
    plane = np.tile(np.arange(20, dtype="float64"), (5, 1))
    slope, aspect = slope_and_aspect(plane, rasterio.Affine(10, 0, 0, 0, -10, 0), geographic=False)
    assert np.allclose(slope, np.degrees(np.arctan(0.1)))
    assert np.allclose(aspect, 270.0)
