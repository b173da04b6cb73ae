"""The SELECT statements of an export, one function per output shape: rows for the file
writers (columns typed for Arrow, geometry as WKB), GeoJSON text per feature (the features
engine's `feature_clause`), and the CSV `COPY`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from psycopg import sql

from exports.plan import ExportPlan, LayerExport
from features.crs import CrsInfo
from features.params import Params
from features.query import feature_clause, from_clause, geometry_clause

GEOMETRY = "geometry"
"""Name of the geometry column in every written file."""

_ARROW = {
    "int2": (pa.int32(), None),
    "int4": (pa.int32(), None),
    "int8": (pa.int64(), None),
    "float4": (pa.float64(), "float8"),
    "float8": (pa.float64(), None),
    "numeric": (pa.float64(), "float8"),
    "bool": (pa.bool_(), None),
    "date": (pa.date32(), None),
    "timestamptz": (pa.timestamp("us", tz="UTC"), None),
    "timestamp": (pa.timestamp("us"), None),
    "text": (pa.string(), None),
    "varchar": (pa.string(), None),
    "bpchar": (pa.string(), None),
}
"""PostgreSQL type -> (Arrow type, cast applied in SQL); any other type is sent as text."""


@dataclass(frozen=True)
class Statement:
    """A statement and its bound values."""

    query: sql.Composable
    values: dict[str, object]


def arrow_column(part: LayerExport, name: str) -> tuple[pa.DataType, sql.Composable]:
    """The Arrow type of a column and the SQL expression that reads it so."""
    arrow, cast = _ARROW.get(part.table.column_type(name), (pa.string(), "text"))
    column = sql.Identifier(name)
    return arrow, sql.SQL("{}::{}").format(column, sql.SQL(cast)) if cast else column


def arrow_schema(part: LayerExport) -> pa.Schema:
    """The Arrow schema of a layer's rows: id, public fields, WKB geometry."""
    fields = [pa.field(n, arrow_column(part, n)[0]) for n in ("id", *part.fields)]
    if part.has_geometry:
        meta = {b"ARROW:extension:name": b"geoarrow.wkb"}
        fields.append(pa.field(GEOMETRY, pa.binary(), metadata=meta))
    return pa.schema(fields)


def _geometry(part: LayerExport, params: Params, target: CrsInfo) -> sql.Composable:
    geom: sql.Composable = sql.Identifier(part.table.geom_field or "geom")
    if target.srid != part.table.srid:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, params.add(target.srid))
    return geom


def rows_statement(plan: ExportPlan, part: LayerExport) -> Statement:
    """id, public fields (typed as `arrow_schema`) and WKB geometry of the matching rows."""
    params = part.params.copy()
    columns = [arrow_column(part, n)[1] for n in ("id", *part.fields)]
    if part.has_geometry:
        columns.append(sql.SQL("ST_AsBinary({})").format(_geometry(part, params, plan.target)))
    query = sql.SQL("SELECT {} {}").format(
        sql.SQL(", ").join(columns), from_clause(part.table, part.where)
    )
    return Statement(query, params.values)


def geojson_statement(plan: ExportPlan, part: LayerExport) -> Statement:
    """One GeoJSON feature text per matching row, rendered by PostgreSQL."""
    params = part.params.copy()
    names = ["id", *part.fields]
    columns = [*names, *([part.table.geom_field] if part.has_geometry else [])]
    geometry = geometry_clause(part.table, params, plan.target)
    query = sql.SQL("SELECT {} FROM (SELECT {} {}) AS p").format(
        feature_clause(part.table, [n for n in names if n != "id"], geometry),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        from_clause(part.table, part.where),
    )
    return Statement(query, params.values)


def csv_statement(plan: ExportPlan, part: LayerExport) -> Statement:
    """`COPY` of the matching rows as CSV with a header: points as lon/lat (x/y outside
    CRS84) columns, other geometries as a WKT column."""
    params = part.params.copy()
    columns: list[sql.Composable] = [sql.Identifier(n) for n in ("id", *part.fields)]
    if part.has_geometry:
        geom = _geometry(part, params, plan.target)
        if part.layer.geometry_type == "Point":
            x, y = ("lon", "lat") if plan.srid == 4326 else ("x", "y")
            columns += [
                sql.SQL("ST_X({}) AS {}").format(geom, sql.Identifier(x)),
                sql.SQL("ST_Y({}) AS {}").format(geom, sql.Identifier(y)),
            ]
        else:
            columns.append(sql.SQL("ST_AsText({}) AS wkt").format(geom))
    query = sql.SQL("COPY (SELECT {} {}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(
        sql.SQL(", ").join(columns), from_clause(part.table, part.where)
    )
    return Statement(query, params.values)


def has_null_geometry(part: LayerExport) -> Statement:
    """Whether a matching row has no geometry (FlatGeobuf's spatial index refuses those)."""
    params = part.params.copy()
    where = sql.SQL("{} IS NULL").format(sql.Identifier(part.table.geom_field or "geom"))
    if part.where is not None:
        where = sql.SQL("{} AND ({})").format(where, part.where)
    query = sql.SQL("SELECT EXISTS (SELECT 1 {})").format(from_clause(part.table, where))
    return Statement(query, params.values)
