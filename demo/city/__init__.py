"""City twins of Bishkek and Osh: districts, buildings, utility lines and environmental
sensors, laid out on street grids inside the real city areas.

Bishkek is its OpenStreetMap boundary; Osh, which has no open boundary, is the Natural Earth
urban area around Osh within 8 km of the centre. Each city gets an arterial grid aligned with
its real street grid (Bishkek's runs north-south and east-west), zones (historic centre,
Soviet microdistricts, new high-rise quarters, private houses, industry, campuses), local
streets and blocks, and buildings on lots inside the blocks (see `city_layout`,
`city_lots`, `city_buildings`, `city_networks`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from demo.city.buildings import CityModel, city_model, city_rngs
from demo.city.layout import CityPlan, district_polygons
from demo.city.networks import environment_sensors, utility_lines
from demo.context import UTM_43N, Context

GEOD = Geod(ellps="WGS84")


def generate(ctx: Context) -> dict[str, pd.DataFrame]:
    """Frames of `city_districts`, `buildings`, `utility_lines` and `environment_sensors`."""
    model = city_model(ctx)
    rngs = city_rngs(ctx)
    districts = districts_frame(model)
    return {
        "city_districts": districts.drop(columns="key"),
        "buildings": buildings_frame(model, districts),
        "utility_lines": utilities_frame(model, rngs[4]),
        "environment_sensors": sensors_frame(model, ctx.scale.factor, rngs[5]),
    }


def to_4326(plan: CityPlan, geoms: np.ndarray) -> gpd.GeoSeries:
    """Grid-frame geometries of a plan in EPSG:4326."""
    return gpd.GeoSeries(plan.utm(np.asarray(geoms)), crs=UTM_43N).to_crs(4326)


def geodesic_area_m2(geoms: gpd.GeoSeries | np.ndarray) -> np.ndarray:
    """Area on the WGS84 ellipsoid (m²) of EPSG:4326 (multi)polygons, holes subtracted:
    `pyproj.Geod.polygon_area_perimeter` ring by ring."""
    parts, owner = shapely.get_parts(np.asarray(geoms), return_index=True)
    holes = shapely.get_num_interior_rings(parts)
    hole_part = np.repeat(np.arange(len(parts)), holes)
    hole_index = np.arange(holes.sum()) - np.repeat(np.cumsum(holes) - holes, holes)
    rings = np.concatenate(
        [shapely.get_exterior_ring(parts), shapely.get_interior_ring(parts[hole_part], hole_index)]
    )
    ring_owner = np.concatenate([owner, owner[hole_part]])
    sign = np.concatenate([np.ones(len(parts)), -np.ones(len(hole_part))])
    coords, index = shapely.get_coordinates(rings, return_index=True)
    ends = np.cumsum(np.bincount(index, minlength=len(rings)))
    starts = ends - np.bincount(index, minlength=len(rings))
    lon, lat = coords[:, 0], coords[:, 1]
    area = np.array(
        [
            abs(GEOD.polygon_area_perimeter(lon[a:b], lat[a:b])[0])
            for a, b in zip(starts, ends, strict=True)
        ]
    )
    return np.bincount(ring_owner, weights=sign * area, minlength=len(geoms))


def to_multi(geoms: np.ndarray) -> np.ndarray:
    """Polygons and lines promoted to MultiPolygons and MultiLineStrings."""
    out = np.asarray(geoms, dtype=object).copy()
    for single, make in ((3, shapely.multipolygons), (1, shapely.multilinestrings)):
        where = np.flatnonzero(shapely.get_type_id(out) == single)
        if len(where):
            out[where] = make(out[where], indices=np.arange(len(where)))
    return out


def _multi(geoms: gpd.GeoSeries, kind: str = "MultiPolygon") -> gpd.GeoSeries:
    return gpd.GeoSeries(to_multi(geoms.to_numpy()), index=geoms.index, crs=geoms.crs)


def districts_frame(model: CityModel) -> gpd.GeoDataFrame:
    """Bishkek's four districts and Osh's five planning zones, ids 1-9."""
    rows = []
    for plan in model.plans:
        polygons = district_polygons(plan)
        for district in plan.names.districts:
            rows.append(
                {
                    "city": plan.spec.name,
                    "key": district.key,
                    "name_ky": district.name_ky,
                    "name_ru": district.name_ru,
                    "name_en": district.name_en,
                    "population": district.population,
                    "geometry": to_4326(plan, np.array([polygons[district.key]]))[0],
                }
            )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    frame["geometry"] = _multi(frame.geometry)
    frame["area_km2"] = np.round(geodesic_area_m2(frame.geometry) / 1e6, 2)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def buildings_frame(model: CityModel, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per building, ids from 1, in EPSG:4326."""
    frames = []
    for index, plan in enumerate(model.plans):
        b = model.buildings[model.buildings.city == index]
        boxes = shapely.box(b.fu0, b.fv0, b.fu1, b.fv1)
        frames.append(
            gpd.GeoDataFrame(
                b.assign(city_name=plan.spec.name),
                geometry=to_4326(plan, boxes).to_numpy(),
                crs=4326,
            )
        )
    b = pd.concat(frames, ignore_index=True)
    ids = districts.set_index(["city", "key"])
    key = pd.MultiIndex.from_arrays([b.city_name, b.district])
    frame = gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(b) + 1),
            "city": b.city_name,
            "district": ids.name_en.reindex(key).to_numpy(),
            "district_id": ids.id.reindex(key).to_numpy(),
            "address": b.address,
            "use": b.use,
            "floors": b.floors.astype("int32"),
            "height_m": b.height_m,
            "year_built": b.year_built.astype("int32"),
        },
        geometry=_multi(b.geometry).to_numpy(),
        crs=4326,
    )
    frame.insert(9, "footprint_area_m2", np.round(geodesic_area_m2(frame.geometry), 1))
    frame.insert(10, "osm_id", pd.array([pd.NA] * len(frame), dtype="Int64"))  # import-osm's
    return frame


