"""The roads generator: deterministic, loadable, and realistic on the real relief."""

from __future__ import annotations

import datetime as dt
import re

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from demo import roads
from demo.context import SCALES, Context
from demo.roads.attributes import REFERENCE_DATE
from demo.roads.paths import slope_grid
from tests.support.generated import assert_loads_as_declared

SEED = 7
LAYERS = ["roads", "bridges", "road_works"]
GEOMETRY_TYPES = {"roads": "MultiLineString", "bridges": "Point", "road_works": "MultiLineString"}


def _as_lines(frame: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_parts(frame.geometry.values)


def test_same_seed_same_frames(ctx, frames):
    again_ctx = Context(scale=SCALES["small"], seed=SEED)
    again_ctx.__dict__["streams"] = ctx.streams  # the shared, cached stream network
    again = roads.generate(again_ctx)
    for layer_id in LAYERS:
        left, right = frames[layer_id], again[layer_id]
        pd.testing.assert_frame_equal(left.drop(columns="geometry"), right.drop(columns="geometry"))
        assert (left.geometry.to_wkb() == right.geometry.to_wkb()).all(), layer_id


@pytest.mark.parametrize("layer_id", LAYERS)
def test_frames_load_as_declared(catalogue, frames, tmp_path, layer_id):
    layer = catalogue.get(layer_id)
    frame = frames[layer_id]
    assert list(frame.columns) == ["id", *(f.name for f in layer.fields), "geometry"]
    assert_loads_as_declared(frame, layer, tmp_path)
    for f in layer.fields:
        if f.unique:
            assert frame[f.name].dropna().is_unique, f.name  # NULLs never collide


@pytest.mark.parametrize("layer_id", LAYERS)
def test_geometries_valid_typed_and_in_the_country(ctx, frames, metric, layer_id):
    frame = frames[layer_id]
    assert frame.crs.to_epsg() == 4326
    geoms = frame.geometry.values
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    types = set(frame.geom_type)
    assert types <= {GEOMETRY_TYPES[layer_id], GEOMETRY_TYPES[layer_id].removeprefix("Multi")}
    country = ctx.to_metric(ctx.country).geometry.iloc[0]
    # Roads may leave the generalised outline by up to 3 km for border posts and villages.
    assert metric[layer_id].geometry.within(country.buffer(4_000)).all()
    if layer_id == "roads":
        lines = metric[layer_id].geometry.values
        assert (
            shapely.length(shapely.intersection(lines, country)).sum()
            > 0.99 * shapely.length(lines).sum()
        )


def test_counts_reach_the_small_scale(frames):
    assert 4_500 <= len(frames["roads"]) <= 5_600
    assert 200 <= len(frames["bridges"]) <= 1_200
    assert len(frames["road_works"]) == 250
    assert set(frames["roads"]["road_class"]) == {"international", "national", "local", "urban"}


def test_segments_are_300_m_to_2_km(frames):
    length = frames["roads"]["length_km"]
    assert length.between(0.3, 2.0).mean() > 0.97
    assert length.max() <= 2.4


def test_road_numbers_follow_the_scheme(frames):
    numbers = frames["roads"].groupby("road_class")["road_number"]
    patterns = {
        "international": r"ЭМ-\d\d",
        "national": r"ЭАН-\d\d",
        "local": r"ЭЛ-(БШ|ЧУ|ИК|НР|ТЛ|ДЖ|ОШ|БТ)-\d{3}",
        "urban": r"(БШК|ОШК)-\d{4}",
    }
    for road_class, values in numbers:
        assert values.str.fullmatch(patterns[road_class]).all(), road_class
    bishkek_osh = frames["roads"].loc[frames["roads"]["road_number"] == "ЭМ-01", "name"]
    assert set(bishkek_osh) == {"Бишкек – Ош"}


def test_bishkek_osh_is_one_connected_road_below_3600_m(ctx, frames, metric):
    road = metric["roads"][frames["roads"]["road_number"] == "ЭМ-01"]
    graph = nx.Graph()
    for line in _as_lines(road):
        start, end = shapely.get_coordinates(line)[[0, -1]].round(1)
        graph.add_edge(tuple(start), tuple(end))
    assert nx.is_connected(graph)
    ends = ctx.to_metric(
        gpd.GeoDataFrame(geometry=gpd.points_from_xy([74.59, 72.798], [42.87, 40.528]), crs=4326)
    ).geometry
    assert road.distance(ends.iloc[0]).min() < 2_000 and road.distance(ends.iloc[1]).min() < 2_000
    assert 550 < road.length.sum() / 1000 < 750  # the real road is about 650 km
    points = shapely.get_coordinates(
        shapely.segmentize(frames["roads"].loc[road.index].geometry.values, 0.002)
    )
    assert np.nanmax(ctx.elevation_at(points[:, 0], points[:, 1])) < 3_600
    inside = ctx.to_metric(ctx.country).geometry.iloc[0].buffer(1_000)
    assert road.within(inside).all()


def test_every_settlement_is_within_2_km_of_a_road(ctx, metric):
    lines = metric["roads"].geometry.values
    tree = shapely.STRtree(lines)
    places = ctx.to_metric(ctx.settlements).geometry.values
    _, distance = tree.query_nearest(places, return_distance=True, all_matches=False)
    assert distance.max() < 2_000


def test_trunk_roads_keep_to_gentle_ground(ctx, frames):
    dem, transform, _ = ctx.dem
    slope = slope_grid(dem, transform)
    trunk = frames["roads"][frames["roads"]["road_class"].isin(["international", "national"])]
    points = shapely.get_coordinates(shapely.segmentize(trunk.geometry.values, 0.002))
    cols, rows = ~transform @ (points[:, 0], points[:, 1])
    along = slope[rows.astype(int), cols.astype(int)]
    country = shapely.contains_xy(
        ctx.country.geometry.iloc[0],
        *(
            transform
            @ (np.arange(dem.shape[1])[None, :] + 0.5, np.arange(dem.shape[0])[:, None] + 0.5)
        ),
    )
    assert np.median(along) < 0.5 * np.median(slope[country])
    assert np.percentile(along, 95) < 0.2


def test_attributes_hang_together(frames):
    r = frames["roads"]
    trunk = r[r["road_class"] == "international"]
    assert trunk["surface"].isin(["asphalt", "concrete"]).all()
    assert (trunk["lanes"] >= 2).all() and trunk["width_m"].median() > 7
    iri = r.groupby("surface")["iri_m_per_km"].median()
    assert iri["gravel"] > iri["asphalt"] and iri["earth"] > iri["asphalt"]
    aadt = r.groupby("road_class")["aadt"].median()
    assert aadt["international"] > aadt["national"] > aadt["local"]
    paved = r["surface"].isin(["asphalt", "concrete"])
    limits = np.where(paved, 4.0, 8.0)
    assert ((r["condition"] == "good") == (r["iri_m_per_km"] <= limits)).all()
    survey = pd.to_datetime(r["last_survey"]).dt.date
    assert survey.between(REFERENCE_DATE - dt.timedelta(days=5 * 366), REFERENCE_DATE).all()


def test_traffic_is_heaviest_near_bishkek_and_lightest_on_passes(ctx, frames, metric):
    road = metric["roads"][frames["roads"]["road_number"] == "ЭМ-01"]
    bishkek = ctx.to_metric(
        gpd.GeoDataFrame(geometry=gpd.points_from_xy([74.59], [42.87]), crs=4326)
    ).geometry.iloc[0]
    near = road.distance(bishkek) < 30_000
    middle = frames["roads"].loc[road.index].geometry.representative_point()
    high = ctx.elevation_at(middle.x.to_numpy(), middle.y.to_numpy()) > 2_500
    aadt = frames["roads"].loc[road.index, "aadt"]
    assert aadt[near].median() > 2 * aadt[~near].median()
    assert aadt[near].median() > 3 * aadt[high].median()


def test_bridges_lie_on_their_road_and_on_a_stream(ctx, frames, metric):
    bridges, segments = metric["bridges"], metric["roads"].set_index(frames["roads"]["id"])
    on_road = segments.geometry.loc[bridges["road_id"]].distance(bridges.geometry, align=False)
    assert (on_road < 1.0).all()
    water = np.concatenate(
        [ctx.to_metric(ctx.streams).geometry.values, ctx.to_metric(ctx.rivers).geometry.values]
    )
    _, distance = shapely.STRtree(water).query_nearest(
        bridges.geometry.values, return_distance=True, all_matches=False
    )
    assert (distance < 1.0).all()
    assert (
        bridges["road_number"]
        .eq(frames["roads"].set_index("id").loc[bridges["road_id"], "road_number"].to_numpy())
        .all()
    )
    assert re.fullmatch(r".+-М\d{3}", bridges["bridge_code"].iloc[0])


def test_works_reference_segments_and_are_dated_consistently(frames, metric):
    works, r = frames["road_works"], frames["roads"].set_index("id")
    assert works["road_id"].isin(r.index).all()
    assert (works["road_number"].to_numpy() == r.loc[works["road_id"], "road_number"]).all()
    segments = metric["roads"].set_index(frames["roads"]["id"]).geometry
    first = segments.loc[works["road_id"]].distance(metric["road_works"].geometry, align=False)
    assert (first < 1.0).all()
    for number, group in metric["road_works"].groupby("road_number"):
        vertices = shapely.get_coordinates(group.geometry.values)
        same_road = shapely.STRtree(segments[r["road_number"] == number].values)
        _, distance = same_road.query_nearest(
            shapely.points(vertices), return_distance=True, all_matches=False
        )
        assert distance.max() < 1.0, number
    start, end = pd.to_datetime(works["start_date"]), pd.to_datetime(works["end_date"])
    assert (end >= start).all()
    reference = pd.Timestamp(REFERENCE_DATE)
    expected = np.where(
        start > reference, "planned", np.where(end >= reference, "in_progress", "completed")
    )
    assert (works["status"] == expected).all()
    done = works["status"] == "completed"
    assert works.loc[done, ["acceptance_date", "acceptance_iri_m_per_km"]].notna().all().all()
    assert works.loc[~done, ["acceptance_date", "acceptance_iri_m_per_km"]].isna().all().all()
    accepted = pd.to_datetime(works.loc[done, "acceptance_date"])
    assert (accepted >= end[done]).all() and (accepted <= reference).all()


def test_chainage_names_one_segment_and_runs_along_the_road(frames, metric):
    roads_frame = frames["roads"]
    assert roads_frame["km_start"].notna().all() and (roads_frame["km_start"] >= 0).all()
    assert not roads_frame.duplicated(["road_number", "km_start"]).any()  # the natural key
    for number, group in metric["roads"].groupby("road_number"):
        ordered = group.sort_values("km_start")
        starts = ordered["km_start"].to_numpy()
        ends = starts + ordered.geometry.length.to_numpy() / 1000
        assert starts[0] == 0.0, number
        assert np.allclose(starts[1:], ends[:-1], atol=0.002), number  # the real length before
    ordered = metric["roads"][roads_frame["road_number"] == "ЭМ-01"].sort_values("km_start")
    lines = shapely.get_parts(ordered.geometry.values)
    start_of = shapely.get_coordinates(shapely.get_point(lines, 0))
    end_of = shapely.get_coordinates(shapely.get_point(lines, -1))
    steps = np.hypot(*(start_of[1:] - end_of[:-1]).T)
    assert np.median(steps) < 1.0  # each segment starts where the one before it ends
    bishkek = ctx_point(74.59, 42.87)
    assert shapely.distance(shapely.Point(start_of[0]), bishkek) < 2_000  # km 0 at Bishkek
    assert 550 < ordered["km_start"].max() < 750


def ctx_point(lon: float, lat: float) -> shapely.Point:
    """A point (lon, lat) in UTM 43N."""
    frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy([lon], [lat]), crs=4326)
    return frame.to_crs(32643).geometry.iloc[0]
