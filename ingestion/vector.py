"""Vector files -> validated, reprojected rows ready for COPY.

Reading goes through pyogrio (GDAL). Every value is checked against the layer declaration
before anything touches the database, so a bad file fails with a message naming the row and
field, and the loaded data stays as it was.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from ingestion.derive import get_derivation
from ingestion.errors import (
    IngestionError,
    InvalidGeometryError,
    InvalidValueError,
    SchemaMismatchError,
    SourceNotFoundError,
)
from layers.model import Layer, LayerField

MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}


@dataclass(frozen=True)
class PreparedLayer:
    """Rows of one layer, in declaration column order, geometry last as hex EWKB."""

    layer: Layer
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    bbox_4326: tuple[float, float, float, float] | None
    source_file: str
    repaired: int = 0


def read_vector(path: Path, layer_name: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio.

    Raises:
        SourceNotFoundError: the file is missing or GDAL cannot read it.
    """
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such file")
    try:
        frame = pyogrio.read_dataframe(path, layer=layer_name)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceNotFoundError(f"{path}: cannot be read as a vector file ({exc})") from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name is None:
        raise InvalidGeometryError(f"{path}: has no geometry column")
    if frame.crs is None:
        raise InvalidGeometryError(f"{path}: has no coordinate reference system")
    return frame


def read_source(layer: Layer, data_dir: Path, path: Path | None = None) -> gpd.GeoDataFrame:
    """Read a layer's declared source (or `path` instead), with its declared joins."""
    if layer.source is None and path is None:
        raise SourceNotFoundError(f"layer {layer.id} declares no source file; give one")
    main = path or data_dir / layer.source.file  # type: ignore[union-attr]
    frame = read_vector(main, layer.source.layer if layer.source and path is None else None)
    for join in layer.source.joins if layer.source else []:
        other = read_vector(data_dir / join.file)
        other = pd.DataFrame(other.drop(columns=other.geometry.name))
        for frame_, name in ((frame, main.name), (other, join.file)):
            if join.on not in frame_.columns:
                raise SchemaMismatchError(f"{name}: join column {join.on!r} is missing")
        other = other.add_prefix(join.prefix).rename(columns={join.prefix + join.on: join.on})
        frame = frame.merge(other, on=join.on, how="left", validate="many_to_one")
    return frame


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _coerce(field: LayerField, value: Any) -> Any:
    """Convert a cell to the field's Python type (ValueError when it cannot be)."""
    if _is_null(value):
        return None
    match field.type:
        case "text":
            return str(value)
        case "integer" | "bigint":
            number = float(value)
            if not number.is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            return int(number)
        case "double":
            return float(value)
        case "boolean":
            if isinstance(value, str):
                if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                    raise ValueError(f"{value!r} is not a boolean")
                return value.lower() in {"true", "1", "yes"}
            return bool(value)
        case "date":
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        case "timestamptz":
            stamp = pd.Timestamp(value)
            return (stamp if stamp.tzinfo else stamp.tz_localize("UTC")).to_pydatetime()
    raise ValueError(f"unsupported type {field.type}")  # pragma: no cover


def _check_rules(field: LayerField, value: Any) -> str | None:
    """A description of the broken rule, None when the value is acceptable."""
    if value is None:
        return "a value is required" if field.required else None
    if field.minimum is not None and value < field.minimum:
        return f"below the minimum {field.minimum}"
    if field.maximum is not None and value > field.maximum:
        return f"above the maximum {field.maximum}"
    if field.enum is not None and value not in field.enum:
        return f"not one of {field.enum}"
    return None


def field_values(layer: Layer, field: LayerField, frame: pd.DataFrame, name: str) -> list[Any]:
    """The checked values of one field for every row of the source."""
    spec = field.value_source
    if spec is None:
        return [None] * len(frame) if not field.required else _missing(layer, field, name)
    if spec.column not in frame.columns:
        raise SchemaMismatchError(f"{name}: column {spec.column!r} (for field {field.name!r} of "
                                  f"layer {layer.id}) is missing; columns: {list(frame.columns)}")
    derive = get_derivation(spec.derive) if spec.derive else None
    where = f"field {field.name!r}" + (f" (from column {spec.column!r})"
                                       if spec.column != field.name else "")
    values = []
    for row_number, raw in enumerate(frame[spec.column].tolist(), start=1):
        value = derive(raw) if derive else raw
        if spec.map is not None and not _is_null(value) and str(value) in spec.map:
            value = spec.map[str(value)]
        if _is_null(value) and spec.default is not None:
            value = spec.default
        try:
            value = _coerce(field, value)
        except (ValueError, TypeError) as exc:
            raise InvalidValueError(f"{name}, feature {row_number}, {where}: "
                                    f"{exc} (expected {field.type})") from exc
        broken = _check_rules(field, value)
        if broken:
            detail = broken if value is None else f"{value!r} is {broken}"
            raise InvalidValueError(f"{name}, feature {row_number}, {where}: {detail}")
        values.append(value)
    return values


def _missing(layer: Layer, field: LayerField, name: str) -> list[Any]:
    raise SchemaMismatchError(f"{name}: field {field.name!r} of layer {layer.id} is required "
                              "but the declaration maps no source column to it")


def prepare_geometries(layer: Layer, frame: gpd.GeoDataFrame, name: str) -> tuple[list[str], int]:
    """Validated geometries in the storage CRS as hex EWKB, and how many were repaired."""
    target = CRS.from_epsg(layer.storage_srid)
    if not CRS(frame.crs).equals(target):
        frame = frame.to_crs(target)
    geoms = frame.geometry.values
    repaired = 0
    out: list[str] = []
    for row_number, geom in enumerate(geoms, start=1):
        where = f"{name}, feature {row_number}"
        if geom is None or geom.is_empty:
            raise InvalidGeometryError(f"{where}: geometry is missing or empty")
        if not geom.is_valid:
            if not (layer.source and layer.source.repair_invalid):
                raise InvalidGeometryError(f"{where}: invalid geometry "
                                           f"({shapely.is_valid_reason(geom)})")
            geom = shapely.make_valid(geom)
            repaired += 1
        if MULTI.get(geom.geom_type) == layer.geometry_type:
            geom = getattr(shapely, layer.geometry_type)([geom])
        if geom.geom_type != layer.geometry_type:
            raise InvalidGeometryError(f"{where}: {geom.geom_type} where layer {layer.id} "
                                       f"holds {layer.geometry_type}")
        out.append(shapely.to_wkb(shapely.set_srid(geom, layer.storage_srid), hex=True,
                                  include_srid=True))
    return out, repaired


def prepare_layer(layer: Layer, data_dir: Path, path: Path | None = None) -> PreparedLayer:
    """Read, validate and reproject a layer's source into rows for COPY.

    Raises:
        IngestionError: any problem with the file, naming the feature and field at fault.
    """
    frame = read_source(layer, data_dir, path)
    name = (path or data_dir / layer.source.file).name  # type: ignore[union-attr]
    if len(frame) == 0:
        raise IngestionError(f"{name}: holds no features for layer {layer.id}")
    columns = [field_values(layer, f, frame, name) for f in layer.fields]
    geoms, repaired = prepare_geometries(layer, frame, name)
    bounds = frame.to_crs(4326).total_bounds
    bbox = tuple(float(v) for v in bounds) if all(map(math.isfinite, bounds)) else None
    rows = [tuple(values) for values in zip(*columns, geoms, strict=True)]
    return PreparedLayer(layer, tuple([f.name for f in layer.fields] + ["geom"]), rows,
                         bbox, name, repaired)  # type: ignore[arg-type]
