"""Zonal statistics with exact coverage against a brute-force count: each pixel split into
200 x 200 sub-pixels, the polygon's share of them its weight."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
import shapely
from affine import Affine

from imagery.zonal import zonal_statistics

TRANSFORM = Affine(10, 0, 460_000, 0, -10, 4_750_100)  # 10 x 10 pixels of 10 m


@pytest.fixture
def raster(tmp_path: Path) -> tuple[str, np.ndarray]:
    values = np.arange(100, dtype="float32").reshape(10, 10) / 100
    values[0, :3] = np.nan  # masked pixels
    path = tmp_path / "values.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
        crs="EPSG:32643", transform=TRANSFORM, nodata=np.nan,
    ) as dst:  # fmt: skip
        dst.write(values, 1)
    return str(path), values


def brute_force(values: np.ndarray, polygon: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Coverage fraction of every pixel by supersampling 200 x 200."""
    fine = TRANSFORM * Affine.scale(1 / 200)
    inside = rasterio.features.geometry_mask([polygon], (2000, 2000), fine, invert=True)
    weights = inside.reshape(10, 200, 10, 200).mean(axis=(1, 3))
    return weights, values


SHAPES = {
    "whole pixels": shapely.box(460_020, 4_750_030, 460_070, 4_750_080),
    "half pixels": shapely.box(460_005, 4_750_005, 460_047, 4_750_063),
    "triangle": shapely.Polygon([(460_003, 4_750_002), (460_097, 4_750_010), (460_040, 4_750_098)]),
    "over the masked row": shapely.box(460_000, 4_750_075, 460_055, 4_750_100),
}


@pytest.mark.parametrize("name", SHAPES)
def test_matches_brute_force(raster: tuple[str, np.ndarray], name: str) -> None:
    path, values = raster
    polygon = SHAPES[name]
    frame = gpd.GeoDataFrame({"id": [1]}, geometry=[polygon], crs=32643)
    stats = zonal_statistics(path, frame).iloc[0]
    weights, _ = brute_force(values, polygon)
    valid = ~np.isnan(values) & (weights > 0)
    w, v = weights[valid], values[valid]
    mean = np.sum(w * v) / np.sum(w)
    assert stats["mean"] == pytest.approx(mean, abs=2e-3)
    assert stats["std"] == pytest.approx(np.sqrt(np.sum(w * (v - mean) ** 2) / np.sum(w)), abs=2e-3)
    assert stats["valid_pixels"] == pytest.approx(np.sum(w), rel=5e-3)
    assert stats["valid_share"] == pytest.approx(np.sum(w) / np.sum(weights), rel=5e-3)
    assert v.min() <= stats["p10"] <= stats["median"] <= stats["p90"] <= v.max()


def test_whole_pixel_median_and_quantiles(raster: tuple[str, np.ndarray]) -> None:
    path, values = raster
    frame = gpd.GeoDataFrame({"id": [7]}, geometry=[SHAPES["whole pixels"]], crs=32643)
    stats = zonal_statistics(path, frame).iloc[0]
    block = values[2:7, 2:7]  # rows 2-6, cols 2-6
    assert stats["id"] == 7 and stats["valid_share"] == pytest.approx(1.0)
    assert stats["median"] == pytest.approx(np.median(block), abs=0.011)
    assert stats["p10"] == pytest.approx(np.quantile(block, 0.1), abs=0.011)
    assert stats["p90"] == pytest.approx(np.quantile(block, 0.9), abs=0.011)


def test_plots_outside_or_empty_are_left_out(raster: tuple[str, np.ndarray]) -> None:
    path, _ = raster
    frame = gpd.GeoDataFrame(
        {"id": [1, 2, 3]},
        geometry=[shapely.box(0, 0, 10, 10), shapely.Polygon(), SHAPES["triangle"]],
        crs=32643,
    )
    assert zonal_statistics(path, frame)["id"].tolist() == [3]
