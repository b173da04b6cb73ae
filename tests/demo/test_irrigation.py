"""The irrigation demo generator: canals, structures, associations, sensors and readings at
the small scale, fixed seed."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import ndimage

from demo import irrigation
from demo.context import SCALES, UTM_43N, Context
from layers.catalogue import load_catalogue
from tests.support.generated import assert_loads_as_declared

SEED = 11
LAYERS = [
    "irrigation_canals",
    "irrigation_structures",
    "water_user_associations",
    "irrigation_sensors",
    "irrigation_readings",
]


def dem_bilinear(ctx: Context, points: np.ndarray) -> np.ndarray:
    """Elevation (m) of EPSG:4326 points, bilinear between the GEBCO cell centres."""
    values, transform, _ = ctx.dem
    cols, rows = ~transform * (shapely.get_x(points), shapely.get_y(points))
    return ndimage.map_coordinates(values, [rows - 0.5, cols - 0.5], order=1)


def ends(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last point of (multi)lines."""
    return (
        shapely.get_point(shapely.get_geometry(lines, 0), 0),
        shapely.get_point(shapely.get_geometry(lines, -1), -1),
    )


def test_same_seed_same_frames(ctx: Context, frames: dict[str, pd.DataFrame]) -> None:
    again = Context(scale=SCALES["small"], seed=SEED)
    again.__dict__["streams"] = ctx.streams  # the shared stream network is hydrology's to test
    again.outputs.update(ctx.outputs)
    for layer_id, frame in irrigation.generate(again).items():
        pd.testing.assert_frame_equal(frame, frames[layer_id])


@pytest.mark.parametrize("layer_id", LAYERS)
def test_frames_pass_the_loader(layer_id: str, frames: dict[str, pd.DataFrame], tmp_path) -> None:
    assert_loads_as_declared(frames[layer_id], load_catalogue().get(layer_id), tmp_path)


def test_counts(canals: gpd.GeoDataFrame, frames: dict[str, pd.DataFrame]) -> None:
    orders = canals["canal_order"].value_counts()
    assert orders["main"] >= 50 and orders["inter_farm"] >= 30 and orders["on_farm"] >= 200
    assert len(frames["irrigation_sensors"]) == 80
    assert 20_000 <= len(frames["irrigation_readings"]) <= 50_000
    assert 10 <= len(frames["water_user_associations"]) <= 200


@pytest.mark.parametrize(
    "layer_id",
    ["irrigation_canals", "irrigation_structures", "water_user_associations", "irrigation_sensors"],
)
def test_geometries_valid_in_country(
    ctx: Context, frames: dict[str, pd.DataFrame], layer_id: str
) -> None:
    geoms = frames[layer_id].geometry.to_numpy()
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    country = ctx.country.geometry.iloc[0].buffer(1e-4)
    shapely.prepare(country)
    assert shapely.covered_by(geoms, country).all()


def test_main_canals_start_at_a_stream(ctx: Context, canals: gpd.GeoDataFrame) -> None:
    main = canals[canals["canal_order"] == "main"].to_crs(UTM_43N)
    start, _ = ends(main.geometry.to_numpy())
    streams = ctx.to_metric(ctx.streams).geometry.to_numpy()
    _, distance = shapely.STRtree(streams).query_nearest(
        start, return_distance=True, all_matches=False
    )
    assert distance.max() < 50.0
    assert (main["source_river"] != "unnamed stream").mean() > 0.6
    assert {"Chu", "Talas", "Naryn", "Kara-Darya"} & set(main["source_river"])


@pytest.mark.parametrize("order", ["main", "inter_farm", "on_farm"])
def test_canals_run_downhill(ctx: Context, canals: gpd.GeoDataFrame, order: str) -> None:
    start, end = ends(canals.loc[canals["canal_order"] == order].geometry.to_numpy())
    rise = dem_bilinear(ctx, end) - dem_bilinear(ctx, start)
    assert (rise <= 10.0).mean() > 0.95
    assert rise.max() < 60.0


