"""What an export reads: per layer, its table as the features engine sees it and the WHERE
clause of the asked area, filter and time, built by the engine's own clause builders.

The CQL2 text is parsed by pygeofilter and translated by `features.cql` (through
`features.query.where_clause`), the datetime by `features.datetimes`, the bbox envelope by
`features.crs`: the same SQL as `/collections/{id}/items` builds, never a second
implementation. Only public fields are selected, and the caller's connection is the public
database role's, which cannot read restricted columns at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from exports.errors import InvalidExportError
from exports.formats import ExportFormat, get_format
from features.crs import CrsInfo, crs_info, envelope_clause
from features.errors import FeaturesError
from features.params import Params
from features.query import count_query, where_clause
from features.table import FeatureTable, feature_table, read_table_info
from layers.geography import CRS84
from layers.model import SUPPORTED_CRS, Layer

BBox = tuple[float, float, float, float]
"""(minx, miny, maxx, maxy) in CRS84 degrees."""


@dataclass(frozen=True)
class RegionRef:
    """An administrative unit resolved by the caller: the row `id` of `schema.table`."""

    kind: str  # "oblast" or "rayon"
    schema: str
    table: str
    id: int
    srid: int
    label: str


@dataclass(frozen=True, kw_only=True)
class ExportQuery:
    """An export as asked (already resolved: the region is a row, not a name).

    `layers` empty means every layer with geometry that has features in the area: the
    regional extract.
    """

    format: str
    layers: tuple[str, ...] = ()
    bbox: BBox | None = None
    region: RegionRef | None = None
    filter: str | None = None
    datetime: str | None = None
    crs: str | None = None

    def to_inputs(self) -> dict[str, Any]:
        """The query as JSON-able job inputs."""
        return asdict(self)

    @classmethod
    def from_inputs(cls, inputs: dict[str, Any]) -> ExportQuery:
        """The query a job's inputs hold."""
        values = dict(inputs)
        region = values.pop("region", None)
        bbox = values.pop("bbox", None)
        return cls(
            **{**values, "layers": tuple(values.get("layers") or ())},
            bbox=tuple(bbox) if bbox else None,  # type: ignore[arg-type]
            region=RegionRef(**region) if region else None,
        )


@dataclass(frozen=True)
class LayerExport:
    """One layer of an export: its table, columns and WHERE clause with its values."""

    layer: Layer
    table: FeatureTable
    fields: tuple[str, ...]
    """Public fields written after the id, in declaration order."""
    where: sql.Composable | None
    params: Params = field(repr=False)

    @property
    def has_geometry(self) -> bool:
        """False for a table without geometry (written without a geometry column)."""
        return self.table.geom_field is not None


@dataclass(frozen=True)
class ExportPlan:
    """Everything an export writes: format, target CRS, layers."""

    format: ExportFormat
    query: ExportQuery
    target: CrsInfo
    layers: tuple[LayerExport, ...]

    @property
    def srid(self) -> int:
        """The EPSG code of the written coordinates."""
        return self.target.srid


def parse_bbox(text: str) -> BBox:
    """`minx,miny,maxx,maxy` in CRS84 degrees.

    >>> parse_bbox("74.5,42.8,74.7,42.9")
    (74.5, 42.8, 74.7, 42.9)

    Raises:
        InvalidExportError: not four numbers within -180..180 / -90..90 with min < max.
    """
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(abs(v) < float("inf") for v in values):
        raise InvalidExportError(
            f"bbox must be four numbers minlon,minlat,maxlon,maxlat (CRS84), got {text!r}"
        )
    x1, y1, x2, y2 = values
    if not (-180 <= x1 < x2 <= 180 and -90 <= y1 < y2 <= 90):
        raise InvalidExportError(
            f"bbox {text!r}: need minlon < maxlon and minlat < maxlat in degrees "
            "(lon -180..180, lat -90..90)"
        )
    return (x1, y1, x2, y2)


def target_crs(text: str | None) -> CrsInfo:
    """The written CRS: CRS84 by default, else one of the layers' supported EPSG codes.

    Coordinates are written easting (longitude) first, as GIS files are.

    Raises:
        InvalidExportError: an unknown or unsupported CRS (the message lists the supported).
    """
    supported = ", ".join(f"EPSG:{code}" for code in SUPPORTED_CRS)
    try:
        info = crs_info(text or CRS84)
    except FeaturesError:
        info = None
    if info is None or info.srid not in SUPPORTED_CRS:
        raise InvalidExportError(f"unsupported crs {text!r}; supported: CRS84, {supported}")
    return CrsInfo(info.srid, False, info.digits)


