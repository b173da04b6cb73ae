"""Disaster exposure: what lies inside a hazard zone, totalled by oblast and rayon.

The zone is one hazard zone (`hazardZoneId`), the union of the zones of a hazard type at or
above a level (`hazardType`, `hazardLevel`), or any polygon (`geometry`, CRS84). It is cut
by the rayons (`base.rayons`); each piece counts:

* buildings (`city.buildings`) whose point on surface lies in it: count, floor area
  (footprint area x floors, the footprint measured on the WGS 84 ellipsoid when not
  recorded) and estimated residents: residential floor area / 30 m² per resident, mixed-use
  buildings counted half residential, other uses none (`M2_PER_RESIDENT`,
  `MIXED_RESIDENTIAL_SHARE`: about the gross floor area per person of Kyrgyz urban housing);
  education buildings (use `education`) separately;
* cadastral parcels (`cadastre.cadastre_parcels`, public view): count (by point on surface)
  and the parcel area inside the zone;
* road length inside the zone by road class, canals crossing it and their length inside;
* sports facilities (points) inside and their capacity.

Lengths are in km and areas in m² (geodesic). Parts of the zone outside every rayon count
nothing (the rayons cover the country).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import dict_row

from analyses import inputs as check
from analyses.errors import InputNotFoundError, InvalidInputError
from analyses.sql import statement

PROCESS_ID = "hazard-exposure"
HAZARD_TYPES = ("mudflow", "flood", "landslide", "avalanche", "seismic", "fire")
HAZARD_LEVELS = ("low", "moderate", "high", "very_high")
M2_PER_RESIDENT = 30.0
MIXED_RESIDENTIAL_SHARE = 0.5
ROAD_CLASSES = ("international", "national", "local", "urban")

_METRICS = {
    "buildings": "buildings",
    "floor_area_m2": "floorAreaM2",
    "residents": "estimatedResidents",
    "education_buildings": "educationBuildings",
    "education_floor_area_m2": "educationFloorAreaM2",
    "parcels": "parcels",
    "parcel_area_m2": "parcelAreaM2",
    "canals": "canals",
    "canal_km": "canalLengthKm",
    "sports_facilities": "sportsFacilities",
    "sports_capacity": "sportsCapacity",
}
_METRICS_SCHEMA = {
    "type": "object",
    "properties": {
        **{name: {"type": "number"} for name in _METRICS.values()},
        "areaKm2": {"type": "number"},
        "roadLengthKmByClass": {
            "type": "object",
            "properties": {c: {"type": "number"} for c in ROAD_CLASSES},
        },
    },
}

DESCRIPTION: dict[str, Any] = {
    "version": "1.0.0",
    "id": PROCESS_ID,
    "title": "Disaster exposure of a hazard zone",
    "description": (
        "Buildings (count, floor area = footprint x floors, estimated residents = residential "
        f"floor area / {M2_PER_RESIDENT:g} m² per resident, mixed use counted "
        f"{MIXED_RESIDENTIAL_SHARE:g} residential), education buildings, cadastral parcels, "
        "road length by class, canals and sports facilities inside a hazard zone, totalled "
        "by oblast and rayon. The zone is given by id (hazardZoneId), by hazard type and "
        "minimum level (hazardType, hazardLevel: the union of those zones) or as any "
        "polygon (geometry, CRS84): exactly one of the three."
    ),
    "keywords": ["disaster", "exposure", "hazard", "buildings", "roads"],
    "jobControlOptions": ["sync-execute", "async-execute"],
    "outputTransmission": ["value"],
    "inputs": {
        "hazardZoneId": {
            "title": "Hazard zone id",
            "description": "A feature id of the hazard_zones collection.",
            "schema": {"type": "integer", "minimum": 1},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "hazardType": {
            "title": "Hazard type",
            "description": "Every zone of this type (at or above hazardLevel).",
            "schema": {"type": "string", "enum": list(HAZARD_TYPES)},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "hazardLevel": {
            "title": "Minimum hazard level",
            "description": "With hazardType: zones of this level or higher (default low).",
            "schema": {"type": "string", "enum": list(HAZARD_LEVELS), "default": "low"},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "geometry": {
            "title": "Zone polygon",
            "description": "A GeoJSON Polygon or MultiPolygon in CRS84 (lon/lat).",
            "schema": {
                "type": "object",
                "contentMediaType": "application/geo+json",
                "properties": {"type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]}},
                "required": ["type", "coordinates"],
            },
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "exposure": {
            "title": "Exposure totals",
            "description": "Totals for the zone, by oblast and by rayon.",
            "schema": {
                "type": "object",
                "contentMediaType": "application/json",
                "properties": {
                    "zone": {"type": "object"},
                    "totals": _METRICS_SCHEMA,
                    "byOblast": {"type": "array", "items": _METRICS_SCHEMA},
                    "byRayon": {"type": "array", "items": _METRICS_SCHEMA},
                },
            },
        },
        "features": {
            "title": "Exposure by rayon as features",
            "description": "The zone cut by rayon, each piece with its totals (CRS84).",
            "schema": {"type": "object", "contentMediaType": "application/geo+json"},
        },
    },
    "example": {"inputs": {"hazardType": "mudflow", "hazardLevel": "high"}},
}


def parse(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The zone of a request: one of `hazardZoneId`, `hazardType` (+ `hazardLevel`) or
    `geometry`.

    Raises:
        InvalidInputError: none or several ways given, or a malformed one.
    """
    check.reject_unknown(inputs, DESCRIPTION["inputs"])
    given = [name for name in ("hazardZoneId", "hazardType", "geometry") if name in inputs]
    if len(given) != 1:
        raise InvalidInputError(
            "hazardZoneId", "give exactly one of hazardZoneId, hazardType or geometry"
        )
    if "hazardLevel" in inputs and given != ["hazardType"]:
        raise InvalidInputError("hazardLevel", "only meaningful with hazardType")
    if given == ["hazardZoneId"]:
        return {"hazardZoneId": check.integer(inputs, "hazardZoneId")}
    if given == ["hazardType"]:
        return {
            "hazardType": check.choice(inputs, "hazardType", HAZARD_TYPES),
            "hazardLevel": check.choice(inputs, "hazardLevel", HAZARD_LEVELS, default="low"),
        }
    return {"geometry": check.polygon(inputs, "geometry")}