def test_branches_reach_the_irrigated_plots(ctx: Context, canals: gpd.GeoDataFrame) -> None:
    plots = ctx.outputs["agri_plots"]
    irrigated = plots[plots["irrigation"] == "irrigated"].to_crs(UTM_43N)
    points = shapely.point_on_surface(irrigated.geometry.to_numpy())
    branches = canals[canals["canal_order"] != "main"].to_crs(UTM_43N).geometry.to_numpy()
    _, distance = shapely.STRtree(branches).query_nearest(
        points, return_distance=True, all_matches=False
    )
    assert (distance < 1_500.0).mean() > 0.95


def test_structures_sit_on_their_canals(
    canals: gpd.GeoDataFrame, frames: dict[str, pd.DataFrame]
) -> None:
    structures = frames["irrigation_structures"].to_crs(UTM_43N)
    lines = canals.set_index("id").to_crs(UTM_43N).geometry
    assert structures["canal_id"].isin(lines.index).all()
    on = lines.loc[structures["canal_id"]].to_numpy()
    assert shapely.distance(structures.geometry.to_numpy(), on).max() < 1.0
    heads = structures[structures["structure_type"] == "headworks"]
    main_ids = canals.loc[canals["canal_order"] == "main", "id"]
    assert set(heads["canal_id"]) == set(main_ids)
    start, _ = ends(lines.loc[heads["canal_id"]].to_numpy())
    assert shapely.distance(heads.geometry.to_numpy(), start).max() < 1.0


def test_associations_cover_irrigated_plots_without_overlaps(
    ctx: Context, frames: dict[str, pd.DataFrame]
) -> None:
    wuas = frames["water_user_associations"]
    assert wuas["registration_number"].is_unique and wuas["name"].is_unique
    assert wuas["name"].str.match(r"^АВП «.+»$").all()
    areas = wuas.to_crs(UTM_43N).geometry.to_numpy()
    first, second = shapely.STRtree(areas).query(areas, predicate="intersects")
    pairs = first < second
    assert shapely.area(shapely.intersection(areas[first[pairs]], areas[second[pairs]])).sum() < 1
    plots = ctx.outputs["agri_plots"]
    irrigated = plots[plots["irrigation"] == "irrigated"].to_crs(UTM_43N)
    points = shapely.point_on_surface(irrigated.geometry.to_numpy())
    inside = np.zeros(len(points), dtype=bool)
    inside[shapely.STRtree(areas).query(points, predicate="within")[0]] = True
    assert inside.mean() > 0.95


def test_sensors_sit_on_canals(canals: gpd.GeoDataFrame, frames: dict[str, pd.DataFrame]) -> None:
    sensors = frames["irrigation_sensors"].to_crs(UTM_43N)
    assert sensors["sensor_code"].is_unique
    lines = canals.set_index("id").to_crs(UTM_43N).geometry
    on = lines.loc[sensors["canal_id"]].to_numpy()
    assert shapely.distance(sensors.geometry.to_numpy(), on).max() < 1.0


def test_readings_follow_the_irrigation_season(frames: dict[str, pd.DataFrame]) -> None:
    readings = frames["irrigation_readings"]
    sensors = frames["irrigation_sensors"].set_index("id")
    assert readings["sensor_id"].isin(sensors.index).all()
    kind = readings["sensor_id"].map(sensors["sensor_type"])
    assert readings.loc[kind == "level", "flow_m3s"].isna().all()
    assert readings.loc[kind == "flow", "level_cm"].isna().all()
    missing = readings["quality_flag"] == "missing"
    assert readings.loc[missing, ["flow_m3s", "level_cm"]].isna().all().all()
    month = readings["observed_at"].dt.tz_convert("Asia/Bishkek").dt.month
    flow = readings.groupby(month)["flow_m3s"].mean()
    assert flow[7] > 3 * flow[1] and flow[7] > flow[4] > flow[2]
    local = readings["observed_at"].dt.tz_convert("Asia/Bishkek")
    assert local.dt.hour.between(7, 8).all()
    installed = pd.to_datetime(readings["sensor_id"].map(sensors["installed"])).dt.date
    assert (local.dt.date >= installed).all()
