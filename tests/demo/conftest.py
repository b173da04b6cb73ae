"""Fixtures of the demo generators' tests, for every `tests/demo/test_<theme>.py`: a small
context with the module's `SEED`, the frames of the module's theme generated once per module,
and the layers of each theme the tests look at."""

from __future__ import annotations

import importlib

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from demo import cadastre, city
from demo.city import buildings as city_buildings
from demo.city.buildings import city_model
from demo.context import SCALES, Context

BEFORE = {"irrigation": ("agriculture",)}
"""Themes generated into the context first, in the order `geoportal demo generate` runs them
(irrigation builds on the plots)."""


def theme_of(request: pytest.FixtureRequest) -> str:
    """The theme a test module is about: `test_roads.py` -> `roads`."""
    return request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")


@pytest.fixture(scope="module")
def ctx(request: pytest.FixtureRequest) -> Context:
    """A small-scale context with the test module's `SEED`, after the themes it builds on."""
    context = Context(scale=SCALES["small"], seed=request.module.SEED)
    for theme in BEFORE.get(theme_of(request), ()):
        context.outputs.update(importlib.import_module(f"demo.{theme}").generate(context))
    return context


@pytest.fixture(scope="module")
def frames(request: pytest.FixtureRequest, ctx: Context) -> dict[str, pd.DataFrame]:
    """The frames of the module's theme, by layer id."""
    city_buildings._CACHE.clear()  # no city model of another module's seed
    return importlib.import_module(f"demo.{theme_of(request)}").generate(ctx)


@pytest.fixture(scope="module")
def metric(ctx: Context, frames: dict[str, pd.DataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """The theme's frames in UTM 43N (metres)."""
    return {layer_id: ctx.to_metric(frame) for layer_id, frame in frames.items()}


# agriculture


@pytest.fixture(scope="module")
def plots(frames: dict[str, pd.DataFrame]) -> gpd.GeoDataFrame:
    return frames["agri_plots"]


@pytest.fixture(scope="module")
def seasons(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return frames["agri_plot_seasons"]


@pytest.fixture(scope="module")
def points(plots: gpd.GeoDataFrame) -> gpd.GeoSeries:
    return gpd.GeoSeries(shapely.point_on_surface(plots.geometry.to_numpy()), crs=4326)


# irrigation


@pytest.fixture(scope="module")
def canals(frames: dict[str, pd.DataFrame]) -> gpd.GeoDataFrame:
    return frames["irrigation_canals"]


# cadastre


@pytest.fixture(scope="module")
def parcels(frames: dict[str, pd.DataFrame]) -> gpd.GeoDataFrame:
    return frames["cadastre_parcels"]


@pytest.fixture(scope="module")
def territories(ctx: Context, parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The cadastral territories (`T-RR`) of the same context (after the parcels)."""
    return cadastre.cadastral_territories(ctx)


@pytest.fixture(scope="module")
def buildings(ctx: Context, parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The city twins' buildings of the same context (generated after the parcels)."""
    model = city_model(ctx)
    return city.buildings_frame(model, city.districts_frame(model))


@pytest.fixture(scope="module")
def with_agri_plots(
    ctx: Context, parcels: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Parcels generated after a stand-in agriculture theme: its plots are the generated
    fields of the run without it."""
    fields = parcels[parcels.land_category == "agricultural"].head(3000)
    plots = gpd.GeoDataFrame(
        {
            "plot_code": [f"P-{i:05d}" for i in range(len(fields))],
            "area_ha": fields.area_m2 / 1e4,
            "oblast": "x",
            "rayon": "y",
        },
        geometry=fields.geometry.to_numpy(),
        crs=4326,
    )
    other = Context(scale=SCALES["small"], seed=ctx.seed, outputs={"agri_plots": plots})
    return plots, cadastre.generate(other)["cadastre_parcels"]


# disaster


@pytest.fixture(scope="module")
def zones_m(frames: dict[str, pd.DataFrame], ctx: Context) -> gpd.GeoDataFrame:
    return ctx.to_metric(frames["hazard_zones"])


# sports


@pytest.fixture(scope="module")
def facilities(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return frames["sports_facilities"]
