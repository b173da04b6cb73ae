"""Vector files -> validated, reprojected rows ready for COPY.

Reading goes through pyogrio (GDAL). Every value is checked against the layer declaration
before anything touches the database, so a bad file fails with a message naming the row and
field, and the loaded data stays as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
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
from ingestion.values import check_value, coerce_value, is_null
from layers.model import Layer, LayerField, ValueSource

TYPE_IDS = {
    "Point": 0,
    "LineString": 1,
    "Polygon": 3,
    "MultiPoint": 4,
    "MultiLineString": 5,
    "MultiPolygon": 6,
}
SINGLE_TYPE_IDS = {"MultiPoint": 0, "MultiLineString": 1, "MultiPolygon": 3}
"""Single-part type id that is promoted to each multi-part type."""


@dataclass(frozen=True)
class PreparedLayer:
    """Rows of one layer: id, the fields in declaration order, geometry last as hex EWKB."""

    layer: Layer
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    bbox_4326: tuple[float, float, float, float] | None
    source_file: str
    repaired: int = 0


def read_vector(path: Path, layer_name: str | None = None, geometry: bool = True) -> pd.DataFrame:
    """Read a vector file (or, with `geometry=False`, an attribute table) with pyogrio.

    Raises:
        SourceNotFoundError: the file is missing or GDAL cannot read it.
        InvalidGeometryError: a geometry was expected and the file has none, or no CRS.
    """
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such file")
    try:
        frame = pyogrio.read_dataframe(path, layer=layer_name, read_geometry=geometry)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceNotFoundError(f"{path}: cannot be read as a vector file ({exc})") from exc
    if geometry:
        if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name is None:
            raise InvalidGeometryError(f"{path}: has no geometry column")
        if frame.crs is None:
            raise InvalidGeometryError(f"{path}: has no coordinate reference system")
    return frame


def source_path(layer: Layer, data_dir: Path) -> Path:
    """The file a layer's declared source names, inside `data_dir`.

    Raises:
        SourceNotFoundError: the layer declares no file: no source at all, or a generated one
            (whoever generated the file knows its path and passes it to `prepare_layer`).
    """
    if layer.source is None or layer.source.file is None:
        reason = "is generated: give the generated file" if layer.source else "declares no source"
        raise SourceNotFoundError(f"layer {layer.id} {reason}")
    return data_dir / layer.source.file


def read_source(layer: Layer, data_dir: Path, path: Path | None = None) -> pd.DataFrame:
    """Read a layer's declared source (or `path` instead), with its declared joins."""
    main = path or source_path(layer, data_dir)
    layer_name = layer.source.layer if layer.source and path is None else None
    frame = read_vector(main, layer_name, geometry=layer.has_geometry)
    for join in layer.source.joins if layer.source else []:
        other = pd.DataFrame(read_vector(data_dir / join.file, geometry=False))
        for frame_, name in ((frame, main.name), (other, join.file)):
            if join.on not in frame_.columns:
                raise SchemaMismatchError(f"{name}: join column {join.on!r} is missing")
        repeated = other[join.on][other[join.on].duplicated()]
        if len(repeated):  # each feature joins one row at most (a many-to-one join)
            raise SchemaMismatchError(
                f"{join.file}: join key {join.on!r} = {repeated.iloc[0]!r} is there more than once"
            )
        other = other.add_prefix(join.prefix).rename(columns={join.prefix + join.on: join.on})
        frame = frame.merge(other, on=join.on, how="left", validate="many_to_one")
    return frame


def field_values(layer: Layer, field: LayerField, frame: pd.DataFrame, name: str) -> list[Any]:
    """The checked values of one field for every row of the source.

    A generated layer's file has one column per field, with the field's name.
    """
    spec = field.value_source
    if spec is None and layer.source is not None and layer.source.generated:
        spec = ValueSource(column=field.name)
    if spec is None:
        return [None] * len(frame) if not field.required else _missing(layer, field, name)
    if spec.column not in frame.columns:
        raise SchemaMismatchError(
            f"{name}: column {spec.column!r} (for field {field.name!r} of "
            f"layer {layer.id}) is missing; columns: {list(frame.columns)}"
        )
    derive = get_derivation(spec.derive) if spec.derive else None
    where = f"field {field.name!r}" + (
        f" (from column {spec.column!r})" if spec.column != field.name else ""
    )
    values = []
    for row_number, raw in enumerate(frame[spec.column].tolist(), start=1):
        value = derive(raw) if derive else raw
        if spec.map is not None and not is_null(value) and str(value) in spec.map:
            value = spec.map[str(value)]
        if is_null(value) and spec.default is not None:
            value = spec.default
        try:
            value = coerce_value(field, value)
        except (ValueError, TypeError) as exc:
            raise InvalidValueError(
                f"{name}, feature {row_number}, {where}: {exc} (expected {field.type})"
            ) from exc
        broken = check_value(field, value)
        if broken:
            detail = broken if value is None else f"{value!r} is {broken}"
            raise InvalidValueError(f"{name}, feature {row_number}, {where}: {detail}")
        values.append(value)
    return values


