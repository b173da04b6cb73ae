"""Cadastre parcels, public view (no right holders), and the cadastral zones and blocks that
tile the country: urban parcels of Bishkek and Osh around the buildings of the city twins,
rural parcels across the rest of the country.

Cadastral identification codes (ИКК) are `T-RR-ZZ-BBBB-PPPP`, territory, rayon, zone, block,
parcel: the form and its checks are the cadastre's rules (`cadastre/codes.py`). The demo's
cadastral territories (`T-RR`) tile the country (`territories.py`, `urban.py`); each is cut
into zones and each zone into blocks without gap or overlap, and every parcel lies in the
block its code names:

- Bishkek (1) and Osh city (9) (`urban.py`): `RR` the district (Bishkek 01 Lenin,
  02 Oktyabr, 03 Birinchi Mai, 04 Sverdlov; Osh zones 01-05); `ZZ` the superblocks of a
  2 km square of the street grid; `BBBB` a street block out to the centrelines of its
  streets; `PPPP` its lots, south to north, west to east. Stable across scales.
- The oblasts (2-8) (`zoning.py`): `RR` the rayon's rank by name within its oblast; `ZZ`
  Voronoi cells of the GeoNames places (aiyl aimaks, roughly) and of a 30 km grid where no
  place is; `BBBB` Voronoi cells of seeds denser near settlements; `PPPP` the parcels of a
  block, north to south, west to east.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cadastre.national import kyrg06_srid
from demo import people
from demo.cadastre.cover import ellipsoid_area_m2, valid_in_metres
from demo.cadastre.rural import rural_parcels
from demo.cadastre.territories import rayon_territories
from demo.cadastre.urban import city_cover
from demo.cadastre.zoning import rural_cover
from demo.city import geodesic_area_m2, to_multi
from demo.city.buildings import city_model
from demo.city.parcels import urban_parcels
from demo.context import Context

LAND_CATEGORIES = (
    "settlements",
    "agricultural",
    "industry_transport",
    "specially_protected",
    "forest",
    "water",
    "reserve",
)

PARCEL_COLUMNS = [
    "id",
    "cadastral_code",
    "land_category",
    "designated_use",
    "area_m2",
    "area_national_m2",
    "address",
    "registered_on",
    "agri_plot_code",
    "geometry",
]


def generate(ctx: Context) -> dict[str, pd.DataFrame]:
    """The `cadastre_zones`, `cadastre_blocks` and `cadastre_parcels` frames and the
    restricted `cadastre_right_holders` (fictional persons, `people.py`)."""
    rng = ctx.rng("cadastre")
    model = city_model(ctx)
    urban = urban_parcels(model, rng)
    cities = city_cover(model)
    rural = rural_parcels(ctx, rng, cities.areas)
    territories = rayon_territories(ctx, cities.areas.union_all())
    country = rural_cover(ctx, territories, rural)
    parcels = gpd.GeoDataFrame(pd.concat([urban, country.parcels], ignore_index=True), crs=4326)
    parcels["area_m2"] = np.round(geodesic_area_m2(parcels.geometry), 1)
    parcels["area_national_m2"] = np.round(national_area_m2(parcels.geometry), 1)
    parcels.insert(0, "id", np.arange(1, len(parcels) + 1))
    return {
        "cadastre_zones": _layer(cities.zones, country.zones, "zone_code"),
        "cadastre_blocks": _layer(cities.blocks, country.blocks, "block_code"),
        "cadastre_parcels": parcels[PARCEL_COLUMNS],
        "cadastre_right_holders": people.right_holders(parcels, ctx.rng("cadastre.people")),
    }


def cadastral_territories(ctx: Context) -> gpd.GeoDataFrame:
    """Every cadastral territory `T-RR` (`code`, EPSG:4326): the city districts and the
    rayons as the generator draws them (for checks of the cover)."""
    cities = city_cover(city_model(ctx))
    rural = rayon_territories(ctx, cities.areas.union_all())
    return gpd.GeoDataFrame(pd.concat([cities.territories, rural], ignore_index=True), crs=4326)


def _layer(urban: gpd.GeoDataFrame, rural: gpd.GeoDataFrame, key: str) -> gpd.GeoDataFrame:
    """Zones or blocks of both parts, by code, as MultiPolygons valid in metres too, with
    their area on the ellipsoid."""
    frame = gpd.GeoDataFrame(pd.concat([urban, rural], ignore_index=True), crs=4326)
    frame = frame.sort_values(key, kind="stable").reset_index(drop=True)
    frame["geometry"] = to_multi(valid_in_metres(frame.geometry.to_numpy()))
    frame["area_m2"] = np.round(ellipsoid_area_m2(frame.geometry.to_numpy()), 1)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def national_area_m2(geoms: gpd.GeoSeries) -> np.ndarray:
    """Areas in m² in the Kyrg-06 zone of each geometry's longitude (`cadastre.national`)."""
    lon = shapely.get_coordinates(shapely.point_on_surface(geoms.to_crs(4326).to_numpy()))[:, 0]
    srids = np.array([kyrg06_srid(x) for x in lon])
    out = np.zeros(len(geoms))
    for srid in np.unique(srids):
        mine = srids == srid
        out[mine] = geoms[mine].to_crs(int(srid)).area.to_numpy()
    return out
