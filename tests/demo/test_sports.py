"""The sports generator: determinism, loadability, and facilities placed where people live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from demo import sports
from demo.context import SCALES, Context
from layers.catalogue import Catalogue
from tests.support.generated import assert_loads_as_declared

SEED = 7


def test_deterministic(facilities: pd.DataFrame) -> None:
    again = sports.generate(Context(scale=SCALES["small"], seed=SEED))["sports_facilities"]
    pd.testing.assert_frame_equal(pd.DataFrame(facilities), pd.DataFrame(again))


def test_another_seed_differs(facilities: pd.DataFrame) -> None:
    other = sports.generate(Context(scale=SCALES["small"], seed=SEED + 1))["sports_facilities"]
    assert not facilities["name"].equals(other["name"])


def test_loads_as_declared(facilities: pd.DataFrame, catalogue: Catalogue, tmp_path: Path) -> None:
    assert_loads_as_declared(facilities, catalogue.get("sports_facilities"), tmp_path)
    assert {"id", "geometry"} <= set(facilities.columns)


def test_count_and_geometry(facilities: pd.DataFrame, ctx: Context) -> None:
    assert 500 <= len(facilities) <= 2000
    assert set(facilities.geom_type) == {"Point"}
    assert facilities.within(ctx.country.geometry.iloc[0]).all()
    assert not facilities.intersects(ctx.lakes.union_all()).any()


def test_counts_grow_with_population(facilities: pd.DataFrame, ctx: Context) -> None:
    table = sports.settlement_table(ctx)
    counts = facilities["settlement"].value_counts()
    assert counts.index[0] == "Bishkek" and counts.index[1] == "Osh"
    per_place = table.assign(count=table["name_en"].map(counts).fillna(0))
    per_place = per_place.drop_duplicates("name_en")
    rho = per_place["people"].rank().corr(per_place["count"].rank())
    assert rho > 0.7, rho
    assert (per_place["count"] >= 1).all()


def test_villages_get_a_pitch_or_a_school(facilities: pd.DataFrame) -> None:
    ordinary = facilities[~facilities["facility_type"].isin(["ski_base", "hippodrome"])]
    single = ordinary.groupby("settlement").filter(lambda g: len(g) == 1)
    assert len(single) > 10
    assert set(single["facility_type"]) <= {"football_pitch", "sports_school"}


@pytest.mark.parametrize(
    ("kind", "low_m", "high_m"), [("ski_base", 1700, 3600), ("hippodrome", 400, 2300)]
)
def test_special_facilities_lie_where_they_belong(
    facilities: pd.DataFrame, ctx: Context, kind: str, low_m: float, high_m: float
) -> None:
    rows = facilities[facilities["facility_type"] == kind]
    assert len(rows) >= 8
    elevation = ctx.elevation_at(rows.geometry.x.to_numpy(), rows.geometry.y.to_numpy())
    assert np.all((elevation >= low_m) & (elevation <= high_m)), elevation
    if kind == "hippodrome":
        assert set(rows["settlement"]) >= {"Bishkek", "Osh", "Karakol", "Naryn", "Talas"}


def test_values_are_plausible(facilities: pd.DataFrame) -> None:
    stadiums = facilities[facilities["facility_type"] == "stadium"]
    gyms = facilities[facilities["facility_type"] == "gym"]
    assert stadiums["capacity"].median() > 1000 and (gyms["capacity"] == 0).all()
    assert stadiums["sections"].str.startswith("football").all()
    assert facilities["sections"].str.len().gt(0).all()
    assert facilities["name"].str.contains(r"[\u0400-\u04FF]").all()
    assert not facilities.duplicated(["settlement", "name"]).any()


def test_points_cluster_in_bishkek(facilities: pd.DataFrame, ctx: Context) -> None:
    bishkek = facilities[facilities["settlement"] == "Bishkek"]
    ordinary = bishkek[~bishkek["facility_type"].isin(["ski_base"])]
    boundary = ctx.bishkek_boundary.union_all().buffer(0.005)
    assert shapely.contains_xy(boundary, ordinary.geometry.x, ordinary.geometry.y).all()
