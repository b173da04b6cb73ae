"""What the engine knows of a table: its columns (introspected), the layer's configuration
of it, and the JSON schema of each exposed field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from features.crs import CrsInfo
from features.errors import TableNotFoundError

SPATIAL_TYPES = frozenset({"geometry", "geography", "raster"})
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "name", "citext"})
COLUMNS_SQL = resources.files("features").joinpath("sql/columns.sql").read_text().strip()
COLUMNS_SQL = "\n".join(line for line in COLUMNS_SQL.splitlines() if not line.startswith("--"))
"""The file without its header comment: the statement as it was sent before it moved."""

_TYPES = {
    "int2": "integer",
    "int4": "integer",
    "int8": "integer",
    "float4": "number",
    "float8": "number",
    "numeric": "number",
    "bool": "boolean",
    "json": "object",
    "jsonb": "object",
}
_FORMATS = {
    "date": "date",
    "timestamp": "date-time",
    "timestamptz": "date-time",
    "time": "time",
    "interval": "duration",
    "uuid": "uuid",
}


@dataclass(frozen=True)
class TableInfo:
    """Introspected table: column -> (base type name, type category); geometry SRID."""

    columns: dict[str, tuple[str, str]]
    srid: int
    has_layer_stats: bool


@dataclass(frozen=True, kw_only=True)
class FeatureTable:
    """A table as the engine queries it: configuration checked against the database."""

    schema: str
    table: str
    layer_id: str  # the ``catalog.layer_stats`` key
    id_field: str
    geom_field: str | None  # None: a table without geometry (features have geometry null)
    srid: int  # of the geometry column (the storage CRS when the column has no typmod)
    storage: CrsInfo
    time_field: str | None
    search_fields: tuple[str, ...]  # ``q`` searches these
    info: TableInfo
    fields: Mapping[str, Mapping[str, str]]  # exposed columns as JSON schemas

    def column_type(self, name: str) -> str:
        """The base type name of a column."""
        return self.info.columns[name][0]


def json_schema(typname: str, category: str) -> dict[str, str]:
    """JSON schema type (and format) of a PostgreSQL base type."""
    schema = {"type": _TYPES.get(typname, "array" if category == "A" else "string")}
    if typname in _FORMATS:
        schema["format"] = _FORMATS[typname]
    return schema


def read_table_info(
    conn: psycopg.Connection, schema: str, table: str, geom_field: str | None
) -> TableInfo:
    """Introspect ``schema.table``.

    Raises:
        TableNotFoundError: no such table or view.
    """
    rows = conn.execute(COLUMNS_SQL, [schema, table]).fetchall()
    try:
        conn.execute("SELECT 1 FROM catalog.layer_stats LIMIT 0")
        has_stats = True
    except psycopg.Error:
        has_stats = False
    if not rows:
        raise TableNotFoundError(f"{schema}.{table}: table not found in database")
    srids = {name: srid for name, _, _, srid in rows}
    return TableInfo(
        {name: (typ, cat) for name, typ, cat, _ in rows},
        srids.get(geom_field) or 0,
        has_stats,
    )


def feature_table(
    info: TableInfo,
    *,
    schema: str,
    table: str,
    layer_id: str,
    id_field: str,
    geom_field: str | None,
    storage: CrsInfo,
    time_field: str | None = None,
    search_fields: Iterable[str] = (),
    properties: Iterable[str] = (),
) -> FeatureTable:
    """The engine's view of a configured table.

    Args:
        info: the table's introspection (:func:`read_table_info`).
        properties: the exposed columns (all when empty; the id is always exposed).

    Raises:
        TableNotFoundError: a configured column does not exist.
    """
    if not any(typ in SPATIAL_TYPES for typ, _ in info.columns.values()):
        geom_field = None
    for what, col in (
        ("id_field", id_field),
        ("geom_field", geom_field),
        ("time_field", time_field),
    ):
        if col and col not in info.columns:
            raise TableNotFoundError(f"{schema}.{table}: {what} {col} not found in the database")
    exposed = set(properties)
    fields = {
        name: json_schema(typ, cat)
        for name, (typ, cat) in info.columns.items()
        if typ not in SPATIAL_TYPES and (not exposed or name in exposed or name == id_field)
    }
    return FeatureTable(
        schema=schema,
        table=table,
        layer_id=layer_id,
        id_field=id_field,
        geom_field=geom_field,
        srid=info.srid or storage.srid,
        storage=storage,
        time_field=time_field,
        search_fields=tuple(f for f in search_fields if f in info.columns),
        info=info,
        fields=fields,
    )


def has_integer_id(table: FeatureTable) -> bool:
    """True when the id column is an integer (keyset paging and id checks apply)."""
    field: Any = table.fields.get(table.id_field, {})
    return field.get("type") == "integer"
