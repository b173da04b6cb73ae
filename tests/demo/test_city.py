"""The city twins generator: determinism, loadability and the realism of Bishkek and Osh."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from demo import city
from demo.city import buildings as city_buildings
from demo.city.buildings import city_model
from demo.context import SCALES, UTM_43N, Context
from layers.catalogue import Catalogue
from tests.support.generated import assert_loads_as_declared

SEED = 11
LAYERS = ["city_districts", "buildings", "utility_lines", "environment_sensors"]


def test_deterministic(frames: dict[str, pd.DataFrame]) -> None:
    city_buildings._CACHE.clear()
    again = city.generate(Context(scale=SCALES["small"], seed=SEED))
    for layer_id in LAYERS:
        pd.testing.assert_frame_equal(pd.DataFrame(frames[layer_id]), pd.DataFrame(again[layer_id]))


@pytest.mark.parametrize("layer_id", LAYERS)
def test_loads_as_declared(
    layer_id: str, frames: dict[str, pd.DataFrame], catalogue: Catalogue, tmp_path: Path
) -> None:
    assert_loads_as_declared(frames[layer_id], catalogue.get(layer_id), tmp_path)
    assert {"id", "geometry"} <= set(frames[layer_id].columns)


@pytest.mark.parametrize(
    ("layer_id", "low", "high"),
    [
        ("city_districts", 9, 9),
        ("buildings", 19_000, 21_500),
        ("utility_lines", 5_000, 40_000),
        ("environment_sensors", 40, 150),
    ],
)
def test_counts(frames: dict[str, pd.DataFrame], layer_id: str, low: int, high: int) -> None:
    assert low <= len(frames[layer_id]) <= high


@pytest.mark.parametrize("layer_id", LAYERS)
def test_geometries_valid_and_in_country(
    frames: dict[str, pd.DataFrame], ctx: Context, layer_id: str
) -> None:
    geoms = frames[layer_id].geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert not shapely.is_empty(geoms).any()
    country = ctx.country.geometry.iloc[0].buffer(1e-4)
    assert shapely.covered_by(geoms, country).all()


def test_buildings_inside_the_cities(metric: dict[str, gpd.GeoDataFrame], ctx: Context) -> None:
    bishkek = ctx.to_metric(ctx.bishkek_boundary).geometry.union_all().buffer(0.5)
    urban = ctx.to_metric(ctx.urban_areas).geometry
    osh_centre = gpd.GeoSeries([shapely.Point(72.7985, 40.5283)], crs=4326).to_crs(UTM_43N)
    osh = urban[urban.intersects(osh_centre.iloc[0])]
    b = metric["buildings"]
    in_bishkek = shapely.covered_by(b.geometry.to_numpy(), bishkek)
    in_osh = shapely.covered_by(b.geometry.to_numpy(), osh.union_all().buffer(0.5))
    assert (in_bishkek == (b.city == "Bishkek")).all()
    assert (in_osh == (b.city == "Osh")).all()


def test_buildings_do_not_overlap(metric: dict[str, gpd.GeoDataFrame]) -> None:
    geoms = metric["buildings"].geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all()


def test_no_building_crosses_a_street(metric: dict[str, gpd.GeoDataFrame], ctx: Context) -> None:
    geoms = metric["buildings"].geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    for plan in city_model(ctx).plans:
        streets = plan.streets
        corridors = shapely.buffer(
            streets.geometry.to_numpy(), streets.width_m / 2, cap_style="flat"
        )
        hits = tree.query(plan.utm(corridors), predicate="intersects")
        assert hits.size == 0


def test_heights_match_floors(frames: dict[str, pd.DataFrame]) -> None:
    b = frames["buildings"]
    assert (b.height_m >= 2.7 * b.floors).all()
    assert (b.height_m <= 6.0 * b.floors + 4).all()
    homes = b[b.use == "residential"]
    assert ((homes.height_m - 3 * homes.floors).abs() <= 0.35 * homes.floors + 3.5).all()


def test_district_is_the_spatial_join(frames: dict[str, pd.DataFrame]) -> None:
    b, d = frames["buildings"], frames["city_districts"]
    points = gpd.GeoDataFrame(geometry=b.geometry.representative_point(), crs=4326)
    joined = gpd.sjoin(points, d[["id", "name_en", "city", "geometry"]], predicate="within")
    assert joined.index.is_unique and len(joined) == len(b)
    joined = joined.sort_index()
    assert (joined.id.to_numpy() == b.district_id.to_numpy()).all()
    assert (joined.name_en.to_numpy() == b.district.to_numpy()).all()
    assert (joined.city.to_numpy() == b.city.to_numpy()).all()


def test_bishkek_districts_roughly_where_they_are(frames: dict[str, pd.DataFrame]) -> None:
    d = frames["city_districts"].set_index("name_en")
    centre = d.geometry.to_crs(UTM_43N).centroid
    ref = centre["Birinchi Mai District"]
    assert centre["Lenin District"].x < ref.x
    assert centre["Oktyabr District"].y < ref.y and centre["Oktyabr District"].x > ref.x
    assert centre["Sverdlov District"].x > ref.x
    assert centre["Sverdlov District"].y > centre["Oktyabr District"].y


def test_building_typology(frames: dict[str, pd.DataFrame]) -> None:
    b = frames["buildings"]
    soviet = b[b.floors.isin([5, 9]) & (b.use == "residential")]
    assert soviet.year_built.between(1960, 1991).mean() > 0.6
    assert (b[b.floors >= 17].year_built >= 2005).all()
    houses = b[b.floors <= 2]
    assert houses.use.eq("residential").mean() > 0.85
    assert set(b.use) == set(city_buildings.USES)


def test_new_high_rises_are_central_or_southern(frames: dict[str, pd.DataFrame]) -> None:
    b = frames["buildings"]
    points = b.geometry.representative_point().to_crs(UTM_43N)
    for name, lon, lat in (("Bishkek", 74.6037, 42.8765), ("Osh", 72.7985, 40.5283)):
        centre = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(UTM_43N).iloc[0]
        new = (b.city == name) & (b.floors >= 12) & (b.year_built >= 2005)
        near = points[new].distance(centre) < 3_500
        south = points[new].y < centre.y + 1_000
        assert (near | south).mean() > 0.8


def test_addresses_are_unique_in_a_city(frames: dict[str, pd.DataFrame]) -> None:
    b = frames["buildings"]
    assert not b.duplicated(["city", "address"]).any()
    assert b.address.str.match(r"^\S.* \S+, \d+[а-к]?(/\d+)?$").all()


def test_utility_lines_follow_the_streets(
    metric: dict[str, gpd.GeoDataFrame], ctx: Context
) -> None:
    lines = metric["utility_lines"]
    for plan in city_model(ctx).plans:
        mine = lines[lines.city == plan.spec.name].sample(400, random_state=1)
        corridors = shapely.buffer(
            plan.streets.geometry.to_numpy(), plan.streets.width_m / 2 + 0.5, cap_style="flat"
        )
        corridors = shapely.union_all(plan.utm(corridors))
        assert shapely.covered_by(mine.geometry.to_numpy(), corridors).all()
    assert lines.loc[lines.network_type == "power", "diameter_mm"].isna().all()
    assert lines.loc[lines.network_type != "power", "voltage_kv"].isna().all()


def test_sensors(frames: dict[str, pd.DataFrame]) -> None:
    s = frames["environment_sensors"]
    assert s.sensor_code.is_unique
    assert s.last_observed_at.dt.tz is not None
    assert (s.installed < s.last_observed_at.dt.date).all()
    assert set(s.parameter) <= {"pm2_5", "pm10", "no2", "so2", "co", "noise_db", "temperature"}
    np.testing.assert_array_equal(s.city.unique(), ["Bishkek", "Osh"])