def parse_filter(text: str) -> Any:
    """The pygeofilter tree of a CQL2 text filter.

    Raises:
        InvalidExportError: the text does not parse.
    """
    try:
        return parse_cql2_text(text)
    except Exception as exc:  # Lark's and pygeofilter's parse errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidExportError(f"malformed CQL2 filter {text!r}: {first}") from None


def area_clause(table: FeatureTable, params: Params, query: ExportQuery) -> sql.Composable | None:
    """Features intersecting the bbox (CRS84) or the region's geometry, or None."""
    if query.bbox is None and query.region is None:
        return None
    geom = sql.Identifier(table.geom_field or "geom")
    if query.bbox is not None:
        area = envelope_clause(params, query.bbox, crs_info(CRS84), table.srid)
    else:
        region = query.region
        assert region is not None
        area = sql.SQL("(SELECT {} FROM {} AS r WHERE r.id = {})").format(
            sql.SQL("ST_Transform(r.geom, {})").format(params.add(table.srid))
            if region.srid != table.srid
            else sql.SQL("r.geom"),
            sql.Identifier(region.schema, region.table),
            params.add(region.id),
        )
    return sql.SQL("({0} && {1} AND ST_Intersects({0}, {1}))").format(geom, area)


def layer_export(conn: psycopg.Connection[Any], layer: Layer, query: ExportQuery) -> LayerExport:
    """One layer's table and WHERE clause.

    Raises:
        InvalidExportError: an area on a layer without geometry, a filter naming a field the
            layer lacks, a malformed datetime.
    """
    names = [f.name for f in layer.public_fields]
    geom_field = "geom" if layer.has_geometry else None
    info = read_table_info(conn, layer.schema_name, layer.table, geom_field)
    table = feature_table(
        info,
        schema=layer.schema_name,
        table=layer.table,
        layer_id=layer.id,
        id_field="id",
        geom_field=geom_field,
        storage=crs_info(CRS84 if layer.storage_srid == 4326 else f"EPSG:{layer.storage_srid}"),
        time_field=layer.time_field,
        properties=names,
    )
    params = Params()
    if table.geom_field is None and (query.bbox or query.region):
        raise InvalidExportError(
            f"layer {layer.id} has no geometry: bbox, oblast and rayon do not apply to it"
        )
    try:
        conds = [area_clause(table, params, query)] if table.geom_field else []
        filterq = parse_filter(query.filter) if query.filter else None
        conds.append(where_clause(table, params, datetime_=query.datetime or None, filterq=filterq))
    except FeaturesError as exc:
        raise InvalidExportError(f"{layer.id}: {exc}") from None
    present = [c for c in conds if c is not None]
    where = sql.SQL(" AND ").join(present) if present else None
    fields = tuple(n for n in names if n in table.fields and n != "id")
    return LayerExport(layer, table, fields, where, params)


def count_features(conn: psycopg.Connection[Any], part: LayerExport, bound: int) -> int:
    """The layer's matching features, counting at most `bound`."""
    params = part.params.copy()
    row = conn.execute(count_query(part.table, params, part.where, bound), params.values).fetchone()
    return int(row[0]) if row else 0


def plan_export(
    conn: psycopg.Connection[Any], catalogue: Sequence[Layer], query: ExportQuery
) -> ExportPlan:
    """The plan of an export: the asked layers, or for a regional extract every layer with
    geometry (layers without features in the area are dropped by the caller after counting).

    Raises:
        InvalidExportError: unknown format, layer or CRS; no layer; a regional extract
            without an area; any parameter a layer refuses.
    """
    fmt = get_format(query.format)
    target = target_crs(query.crs)
    by_id = {layer.id: layer for layer in catalogue}
    unknown = [lid for lid in query.layers if lid not in by_id]
    if unknown:
        raise InvalidExportError(
            f"unknown layers {', '.join(map(repr, unknown))}; layers: {', '.join(by_id)}"
        )
    if query.layers:
        chosen = [by_id[lid] for lid in dict.fromkeys(query.layers)]
    elif query.region is not None or query.bbox is not None:
        chosen = [layer for layer in catalogue if layer.has_geometry]
    else:
        raise InvalidExportError(
            "layers is required (collection ids separated by commas), unless oblast, rayon or "
            "bbox asks for the extract of every layer in that area"
        )
    parts = tuple(layer_export(conn, layer, query) for layer in chosen)
    return ExportPlan(fmt, query, target, parts)
