"""Compare the database with the layer declarations; write the DDL of what is missing.

`geoportal db makemigration NAME` turns the difference into a new versioned migration, and
the tests assert that a migrated database has no difference left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from layers.catalogue import Catalogue
from layers.ddl import (
    AGENCY_ROLE,
    OWNER_ROLE,
    PUBLIC_ROLE,
    add_column_sql,
    create_table_sql,
    quote_ident,
)
from layers.model import RESTRICTED_SCHEMA


@dataclass
class SchemaDiff:
    """What the declarations have that the database lacks, and what the database has extra."""

    statements: list[str] = field(default_factory=list)
    undeclared_columns: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when database and declarations agree."""
        return not self.statements and not self.undeclared_columns


def diff_schema(conn: psycopg.Connection, catalogue: Catalogue) -> SchemaDiff:
    """DDL statements that bring the database in line with the declarations (the layers and
    their restricted tables)."""
    tables = catalogue.with_restricted(catalogue.layers)
    rows = conn.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = ANY(%s)",
        [sorted({layer.schema_name for layer in tables})],
    ).fetchall()
    existing: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in rows:
        existing.setdefault((schema, table), set()).add(column)
    schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
    diff = SchemaDiff()
    for schema in sorted({layer.schema_name for layer in tables} - schemas):
        readers = AGENCY_ROLE if schema == RESTRICTED_SCHEMA else f"{AGENCY_ROLE}, {PUBLIC_ROLE}"
        diff.statements.append(
            f"CREATE SCHEMA {quote_ident(schema)} AUTHORIZATION {OWNER_ROLE};\n"
            f"GRANT USAGE ON SCHEMA {quote_ident(schema)} TO {readers};\n"
        )
    by_id = {layer.id: layer for layer in catalogue}
    for layer in tables:
        columns = existing.get(layer.qualified_table)
        if columns is None:
            diff.statements.append(f"-- layer {layer.id}\n" + create_table_sql(layer, by_id))
            continue
        for layer_field in layer.fields:
            if layer_field.name not in columns:
                target = by_id.get(layer_field.references or "")
                diff.statements.append(add_column_sql(layer, layer_field, target))
        declared = {
            "id",
            *(["geom"] if layer.has_geometry else []),
            *(f.name for f in layer.fields),
        }
        diff.undeclared_columns += [
            f"{layer.schema_name}.{layer.table}.{c}" for c in sorted(columns - declared)
        ]
    return diff
