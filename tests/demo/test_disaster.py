"""The disaster generator: determinism, loadability, and hazard zones where the terrain puts
them (floods in low valleys, avalanches high up, seismic bands tiling the country)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio.features
import shapely

from demo import disaster
from demo.context import SCALES, Context
from demo.sports import settlement_table
from layers.catalogue import Catalogue
from tests.support.generated import assert_loads_as_declared

SEED = 5
LAYERS = ["hazard_zones", "early_warning_areas"]
HAZARDS = ["mudflow", "flood", "landslide", "avalanche", "seismic", "fire"]


def _dem_mean(ctx: Context, geometry: shapely.Geometry) -> float:
    values, transform, _ = ctx.dem
    mask = rasterio.features.geometry_mask([geometry], values.shape, transform, invert=True)
    return float(values[mask].mean())


def test_deterministic(frames: dict[str, pd.DataFrame], ctx: Context) -> None:
    again_ctx = Context(scale=SCALES["small"], seed=SEED)
    again_ctx.__dict__["streams"] = ctx.streams  # the shared DEM streams: derived once
    again = disaster.generate(again_ctx)
    for layer_id in LAYERS:
        pd.testing.assert_frame_equal(pd.DataFrame(frames[layer_id]), pd.DataFrame(again[layer_id]))


@pytest.mark.parametrize("layer_id", LAYERS)
def test_loads_as_declared(
    layer_id: str, frames: dict[str, pd.DataFrame], catalogue: Catalogue, tmp_path: Path
) -> None:
    assert_loads_as_declared(frames[layer_id], catalogue.get(layer_id), tmp_path)
    assert {"id", "geometry"} <= set(frames[layer_id].columns)


@pytest.mark.parametrize(
    ("layer_id", "low", "high"), [("hazard_zones", 500, 8000), ("early_warning_areas", 20, 111)]
)
def test_counts_and_geometry(
    layer_id: str, low: int, high: int, frames: dict[str, pd.DataFrame], ctx: Context
) -> None:
    frame = frames[layer_id]
    assert low <= len(frame) <= high
    assert set(frame.geom_type) == {"MultiPolygon"}
    assert frame.is_valid.all() and not frame.is_empty.any()
    country = ctx.country.geometry.iloc[0].buffer(1e-6)
    assert frame.within(country).all()


@pytest.mark.parametrize("hazard", HAZARDS)
def test_every_hazard_has_zones_and_levels(hazard: str, zones_m: gpd.GeoDataFrame) -> None:
    zones = zones_m[zones_m["hazard_type"] == hazard]
    assert len(zones) >= 3 and zones["hazard_level"].nunique() >= 3
    has_intensity = zones["seismic_intensity_msk64"].notna()
    assert has_intensity.all() if hazard == "seismic" else not has_intensity.any()


@pytest.mark.parametrize("hazard", HAZARDS)
def test_zones_of_one_type_do_not_overlap(hazard: str, zones_m: gpd.GeoDataFrame) -> None:
    zones = zones_m[zones_m["hazard_type"] == hazard]
    union_area = shapely.union_all(zones.geometry.values).area
    assert zones.area.sum() == pytest.approx(union_area, rel=1e-4)


def test_seismic_zones_tile_the_country(zones_m: gpd.GeoDataFrame, ctx: Context) -> None:
    seismic = zones_m[zones_m["hazard_type"] == "seismic"]
    country_area = ctx.to_metric(ctx.country).area.iloc[0]
    assert seismic.area.sum() == pytest.approx(country_area, rel=1e-3)
    shares = seismic.groupby("seismic_intensity_msk64").apply(lambda g: g.area.sum())
    assert shares[["8", "9"]].sum() / country_area > 0.7
    assert set(shares.index) == {"7", "8", "9", ">=9"}


def test_flood_zones_follow_streams_in_low_valleys(
    frames: dict[str, pd.DataFrame], ctx: Context
) -> None:
    zones = frames["hazard_zones"]
    floods = zones[zones["hazard_type"] == "flood"]
    streams = shapely.STRtree(ctx.streams.geometry.values)
    touching = np.unique(streams.query(floods.geometry.values, "intersects")[0])
    assert len(touching) == len(floods)
    assert _dem_mean(ctx, floods.union_all()) < _dem_mean(ctx, ctx.country.geometry.iloc[0])


def test_avalanche_zones_lie_high(frames: dict[str, pd.DataFrame], ctx: Context) -> None:
    zones = frames["hazard_zones"]
    avalanches = zones[zones["hazard_type"] == "avalanche"].union_all()
    values, transform, _ = ctx.dem
    mask = rasterio.features.geometry_mask([avalanches], values.shape, transform, invert=True)
    assert (values[mask] > 2000).mean() > 0.9


def test_landslides_in_the_south_mudflows_below_ranges(
    frames: dict[str, pd.DataFrame], ctx: Context
) -> None:
    zones = frames["hazard_zones"]
    landslides = zones[zones["hazard_type"] == "landslide"]
    oblasts = ctx.oblasts
    south = oblasts[oblasts["name"].isin(["Osh", "Jalal-Abad", "Batken"])].union_all()
    parts = landslides.geometry.values  # built in UTM: straight edges lie a hair outside
    outside = shapely.area(shapely.difference(parts, south)).sum()
    assert outside < 1e-4 * shapely.area(parts).sum()
    mudflows = zones[zones["hazard_type"] == "mudflow"].union_all()
    south_of_bishkek = shapely.box(74.4, 42.55, 74.8, 42.80)
    assert mudflows.intersects(south_of_bishkek)


def test_early_warning_areas_cover_exposed_settlements(
    frames: dict[str, pd.DataFrame], ctx: Context
) -> None:
    areas = ctx.to_metric(frames["early_warning_areas"])
    zones = ctx.to_metric(frames["hazard_zones"])
    exposing = zones[zones["hazard_type"].isin(["mudflow", "flood"])]
    tree = shapely.STRtree(exposing.geometry.values)
    for area in areas.geometry.values:
        hits = exposing.geometry.values[tree.query(area, "intersects")]
        assert shapely.area(shapely.intersection(hits, area)).max() > 1000.0
    settlements = settlement_table(ctx)
    near = shapely.STRtree(settlements.geometry.values).query(areas.geometry.values, "intersects")
    assert set(near[0]) == set(range(len(areas)))
    named = settlements.set_index("name_en").geometry
    for name, area in zip(areas["settlement"], areas.geometry, strict=True):
        assert area.intersects(named[[name]]).any()
