"""Geometries of a chunk: reprojected, repaired where the repair keeps the type, checked
(vectorised with shapely 2; no loop over rows in Python)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ingestion.report import ValidationReport
from layers.geography import KYRGYZSTAN_EXTENT_4326
from layers.model import Layer

TYPE_IDS = {
    "Point": 0,
    "LineString": 1,
    "Polygon": 3,
    "MultiPoint": 4,
    "MultiLineString": 5,
    "MultiPolygon": 6,
}
SINGLE_OF_MULTI = {"MultiPoint": 0, "MultiLineString": 1, "MultiPolygon": 3}
"""The single-part type id promoted to each multi-part type."""


def _promote(layer: Layer, geoms: np.ndarray) -> np.ndarray:
    single = SINGLE_OF_MULTI.get(str(layer.geometry_type))
    if single is None:
        return geoms
    to_promote = shapely.get_type_id(geoms) == single
    if to_promote.any():
        parts = geoms[to_promote]
        index = np.arange(len(parts))
        geoms = geoms.copy()
        geoms[to_promote] = (
            shapely.multipolygons(parts, indices=index)
            if single == 3
            else (
                shapely.multilinestrings(parts, indices=index)
                if single == 1
                else shapely.multipoints(parts, indices=index)
            )
        )
    return geoms


def chunk_geometries(
    layer: Layer, frame: pd.DataFrame, crs: CRS, rows: np.ndarray, report: ValidationReport
) -> tuple[list[bytes | None], np.ndarray]:
    """EWKB of each row's geometry in the layer's storage CRS, and the mask of rows whose
    geometry has no blocking problem."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        report.note("no_geometry", f"the file has no geometry; layer {layer.id} needs one")
        return [None] * len(frame), np.zeros(len(frame), dtype=bool)
    series = frame.geometry.set_crs(crs, allow_override=True)
    target = CRS.from_epsg(layer.storage_srid)
    stored = series if crs.equals(target) else series.to_crs(target)
    geoms = np.asarray(stored.values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    _record(report, "empty_geometry", "the geometry is missing or empty", rows, ~ok, None)
    geoms = np.where(ok, geoms, None)
    geoms = _repair(layer, geoms, ok, rows, report)
    geoms = _promote(layer, geoms)
    types = shapely.get_type_id(geoms)
    wrong = ok & (types != TYPE_IDS[str(layer.geometry_type)])
    _record(
        report,
        "geometry_type",
        f"layer {layer.id} holds {layer.geometry_type}",
        rows,
        wrong,
        shapely.get_type_id(geoms),
    )
    ok &= ~wrong
    in_4326 = stored if layer.storage_srid == 4326 else stored.to_crs(4326)
    bounds = shapely.bounds(np.asarray(in_4326.values, dtype=object))
    west, south, east, north = KYRGYZSTAN_EXTENT_4326
    outside = ok & ~(
        (bounds[:, 0] >= west)
        & (bounds[:, 1] >= south)
        & (bounds[:, 2] <= east)
        & (bounds[:, 3] <= north)
    )
    centres = [f"{b[0]:.4f} {b[1]:.4f}" for b in bounds[outside][:20]]
    if outside.any():
        found = report.problem(
            "outside_country", "the geometry lies outside Kyrgyzstan (lon lat of its corner)"
        )
        found.add(list(rows[outside]), centres)
    ok &= ~outside
    ewkb = shapely.to_wkb(shapely.set_srid(geoms, layer.storage_srid), include_srid=True)
    return list(np.where(ok, ewkb, None)), ok


def _repair(
    layer: Layer, geoms: np.ndarray, ok: np.ndarray, rows: np.ndarray, report: ValidationReport
) -> np.ndarray:
    invalid = ok & ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    reasons = shapely.is_valid_reason(geoms[invalid])
    repaired = _promote(layer, shapely.make_valid(geoms[invalid]))
    keeps = shapely.get_type_id(repaired) == TYPE_IDS[str(layer.geometry_type)]
    keeps &= ~shapely.is_empty(repaired)
    index = np.flatnonzero(invalid)
    geoms = geoms.copy()
    geoms[index[keeps]] = repaired[keeps]
    if keeps.any():
        found = report.problem(
            "repaired_geometry", "invalid geometry repaired with make_valid", blocking=False
        )
        found.add(list(rows[index[keeps]]), list(reasons[keeps]))
    if (~keeps).any():
        found = report.problem(
            "invalid_geometry",
            f"invalid geometry; make_valid would change its type from {layer.geometry_type}",
        )
        found.add(list(rows[index[~keeps]]), list(reasons[~keeps]))
        ok[index[~keeps]] = False
    return geoms


def _record(
    report: ValidationReport,
    code: str,
    message: str,
    rows: np.ndarray,
    bad: np.ndarray,
    type_ids: np.ndarray | None,
) -> None:
    if not bad.any():
        return
    names = {v: k for k, v in TYPE_IDS.items()} | {7: "GeometryCollection", -1: "none"}
    values = [names.get(int(t), str(t)) for t in type_ids[bad][:20]] if type_ids is not None else []
    report.problem(code, message).add(list(rows[bad]), values)
