"""The agriculture demo generator: plots and crop seasons at the small scale, fixed seed."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from scipy.spatial import cKDTree

from cadastre.pins import is_fictional_pin
from demo import agriculture
from demo.agriculture import canals as agri_canals
from demo.context import SCALES, UTM_43N, Context
from layers.catalogue import load_catalogue
from tests.support.generated import assert_loads_as_declared

SEED = 11
LAYERS = ["agri_plots", "agri_plot_seasons"]


def test_same_seed_same_frames(ctx: Context, frames: dict[str, pd.DataFrame]) -> None:
    again = Context(scale=SCALES["small"], seed=SEED)
    again.__dict__["streams"] = ctx.streams  # the shared stream network is hydrology's to test
    for layer_id, frame in agriculture.generate(again).items():
        pd.testing.assert_frame_equal(frame, frames[layer_id])


@pytest.mark.parametrize("layer_id", LAYERS)
def test_frames_pass_the_loader(layer_id: str, frames: dict[str, pd.DataFrame], tmp_path) -> None:
    assert_loads_as_declared(frames[layer_id], load_catalogue().get(layer_id), tmp_path)


def test_counts(plots: gpd.GeoDataFrame, seasons: pd.DataFrame) -> None:
    assert 18_000 <= len(plots) <= 22_000
    per_plot = seasons.groupby("plot_id").size()
    assert per_plot.min() >= 2 and 3.0 <= per_plot.mean() <= 6.0


def test_geometries_valid_multipolygons_in_country(ctx: Context, plots: gpd.GeoDataFrame) -> None:
    geoms = plots.geometry.to_numpy()
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    assert (shapely.get_type_id(geoms) == 6).all()
    country = ctx.country.geometry.iloc[0]
    shapely.prepare(country)
    assert shapely.covered_by(geoms, country).all()


def test_plots_do_not_overlap(plots: gpd.GeoDataFrame) -> None:
    metric = plots.to_crs(UTM_43N).geometry.to_numpy()
    first, second = shapely.STRtree(metric).query(metric, predicate="intersects")
    pairs = first < second
    shared = shapely.area(shapely.intersection(metric[first[pairs]], metric[second[pairs]]))
    assert shared.sum() < 1.0  # m², rounding only
    geoms = plots.geometry.to_numpy()  # and after reprojection to EPSG:4326
    first, second = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    assert not (first != second).any()


def test_area_is_geodesic(plots: gpd.GeoDataFrame) -> None:
    geod = Geod(ellps="WGS84")
    sample = plots.sample(500, random_state=1)
    expected = [abs(geod.geometry_area_perimeter(g)[0]) / 1e4 for g in sample.geometry]
    assert np.allclose(sample["area_ha"], expected, atol=0.006)
    assert sample["area_ha"].between(0.5, 60).all()


def test_plot_sizes(plots: gpd.GeoDataFrame) -> None:
    area = plots["area_ha"]
    assert 1.0 <= area.median() <= 10.0
    assert area.between(1.0, 10.0).mean() > 0.7


def test_plots_lie_in_the_valleys(
    ctx: Context, plots: gpd.GeoDataFrame, points: gpd.GeoSeries
) -> None:
    chuy = ctx.oblasts.loc[ctx.oblasts["name_en"] == "Chuy"].geometry.iloc[0]
    assert points.within(chuy).mean() > 0.2
    assert set(plots["oblast"]) == {
        "Chuy",
        "Talas",
        "Ysyk-Köl",
        "Naryn",
        "Osh",
        "Jalal-Abad",
        "Batken",
    }
    elevation = ctx.elevation_at(points.x.to_numpy(), points.y.to_numpy())
    assert np.nanmax(elevation) < 2_500
    fergana = plots["oblast"].isin(["Osh", "Jalal-Abad", "Batken"]).to_numpy()
    assert np.nanmax(elevation[fergana]) < 1_900
    for blocked in (ctx.lakes, ctx.bishkek_boundary):
        assert not points.within(blocked.geometry.union_all()).any()


def test_irrigated_plots_are_commanded_by_a_canal(
    ctx: Context, plots: gpd.GeoDataFrame, points: gpd.GeoSeries
) -> None:
    xy = shapely.get_coordinates(points.to_crs(UTM_43N).to_numpy())
    irrigated = (plots["irrigation"] == "irrigated").to_numpy()
    assert 0.6 < irrigated.mean() < 0.95
    mains = agri_canals.get_main_canals(ctx)
    commanded = agri_canals.is_commanded(
        mains, xy[:, 0], xy[:, 1], plots["elevation_m"].to_numpy() + 0.5
    )
    assert commanded[irrigated].mean() > 0.98
    assert (~commanded[~irrigated]).mean() > 0.4  # the others: canals in disrepair
    vertices = np.concatenate([canal.coords for canal in mains])  # 250 m apart
    distance, _ = cKDTree(vertices).query(xy)
    near = distance < 5_000  # beside the canals, the land above them is rain-fed
    elevation = plots["elevation_m"].to_numpy()
    assert elevation[near & ~irrigated].mean() > elevation[near & irrigated].mean()


def test_codes_and_farms(plots: gpd.GeoDataFrame) -> None:
    assert plots["plot_code"].is_unique
    assert plots["plot_code"].str.fullmatch(r"AG-[CTYNOJB]-\d{2}-\d{5}").all()
    forms = re.compile(r"^(КФХ|ОсОО|СПК|Агрофирма) «[^»]+»$")
    assert plots["farm_name"].map(lambda name: bool(forms.match(name))).all()


def test_seasons_reference_plots(plots: gpd.GeoDataFrame, seasons: pd.DataFrame) -> None:
    assert seasons["plot_id"].isin(plots["id"]).all()
    area = seasons["plot_id"].map(plots.set_index("id")["area_ha"])
    assert (seasons["sown_area_ha"] <= area).all()
    dates = pd.to_datetime(seasons["sowing_date"])
    assert (dates.dt.year == seasons["year"]).all() and seasons["year"].between(2023, 2026).all()
    season = np.select(
        [dates.dt.month.isin([12, 1, 2]), dates.dt.month <= 5, dates.dt.month <= 8],
        ["winter", "spring", "summer"],
        "autumn",
    )
    assert (season == seasons["season"]).all()
    assert dates.max() <= pd.Timestamp("2026-06-30")


@pytest.mark.parametrize(
    ("crop", "oblasts"),
    [
        ("cotton", {"Osh", "Jalal-Abad", "Batken"}),
        ("sugar_beet", {"Chuy", "Talas"}),
        ("rice", {"Osh"}),
    ],
)
def test_crops_grow_where_they_do(
    plots: gpd.GeoDataFrame, seasons: pd.DataFrame, crop: str, oblasts: set[str]
) -> None:
    where = seasons.loc[seasons["crop"] == crop, "plot_id"].map(plots.set_index("id")["oblast"])
    assert len(where) and set(where) <= oblasts


def test_talas_grows_beans(plots: gpd.GeoDataFrame, seasons: pd.DataFrame) -> None:
    oblast = seasons["plot_id"].map(plots.set_index("id")["oblast"])
    beans = (seasons["crop"] == "beans").groupby(oblast).mean()
    assert beans.idxmax() == "Talas"


def test_inputs_and_yields(seasons: pd.DataFrame) -> None:
    none = seasons["fertiliser"] == "none"
    assert (seasons.loc[none, "fertiliser_kg_ha"] == 0).all()
    assert (seasons.loc[~none, "fertiliser_kg_ha"] > 0).all()
    assert ((seasons["pesticide"] == "none") == (seasons["pesticide_l_ha"] == 0)).all()
    harvested = seasons["yield_t_ha"].notna()
    assert harvested.mean() > 0.6
    assert seasons.loc[seasons["year"] == 2026, "yield_t_ha"].isna().mean() > 0.8


def test_plot_operators_are_fictional_and_load_as_declared(
    frames: dict[str, pd.DataFrame], plots: gpd.GeoDataFrame, tmp_path
) -> None:
    operators = frames["agri_plot_operators"]
    restricted = load_catalogue().get("agri_plots").restricted_layer
    assert restricted is not None
    assert_loads_as_declared(operators, restricted, tmp_path)
    assert sorted(operators["feature_id"]) == sorted(plots["id"])
    assert all(is_fictional_pin(pin) for pin in operators["operator_pin"])
    phones = operators["operator_phone"].dropna()
    assert 0.7 < len(phones) / len(operators) < 0.95
    assert phones.str.fullmatch(r"\+996 000 \d{3} \d{3}").all()
    # one person per farm: all plots of a farm in a rayon share the operator
    joined = plots.merge(operators, left_on="id", right_on="feature_id")
    per_farm = joined.groupby(["oblast", "rayon", "farm_name"])["operator_pin"].nunique()
    assert (per_farm == 1).all()
