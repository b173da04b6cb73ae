"""The cadastre generator: parcels around the city twins' buildings and across the country."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from cadastre.codes import is_valid_code
from cadastre.pins import is_fictional_pin
from demo import cadastre, people
from demo.city import buildings as city_buildings
from demo.context import SCALES, UTM_43N, Context
from layers.catalogue import Catalogue
from tests.support.generated import assert_loads_as_declared

SEED = 5
TOLERANCE_M = 0.05
"""The cadastre's default topology tolerance (`GEOPORTAL_CADASTRE__TOLERANCE_M`)."""


def outside_wider_than(parts: np.ndarray, wholes: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Which parts lie outside their whole where wider than the tolerance, read in metres
    (UTM 43N) as the topology check reads them: a negative buffer of half the tolerance
    leaves something of the difference."""
    metric = gpd.GeoSeries(np.append(parts, wholes), crs=4326).to_crs(UTM_43N).to_numpy()
    outside = shapely.difference(metric[: len(parts)], metric[len(parts) :])
    return ~shapely.is_empty(shapely.buffer(outside, -tolerance_m / 2))


def assert_tiles(whole: shapely.Geometry, parts: np.ndarray, name: str) -> None:
    """The parts cover the whole and do not overlap, as stored (EPSG:4326; a degree² counted
    as its area at the whole's latitude): the symmetric difference, and the overlaps, are on
    average narrower along the edges than a tenth of the topology tolerance (what rounding
    and the 1 cm grid that territories are snapped to leave)."""
    m2 = 111_320.0**2 * np.cos(np.radians(shapely.centroid(whole).y))
    edges_m = shapely.length(gpd.GeoSeries(np.append(parts, whole), crs=4326).to_crs(UTM_43N))
    width_m = TOLERANCE_M / 10
    union = shapely.union_all(parts)
    gap = shapely.area(shapely.symmetric_difference(union, whole)) * m2
    assert gap < 1.0 + width_m * edges_m.iloc[-1], (name, gap)
    overlap = (shapely.area(parts).sum() - shapely.area(union)) * m2
    assert overlap < 1.0 + width_m * edges_m.iloc[:-1].sum() / 2, (name, overlap)


def test_deterministic(frames: dict[str, pd.DataFrame]) -> None:
    city_buildings._CACHE.clear()
    again = cadastre.generate(Context(scale=SCALES["small"], seed=SEED))
    for layer_id in ("cadastre_parcels", "cadastre_zones", "cadastre_blocks"):
        pd.testing.assert_frame_equal(pd.DataFrame(frames[layer_id]), pd.DataFrame(again[layer_id]))


def test_loads_as_declared(parcels: gpd.GeoDataFrame, catalogue: Catalogue, tmp_path: Path) -> None:
    assert_loads_as_declared(parcels, catalogue.get("cadastre_parcels"), tmp_path)
    assert {"id", "geometry"} <= set(parcels.columns)


def test_right_holders_are_fictional_and_load_as_declared(
    frames: dict[str, pd.DataFrame], parcels: gpd.GeoDataFrame, catalogue: Catalogue, tmp_path: Path
) -> None:
    holders = frames["cadastre_right_holders"]
    restricted = catalogue.get("cadastre_parcels").restricted_layer
    assert restricted is not None
    assert_loads_as_declared(holders, restricted, tmp_path)
    assert all(is_fictional_pin(pin) for pin in holders["holder_pin"])
    held = parcels[parcels["id"].isin(holders["feature_id"])]
    assert set(held["land_category"]) <= set(people.HOLDER_CATEGORIES)
    assert len(held) > 1000
    shares = holders.groupby("feature_id")["share"].sum()
    assert ((shares > 0.99) & (shares < 1.01)).all()


def test_count_and_categories(parcels: gpd.GeoDataFrame) -> None:
    assert 15_000 <= len(parcels) <= 40_000
    assert set(parcels.land_category) == set(cadastre.LAND_CATEGORIES)


def test_geometries_valid_and_in_country(parcels: gpd.GeoDataFrame, ctx: Context) -> None:
    geoms = parcels.geometry.to_numpy()
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    assert (shapely.get_type_id(geoms) == 6).all()
    assert shapely.covered_by(geoms, ctx.country.geometry.iloc[0]).all()


def test_codes_unique_and_well_formed(parcels: gpd.GeoDataFrame) -> None:
    codes = parcels.cadastral_code
    assert codes.is_unique
    assert all(is_valid_code(code) for code in codes)
    urban = codes.str[0].isin(["1", "9"])
    assert (urban == parcels.address.notna()).all()
    assert (parcels.land_category[urban] == "settlements").all()
    assert codes[urban].str[2:4].astype(int).between(1, 5).all()


def test_parcels_do_not_overlap(parcels: gpd.GeoDataFrame) -> None:
    geoms = parcels.to_crs(UTM_43N).geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    shared = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert (shared < 0.01).all()


def test_every_building_in_exactly_one_parcel(
    parcels: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame
) -> None:
    tree = shapely.STRtree(parcels.geometry.to_numpy())
    holder, _ = tree.query(buildings.geometry.to_numpy(), predicate="within")
    counts = np.bincount(holder, minlength=len(buildings))
    assert (counts == 1).all()
    hits = tree.query(buildings.geometry.to_numpy(), predicate="intersects")
    assert hits.shape[1] == len(buildings)  # and crosses no other parcel


def test_area_is_geodesic(parcels: gpd.GeoDataFrame) -> None:
    geod = Geod(ellps="WGS84")
    sample = parcels.sample(500, random_state=3)
    expected = [abs(geod.geometry_area_perimeter(g)[0]) for g in sample.geometry]
    np.testing.assert_allclose(sample.area_m2, expected, rtol=1e-6, atol=0.06)


def test_dates_and_uses(parcels: gpd.GeoDataFrame) -> None:
    dates = pd.to_datetime(parcels.registered_on)
    assert dates.between("1999-01-01", "2025-06-30").all()
    agri = parcels[parcels.land_category == "agricultural"].designated_use
    assert set(agri) <= {
        "arable_irrigated",
        "arable_rainfed",
        "perennial_plantings",
        "hayfield",
        "pasture",
    }


def test_agricultural_parcels_come_from_agri_plots(
    with_agri_plots: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    plots, parcels = with_agri_plots
    agri = parcels[parcels.land_category == "agricultural"]
    assert 0.15 * len(plots) < len(agri) < 0.35 * len(plots)
    source = plots.set_index("plot_code").geometry
    same = shapely.equals(agri.geometry.to_numpy(), source.reindex(agri.agri_plot_code).to_numpy())
    assert same.all()
    assert parcels.cadastral_code.is_unique


def test_every_parcel_lies_in_the_block_its_code_names(
    frames: dict[str, pd.DataFrame], parcels: gpd.GeoDataFrame
) -> None:
    blocks = frames["cadastre_blocks"].set_index("block_code")
    prefix = parcels.cadastral_code.str.rsplit("-", n=1).str[0]
    assert prefix.isin(blocks.index).all()
    mine = blocks.geometry.loc[prefix.to_numpy()].to_numpy()
    inside = shapely.covers(mine, parcels.geometry.to_numpy())
    assert inside.mean() > 0.9  # the rest stick out by rounding only:
    rest = parcels.geometry.to_numpy()[~inside]
    assert not outside_wider_than(rest, mine[~inside], TOLERANCE_M).any()
    territories = {code.split("-")[0] for code in blocks.index}
    assert territories == {str(t) for t in range(1, 10)}  # every cadastral territory


def test_zones_tile_every_territory_and_the_country(
    frames: dict[str, pd.DataFrame], territories: gpd.GeoDataFrame, ctx: Context
) -> None:
    zones = frames["cadastre_zones"]
    assert set(territories.code) == set(zones.zone_code.str[:4])
    for code, territory in zip(territories.code, territories.geometry, strict=True):
        mine = zones.geometry[zones.zone_code.str[:4] == code].to_numpy()
        assert_tiles(territory, mine, code)
    assert_tiles(ctx.country.geometry.iloc[0], territories.geometry.to_numpy(), "country")


def test_blocks_tile_their_zone(frames: dict[str, pd.DataFrame]) -> None:
    zones = frames["cadastre_zones"].set_index("zone_code").geometry
    blocks = frames["cadastre_blocks"]
    assert set(blocks.zone_code) == set(zones.index)
    for code, group in blocks.groupby("zone_code"):
        assert_tiles(zones[code], group.geometry.to_numpy(), code)


def test_blocks_are_denser_near_settlements(frames: dict[str, pd.DataFrame]) -> None:
    blocks = frames["cadastre_blocks"]
    rural = blocks[~blocks.block_code.str[0].isin(["1", "9"])]
    city = blocks[blocks.block_code.str[0].isin(["1", "9"])]
    assert city.area_m2.median() < 0.1 * rural.area_m2.median()
    assert rural.area_m2.quantile(0.1) < 0.1 * rural.area_m2.quantile(0.9)


def test_blocks_lie_in_their_zones_and_load_as_declared(
    frames: dict[str, pd.DataFrame], catalogue: Catalogue, tmp_path: Path
) -> None:
    blocks = frames["cadastre_blocks"]
    assert (blocks.block_code.str.rsplit("-", n=1).str[0] == blocks.zone_code).all()
    assert blocks.block_code.is_unique and frames["cadastre_zones"].zone_code.is_unique
    for layer_id in ("cadastre_blocks", "cadastre_zones"):
        assert_loads_as_declared(frames[layer_id], catalogue.get(layer_id), tmp_path)


def test_both_areas(parcels: gpd.GeoDataFrame) -> None:
    ratio = parcels.area_national_m2 / parcels.area_m2
    assert ratio.between(0.995, 1.005).all()  # transverse Mercator, within 1.5 deg of centre