def _missing(layer: Layer, field: LayerField, name: str) -> list[Any]:
    raise SchemaMismatchError(
        f"{name}: field {field.name!r} of layer {layer.id} is required "
        "but the declaration maps no source column to it"
    )


def prepare_geometries(layer: Layer, frame: gpd.GeoDataFrame, name: str) -> tuple[list[str], int]:
    """Validated geometries in the storage CRS as hex EWKB, and how many were repaired.

    Vectorised with shapely 2: a national layer of 300,000 plots is checked in seconds.
    """
    target = CRS.from_epsg(layer.storage_srid)
    if not CRS(frame.crs).equals(target):
        frame = frame.to_crs(target)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise InvalidGeometryError(f"{name}, feature {row}: geometry is missing or empty")
    invalid = ~shapely.is_valid(geoms)
    repaired = int(invalid.sum())
    if repaired:
        if not (layer.source and layer.source.repair_invalid):
            row = int(np.flatnonzero(invalid)[0])
            raise InvalidGeometryError(
                f"{name}, feature {row + 1}: invalid geometry "
                f"({shapely.is_valid_reason(geoms[row])})"
            )
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    types = shapely.get_type_id(geoms)
    single = SINGLE_TYPE_IDS.get(str(layer.geometry_type))
    if single is not None:
        to_promote = types == single
        geoms[to_promote] = [
            getattr(shapely, str(layer.geometry_type))([g]) for g in geoms[to_promote]
        ]
        types = shapely.get_type_id(geoms)
    wrong = types != TYPE_IDS[str(layer.geometry_type)]
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InvalidGeometryError(
            f"{name}, feature {row + 1}: {geoms[row].geom_type} where "
            f"layer {layer.id} holds {layer.geometry_type}"
        )
    with_srid = shapely.set_srid(geoms, layer.storage_srid)
    return list(shapely.to_wkb(with_srid, hex=True, include_srid=True)), repaired


def feature_ids(frame: pd.DataFrame, name: str) -> list[int]:
    """The source's integer `id` column when it has one (unique), else 1..n."""
    if "id" not in frame.columns:
        return list(range(1, len(frame) + 1))
    ids = pd.to_numeric(frame["id"], errors="coerce")
    if ids.isna().any() or not (ids % 1 == 0).all() or not ids.is_unique:
        raise InvalidValueError(f"{name}: column 'id' must hold unique whole numbers")
    return [int(v) for v in ids]


def prepare_layer(layer: Layer, data_dir: Path, path: Path | None = None) -> PreparedLayer:
    """Read, validate and reproject a layer's source into rows for COPY.

    Raises:
        IngestionError: any problem with the file, naming the feature and field at fault.
    """
    frame = read_source(layer, data_dir, path)
    name = (path or source_path(layer, data_dir)).name
    if len(frame) == 0:
        raise IngestionError(f"{name}: holds no features for layer {layer.id}")
    columns = [feature_ids(frame, name)]
    columns += [field_values(layer, f, frame, name) for f in layer.fields]
    names = ["id", *(f.name for f in layer.fields)]
    bbox = None
    if layer.has_geometry:
        geoms, repaired = prepare_geometries(layer, frame, name)
        columns.append(geoms)
        names.append("geom")
        bounds = frame.to_crs(4326).total_bounds if frame.crs else [np.nan] * 4
        if all(map(math.isfinite, bounds)):
            bbox = tuple(float(v) for v in bounds)
    else:
        repaired = 0
    rows = [tuple(values) for values in zip(*columns, strict=True)]
    return PreparedLayer(layer, tuple(names), rows, bbox, name, repaired)  # type: ignore[arg-type]
