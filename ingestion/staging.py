"""The database side of a load: a staging table filled by binary COPY, checks that need the
whole file or the database (duplicate keys, the country's outline, the user's oblasts), then
one merge into the layer, its statistics and the load's audit record, in the caller's
transaction. Readers see the previous rows until the caller commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ingestion.copybuf import BINARY_SIGNATURE, BINARY_TRAILER, binary_rows
from ingestion.report import SHOWN, ValidationReport
from layers.model import Layer

STAGE = sql.Identifier("ingest_stage")
COPY_TYPES = {
    "text": "text",
    "integer": "int4",
    "bigint": "int8",
    "double": "float8",
    "boolean": "bool",
    "date": "date",
    "timestamptz": "timestamptz",
}
"""Binary COPY type of each field type."""

OBLASTS_AREA = sql.SQL(
    "(SELECT ST_Union(o.geom) FROM base.oblasts o WHERE EXISTS (SELECT FROM "
    "unnest(%(oblasts)s::text[]) n WHERE lower(n) IN (lower(o.name_en), lower(o.name_ru), "
    "lower(o.name_ky), o.id::text)))"
)
"""The union of the oblasts named by id or by name in any language (as `/collections`
writes do)."""


@dataclass(frozen=True)
class MergeCounts:
    """What the merge did to the layer."""

    inserted: int
    updated: int
    deleted: int


def _columns(layer: Layer) -> list[str]:
    return [f.name for f in layer.fields]


def create_stage(conn: psycopg.Connection, layer: Layer) -> None:
    """A temporary staging table with the layer's fields (dropped at the transaction's end)."""
    fields = [
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(f.sql_type)) for f in layer.fields
    ]
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {} (row_number integer NOT NULL, ok boolean NOT NULL, "
            "source_id bigint, {}, geom_ewkb bytea) ON COMMIT DROP"
        ).format(STAGE, sql.SQL(", ").join(fields))
    )


def copy_rows(conn: psycopg.Connection, layer: Layer, columns: Sequence[Sequence[Any]]) -> None:
    """Binary COPY of a chunk's columns (row_number, ok, source_id, fields..., geom_ewkb)
    into the stage, as one payload built column by column (`ingestion.copybuf`); `ok` is
    false for a row with a blocking problem found before (kept for the checks over the
    whole file, such as duplicate keys, and dropped before the merge)."""
    names = ["row_number", "ok", "source_id", *_columns(layer), "geom_ewkb"]
    types = ["int4", "bool", "int8", *(COPY_TYPES[f.type] for f in layer.fields), "bytea"]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        STAGE, sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with conn.cursor().copy(statement) as copy:
        copy.write(BINARY_SIGNATURE)
        copy.write(binary_rows(types, columns))
        copy.write(BINARY_TRAILER)


def _report_rows(
    conn: psycopg.Connection,
    report: ValidationReport,
    code: str,
    message: str,
    where: sql.Composable,
    params: dict[str, Any],
    *,
    drop: bool,
) -> None:
    count, first = conn.execute(
        sql.SQL(
            "SELECT count(*), (array_agg(row_number ORDER BY row_number))[1:%(shown)s] "
            "FROM {} WHERE {}"
        ).format(STAGE, where),
        {**params, "shown": SHOWN},
    ).fetchone() or (0, None)
    if count:
        problem = report.problem(code, message)
        problem.add(list(first or []), [])
        problem.count += count - len(first or [])
        if drop:
            conn.execute(sql.SQL("DELETE FROM {} WHERE {}").format(STAGE, where), params)


def check_stage(
    conn: psycopg.Connection,
    layer: Layer,
    report: ValidationReport,
    *,
    oblasts: Sequence[str] | None,
    drop: bool,
    referenced: Mapping[str, tuple[str, str]] | None = None,
    upsert: bool = False,
) -> None:
    """Checks over the whole staged file: duplicate natural keys (and, for an `upsert`,
    rows missing a part of the key, which could match no feature or several), references to features
    that do not exist (`referenced`: field -> the referenced layer's table), geometries
    outside the country's outline or outside the user's oblasts (rows at fault dropped when
    `drop`)."""
    if layer.key:
        _check_keys(conn, layer, report, drop=drop)
    if layer.key and upsert:
        missing = sql.SQL(" OR ").join(
            sql.SQL("{} IS NULL").format(sql.Identifier(k)) for k in layer.key
        )
        message = f"a part of the natural key {layer.key} is missing: an upsert cannot match it"
        _report_rows(conn, report, "missing_key", message, missing, {}, drop=drop)
    for name, table in (referenced or {}).items():
        where = sql.SQL("{} IS NOT NULL AND NOT EXISTS (SELECT FROM {} r WHERE r.id = {})").format(
            sql.Identifier(name), sql.Identifier(*table), sql.Identifier(name)
        )
        message = f"field {name!r}: no feature with this id in {'.'.join(table)}"
        _report_rows(conn, report, "reference", message, where, {}, drop=drop)
    if not layer.has_geometry:
        return
    geom = sql.SQL("ST_Transform(ST_GeomFromEWKB(geom_ewkb), 4326)")
    if layer.id != "country":
        outside = sql.SQL(
            "geom_ewkb IS NOT NULL AND NOT coalesce(ST_CoveredBy({}, "
            "(SELECT geom FROM catalog.country_bounds)), true)"
        ).format(geom)
        message = "the geometry lies outside Kyrgyzstan (its outline with the allowed margin)"
        _report_rows(conn, report, "outside_country", message, outside, {}, drop=drop)
    if oblasts:
        where = sql.SQL(
            "geom_ewkb IS NOT NULL AND NOT coalesce(ST_CoveredBy({}, {}), false)"
        ).format(geom, OBLASTS_AREA)
        message = f"the geometry lies outside the user's oblasts {sorted(oblasts)}"
        params = {"oblasts": list(oblasts)}
        _report_rows(conn, report, "outside_oblasts", message, where, params, drop=drop)
        if upsert and layer.key:
            match = sql.SQL(" AND ").join(
                sql.SQL("t.{} = {}.{}").format(sql.Identifier(k), STAGE, sql.Identifier(k))
                for k in layer.key
            )
            where = sql.SQL("EXISTS (SELECT FROM {} t WHERE {} AND NOT {})").format(
                sql.Identifier(*layer.qualified_table), match, _area_filter(layer, oblasts)
            )
            message = f"its key names a feature outside the user's oblasts {sorted(oblasts)}"
            _report_rows(conn, report, "outside_oblasts", message, where, params, drop=drop)


DUPLICATE_GROUPS_SHOWN = 1_000
"""Repeated keys listed one by one in the report (all are counted and, if asked, dropped)."""


def _check_keys(
    conn: psycopg.Connection, layer: Layer, report: ValidationReport, *, drop: bool
) -> None:
    """Rows whose natural key (all parts present) appears more than once in the file."""
    keys = sql.SQL(", ").join(map(sql.Identifier, layer.key or []))
    present = sql.SQL(" AND ").join(
        sql.SQL("{} IS NOT NULL").format(sql.Identifier(k)) for k in layer.key or []
    )
    repeated = sql.SQL("SELECT {} FROM {} WHERE {} GROUP BY {} HAVING count(*) > 1").format(
        keys, STAGE, present, keys
    )
    groups = conn.execute(
        sql.SQL(
            "SELECT array_agg(row_number ORDER BY row_number), ({})::text FROM {} "
            "WHERE ({}) IN ({}) GROUP BY {} ORDER BY min(row_number) LIMIT %s"
        ).format(keys, STAGE, keys, repeated, keys),
        [DUPLICATE_GROUPS_SHOWN],
    ).fetchall()
    message = f"the natural key {layer.key} repeats"
    for rows, value in groups:
        found = report.problem("duplicate_key", message, field_name=(layer.key or [""])[0])
        found.add(rows, [value] * len(rows))
    if groups and drop:
        conn.execute(sql.SQL("DELETE FROM {} WHERE ({}) IN ({})").format(STAGE, keys, repeated))


def staged_count(conn: psycopg.Connection) -> int:
    """Rows in the staging table, once those with blocking problems are dropped."""
    conn.execute(sql.SQL("DELETE FROM {} WHERE NOT ok").format(STAGE))
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(STAGE)).fetchone()
    return int(row[0]) if row else 0


def _values(layer: Layer) -> list[sql.Composable]:
    out: list[sql.Composable] = [sql.Identifier("s", c) for c in _columns(layer)]
    if layer.has_geometry:
        out.append(sql.SQL("ST_GeomFromEWKB(s.geom_ewkb)"))
    return out


def _targets(layer: Layer) -> list[sql.Composable]:
    names = _columns(layer) + (["geom"] if layer.has_geometry else [])
    return [sql.Identifier(n) for n in names]


def _insert(conn: psycopg.Connection, layer: Layer, *, with_ids: bool, only_new: bool) -> int:
    targets, values = _targets(layer), _values(layer)
    if with_ids:
        targets = [sql.Identifier("id"), *targets]
        values = [sql.SQL("s.source_id"), *values]
    where = sql.SQL("")
    if only_new:
        where = sql.SQL(" WHERE NOT EXISTS (SELECT FROM {} t WHERE {})").format(
            sql.Identifier(*layer.qualified_table), _key_match(layer)
        )
    cur = conn.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} s{} ORDER BY s.row_number").format(
            sql.Identifier(*layer.qualified_table),
            sql.SQL(", ").join(targets),
            sql.SQL(", ").join(values),
            STAGE,
            where,
        )
    )
    return cur.rowcount


def _key_match(layer: Layer) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("t.{} IS NOT DISTINCT FROM s.{}").format(sql.Identifier(k), sql.Identifier(k))
        for k in layer.key or []
    )


def _area_filter(layer: Layer, oblasts: Sequence[str] | None) -> sql.Composable:
    if not oblasts or not layer.has_geometry:
        return sql.SQL("true")
    return sql.SQL("coalesce(ST_CoveredBy(ST_Transform(t.geom, 4326), {}), false)").format(
        OBLASTS_AREA
    )


def merge(
    conn: psycopg.Connection,
    layer: Layer,
    mode: str,
    *,
    oblasts: Sequence[str] | None,
    with_ids: bool,
) -> MergeCounts:
    """Replace, append or upsert the staged rows into the layer (one statement each)."""
    table = sql.Identifier(*layer.qualified_table)
    params = {"oblasts": list(oblasts or [])}
    deleted = updated = 0
    if mode == "replace":
        deleted = conn.execute(
            sql.SQL("DELETE FROM {} t WHERE {}").format(table, _area_filter(layer, oblasts)),
            params,
        ).rowcount
    if mode == "upsert":
        sets = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(t, v)
            for t, v in zip(_targets(layer), _values(layer), strict=True)
        )
        updated = conn.execute(
            sql.SQL("UPDATE {} t SET {} FROM {} s WHERE {} AND {}").format(
                table, sets, STAGE, _key_match(layer), _area_filter(layer, oblasts)
            ),
            params,
        ).rowcount
    inserted = _insert(conn, layer, with_ids=with_ids, only_new=mode == "upsert")
    if with_ids:
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({}, 'id'), "
                "greatest((SELECT max(id) FROM {}), 1), true)"
            ).format(sql.Literal(".".join(layer.qualified_table)), table)
        )
    return MergeCounts(inserted, updated, deleted)


CHANGED = sql.Identifier("ingest_changed_boxes")


def quiet_tile_triggers(conn: psycopg.Connection, layer: Layer, mode: str, **where: Any) -> None:
    """Before the merge: switch the tables' per-statement tile triggers off for this
    transaction (they compute a box per changed row through a function call each, seconds
    per 100,000 rows) and note the storage-CRS extent of the rows the merge will delete or
    update; `publish_tile_change` adds the staged rows' extent and publishes one box.
    `where` holds the merge's `oblasts`."""
    if not layer.has_geometry:
        return
    conn.execute("SELECT set_config('geoportal.tiles_notify', 'off', true)")
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (b box2d) ON COMMIT DROP").format(CHANGED))
    table = sql.Identifier(*layer.qualified_table)
    params = {"oblasts": list(where.get("oblasts") or [])}
    area = _area_filter(layer, where.get("oblasts"))
    if mode == "replace":
        conn.execute(
            sql.SQL("INSERT INTO {} SELECT ST_Extent(t.geom) FROM {} t WHERE {}").format(
                CHANGED, table, area
            ),
            params,
        )
    elif mode == "upsert":
        conn.execute(
            sql.SQL(
                "INSERT INTO {} SELECT ST_Extent(t.geom) FROM {} t, {} s WHERE {} AND {}"
            ).format(CHANGED, table, STAGE, _key_match(layer), area),
            params,
        )


def publish_tile_change(conn: psycopg.Connection, layer: Layer) -> None:
    """After the merge: one tile change (what the triggers publish for more than 32 rows: one
    CRS84 box around every changed row, old and new versions), delivered at the commit."""
    if not layer.has_geometry:
        return
    conn.execute(
        sql.SQL("INSERT INTO {} SELECT ST_Extent(ST_GeomFromEWKB(geom_ewkb)) FROM {}").format(
            CHANGED, STAGE
        )
    )
    conn.execute(
        sql.SQL(
            "SELECT catalog.tiles_publish_change(%s::regclass, jsonb_build_array("
            "jsonb_build_array(ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x)))) FROM ("
            "SELECT catalog.tiles_box_4326(ST_SetSRID(ST_Extent(b::geometry)::geometry, %s)) "
            "FROM {} WHERE b IS NOT NULL) q(x) WHERE x IS NOT NULL"
        ).format(CHANGED),
        [".".join(layer.qualified_table), layer.storage_srid],
    )