def zone_geojson(conn: psycopg.Connection[Any], params: Mapping[str, Any]) -> str:
    """The zone as GeoJSON text (CRS84).

    Raises:
        InputNotFoundError: no hazard zone has the id, or none the type and level.
    """
    if "geometry" in params:
        return str(params["geometry"])
    if "hazardZoneId" in params:
        row = conn.execute(
            "SELECT ST_AsGeoJSON(geom) FROM disaster.hazard_zones WHERE id = %s",
            [params["hazardZoneId"]],
        ).fetchone()
        if row is None or row[0] is None:
            raise InputNotFoundError("hazardZoneId", f"no hazard zone {params['hazardZoneId']}")
        return str(row[0])
    levels = list(HAZARD_LEVELS[HAZARD_LEVELS.index(params["hazardLevel"]) :])
    row = conn.execute(
        "SELECT ST_AsGeoJSON(ST_Union(geom)) FROM disaster.hazard_zones "
        "WHERE hazard_type = %s AND hazard_level = ANY(%s)",
        [params["hazardType"], levels],
    ).fetchone()
    if row is None or row[0] is None:
        raise InputNotFoundError(
            "hazardType",
            f"no {params['hazardType']} zone of level {params['hazardLevel']} or higher",
        )
    return str(row[0])


def _metrics(row: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"areaKm2": float(row["area_km2"])}
    values.update({name: float(row[column]) for column, name in _METRICS.items()})
    values["roadLengthKmByClass"] = {c: float(row["road_km"].get(c, 0.0)) for c in ROAD_CLASSES}
    return values


def _add(total: dict[str, Any], metrics: Mapping[str, Any]) -> None:
    for name, value in metrics.items():
        if isinstance(value, dict):
            into = total.setdefault(name, {})
            for key, number in value.items():
                into[key] = into.get(key, 0.0) + number
        else:
            total[name] = total.get(name, 0.0) + value


def _rounded(metrics: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            out[name] = {k: round(v, 3) for k, v in value.items()}
        elif name in ("areaKm2", "canalLengthKm"):
            out[name] = round(value, 3)
        elif name.endswith("M2"):
            out[name] = round(value, 1)
        else:
            out[name] = round(value) if name != "estimatedResidents" else round(value, 1)
    return out


def run(
    conn: psycopg.Connection[Any], params: Mapping[str, Any], progress: Any = None
) -> dict[str, Any]:
    """Exposure of the zone of `params` (from `parse`).

    Returns:
        `exposure` (zone, totals, byOblast, byRayon) and `features` (GeoJSON
        FeatureCollection of the zone's piece in each rayon with its totals).

    Raises:
        InputNotFoundError: the hazard zone does not exist.
    """
    zone = zone_geojson(conn, params)
    if progress:
        progress(20, "zone resolved; counting by rayon")
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            statement("exposure"),
            {
                "zone": zone,
                "mixed_share": MIXED_RESIDENTIAL_SHARE,
                "m2_per_resident": M2_PER_RESIDENT,
            },
        )
        rows = cur.fetchall()
    totals: dict[str, Any] = {}
    oblasts: dict[str, dict[str, Any]] = {}
    rayons, features = [], []
    for row in rows:
        metrics = _metrics(row)
        _add(totals, metrics)
        _add(oblasts.setdefault(row["oblast"], {}), metrics)
        place = {"oblast": row["oblast"], "rayon": row["rayon"]}
        rayons.append({**place, **_rounded(metrics)})
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(row["geojson"]),
                "properties": {**place, **_flat(_rounded(metrics))},
            }
        )
    exposure = {
        "zone": {key: value for key, value in params.items() if key != "geometry"},
        "totals": _rounded(totals),
        "byOblast": [{"oblast": name, **_rounded(m)} for name, m in sorted(oblasts.items())],
        "byRayon": rayons,
    }
    return {"exposure": exposure, "features": {"type": "FeatureCollection", "features": features}}


def _flat(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Properties of a feature: road lengths as `roadKm_<class>` (flat, for GIS clients)."""
    flat = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    for road_class, km in metrics.get("roadLengthKmByClass", {}).items():
        flat[f"roadKm_{road_class}"] = km
    return flat
