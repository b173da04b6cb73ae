"""Urban cadastral parcels of the city twins: each block of Bishkek and Osh split into
parcels around its buildings (see `cadastre` for the cadastral code)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cadastre.codes import format_codes
from demo.city import to_4326, to_multi
from demo.city.buildings import CityModel
from demo.city.layout import CityPlan

CITY_TERRITORY = {"Bishkek": 1, "Osh": 9}
URBAN_USES = {
    "commercial": "commercial",
    "mixed": "mixed_use",
    "public": "public_administration",
    "industrial": "industrial",
    "education": "education",
    "health": "healthcare",
    "religious": "religious",
}
ZONE_SIZE_M = 2_000.0
LAST_DAY = dt.date(2025, 6, 30)


def urban_parcels(model: CityModel, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """One parcel per lot holding a building (its lot cut to the block), plus about half the
    vacant lots of the private sector; the block's parcels tile it without overlapping."""
    frames = []
    for index, plan in enumerate(model.plans):
        lots = model.lots[model.lots.city == index]
        codes = _urban_codes(plan, lots)
        built = (lots.btype != "").to_numpy()
        vacant = ~built & (lots.kind == "private").to_numpy() & (rng.random(len(lots)) < 0.5)
        keep = built | vacant
        lots, codes = lots[keep], codes[keep]
        geoms = _lot_polygons(plan, lots)
        ok = shapely.area(geoms) >= np.where(built[keep], 1.0, 150.0)
        lots, codes, geoms = lots[ok], codes[ok], geoms[ok]
        residential = (lots.use == "residential").to_numpy()
        use = np.where(lots.btype == "house", "individual_housing", "multi_apartment_housing")
        use = np.where(
            residential | (lots.btype == "").to_numpy(),
            np.where(lots.btype == "", "individual_housing", use),
            lots.use.map(URBAN_USES).to_numpy(),
        )
        year = np.where(lots.btype == "", 2010, lots.year_built).astype(int)
        frames.append(
            gpd.GeoDataFrame(
                {
                    "cadastral_code": codes,
                    "land_category": "settlements",
                    "designated_use": use,
                    "address": lots.address.to_numpy(),
                    "registered_on": registered_dates(rng, year),
                    "agri_plot_code": None,
                },
                geometry=to_multi(to_4326(plan, geoms).to_numpy()),
                crs=4326,
            )
        )
    return pd.concat(frames, ignore_index=True)


def _lot_polygons(plan: CityPlan, lots: pd.DataFrame) -> np.ndarray:
    """Lots (grid frame) cut to their blocks where the city boundary cuts the block."""
    boxes = shapely.box(lots.cu0, lots.cv0, lots.cu1, lots.cv1)
    cut = ~plan.blocks.inside.to_numpy()[lots.block]
    blocks = plan.blocks.geometry.to_numpy()[lots.block[cut]]
    boxes[cut] = [_polygonal(g) for g in shapely.intersection(boxes[cut], blocks)]
    return boxes


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 1.0]
    return shapely.MultiPolygon(parts) if parts else shapely.Polygon()


def numbered_blocks(plan: CityPlan) -> tuple[np.ndarray, pd.DataFrame]:
    """The cadastral zone of each superblock (its 2 km square of the grid frame, ranked
    within its district, north to south, west to east) and the street blocks with their
    `zone` and `number` (ranked within district and zone), over the whole plan so that they
    do not depend on the sample of blocks kept."""
    sb = plan.superblocks
    cu, cv = (sb.u0 + sb.u1) / 2, (sb.v0 + sb.v1) / 2
    square = pd.DataFrame(
        {
            "district": sb.district,
            "row": -np.floor(cv / ZONE_SIZE_M),
            "col": np.floor(cu / ZONE_SIZE_M),
        }
    )
    ranks = square.drop_duplicates().sort_values(["district", "row", "col"])
    ranks["zone"] = ranks.groupby("district").cumcount() + 1
    zone = square.merge(ranks, how="left", on=["district", "row", "col"]).zone.to_numpy()
    blocks = plan.blocks.assign(zone=zone[plan.blocks.superblock])
    blocks["number"] = blocks.groupby(["district", "zone"]).cumcount() + 1
    if int(blocks.number.max()) > 9999 or int(zone.max()) > 99:
        raise ValueError(f"{plan.spec.name}: too many cadastral zones or blocks for the code")
    return zone, blocks


def _urban_codes(plan: CityPlan, lots: pd.DataFrame) -> np.ndarray:
    """Cadastral codes of lots (see `numbered_blocks`)."""
    blocks = numbered_blocks(plan)[1]
    lots = lots.assign(parcel=lots.groupby("block").cumcount() + 1)
    district = np.array([plan.names.district(d).code for d in blocks.district])[lots.block]
    territory = CITY_TERRITORY[plan.spec.name]
    parts = zip(
        [territory] * len(lots),
        district,
        blocks.zone.to_numpy()[lots.block],
        blocks.number.to_numpy()[lots.block],
        lots.parcel,
        strict=True,
    )
    return np.array(format_codes(parts), dtype=object)


def registered_dates(rng: np.random.Generator, year: np.ndarray) -> list[dt.date]:
    """Registration dates: the registry of rights opened in 1999; a building's parcel is
    registered after it was built."""
    first = np.array([dt.date(int(max(1999, y)), 1, 1).toordinal() for y in year])
    last = LAST_DAY.toordinal()
    days = first + np.floor(rng.random(len(year)) ** 1.5 * (last - first + 1)).astype(int)
    return [dt.date.fromordinal(int(d)) for d in days]