def utilities_frame(model: CityModel, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Utility lines in EPSG:4326."""
    lines = utility_lines(model, rng)
    geoms = np.empty(len(lines), dtype=object)
    for index, plan in enumerate(model.plans):
        m = (lines.city == index).to_numpy()
        geoms[m] = to_4326(plan, lines.geometry.to_numpy()[m]).to_numpy()
    frame = gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(lines) + 1),
            "city": lines.city_name,
            "network_type": lines.network_type,
            "operator": lines.operator,
            "street": lines.street,
            "diameter_mm": lines.diameter_mm,
            "voltage_kv": lines.voltage_kv,
            "material": lines.material,
            "year_laid": lines.year_laid.astype("int32"),
            "condition": lines.condition,
        },
        geometry=_multi(gpd.GeoSeries(geoms, crs=4326), "MultiLineString").to_numpy(),
        crs=4326,
    )
    return frame


def sensors_frame(model: CityModel, factor: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Environmental sensors in EPSG:4326."""
    sensors = environment_sensors(model, factor, rng)
    geoms = np.empty(len(sensors), dtype=object)
    for index, plan in enumerate(model.plans):
        m = (sensors.plan == index).to_numpy()
        geoms[m] = to_4326(plan, sensors.geometry.to_numpy()[m]).to_numpy()
    return gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(sensors) + 1),
            "sensor_code": sensors.sensor_code,
            "city": sensors.city_name,
            "parameter": sensors.parameter,
            "unit": sensors.unit,
            "installed": sensors.installed,
            "operator": sensors.operator,
            "status": sensors.status,
            "last_value": sensors.last_value,
            "last_observed_at": pd.to_datetime(sensors.last_observed_at),
        },
        geometry=geoms,
        crs=4326,
    )
