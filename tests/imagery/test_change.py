"""Two dates: the burned-area polygons found by dNBR match the fire scar the generator drew,
and the NDVI drop finds it too; a harvest is not a fire."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import shapely
import shapely.ops
from rasterio.features import geometry_mask

from demo.imagery.scenes import SceneSpec, SceneTruth
from imagery.db import severity
from imagery.pipeline import ingest_scene
from imagery.workflows import ChangeSettings, detect_change
from tests.support.imagery import AFTER, BEFORE, GRID, SCAR, make_scene


def masked(truth: SceneTruth) -> np.ndarray:
    return truth.cloud | truth.shadow | truth.nodata


def test_burned_area_matches_the_scar(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before_truth = make_scene(tmp_path / "a", SceneSpec(BEFORE, clouds=1))
    before = ingest_scene(before_truth.path, data)
    after_truth = make_scene(tmp_path / "b", SceneSpec(AFTER, clouds=1, fire_scar=SCAR), seed=8)
    after = ingest_scene(after_truth.path, data)
    result = detect_change(data, before.scene.id, after.scene.id)
    assert len(result.burned) == 1
    burned = result.burned[0]
    to_utm = pyproj.Transformer.from_crs("OGC:CRS84", 32643, always_xy=True).transform
    found = shapely.ops.transform(to_utm, burned.geometry)
    # the scar as seen: its pixels not masked (cloud, shadow, no data) on either date
    scar = geometry_mask([SCAR], (GRID.size, GRID.size), GRID.transform, invert=True)
    seen = scar & ~masked(before_truth) & ~masked(after_truth)
    traced = geometry_mask([found], seen.shape, GRID.transform, invert=True)
    assert seen.sum() > 0.5 * scar.sum()
    assert (traced & seen).sum() / (traced | seen).sum() > 0.97
    assert burned.area_ha == found.area / 10_000 or abs(burned.area_ha - found.area / 1e4) < 0.05
    assert burned.mean_change > 0.66 and severity(burned.mean_change) == "high"
    assert result.before == (before.scene.id, BEFORE.date())
    losses = [shapely.ops.transform(to_utm, p.geometry) for p in result.vegetation_loss]
    assert any(loss.intersection(found).area > 0.95 * found.area for loss in losses)
    assert all(p.area_ha >= 0.5 for p in result.vegetation_loss)


def test_minimum_area_and_threshold_settings(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = ingest_scene(make_scene(tmp_path / "a", SceneSpec(BEFORE, clouds=0)).path, data)
    after = ingest_scene(
        make_scene(tmp_path / "b", SceneSpec(AFTER, clouds=0, fire_scar=SCAR)).path, data
    )
    big = ChangeSettings(burned_min_ha=SCAR.area / 1e4 + 1, change_min_ha=SCAR.area / 1e4 + 1)
    result = detect_change(data, before.scene.id, after.scene.id, big)
    assert result.burned == [] and result.vegetation_loss == []
    strict = ChangeSettings(dnbr_min=5.0)
    assert detect_change(data, before.scene.id, after.scene.id, strict).burned == []
