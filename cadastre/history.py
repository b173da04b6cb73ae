"""Bi-temporal queries of the register (`cadastre.parcel_versions`, migration 0019).

Each version of a parcel carries its valid time (`valid_from` .. `valid_to`: true on the
ground and in law) and its record time (`recorded_from` .. `recorded_to`: when the register
believed it). "As of" a date is valid time; "as recorded at" a time is record time (default:
what the register knows now).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from cadastre.codes import parse_code
from cadastre.errors import InvalidCadastralCodeError, ParcelNotFoundError

REGISTER_LAYERS: frozenset[str] = frozenset({"cadastre_parcels"})
"""Layers whose table is the land register's table of current parcels: a DELETE on it retires
(migration 0024), so nothing may replace it whole (a load refuses `replace` on it)."""

VERSION_COLUMNS = """
    v.version_id, v.parcel_id, v.cadastral_code, v.land_category, v.designated_use, v.area_m2,
    v.area_national_m2, v.address, v.registered_on, v.valid_from, v.valid_to, v.recorded_from,
    v.recorded_to, v.change, ST_AsGeoJSON(v.geom, 7)::json AS geometry
"""
KNOWN_AT = (
    "v.recorded_from <= %(recorded)s AND (v.recorded_to IS NULL OR v.recorded_to > %(recorded)s)"
)
VALID_AT = "v.valid_from <= %(at)s AND (v.valid_to IS NULL OR v.valid_to > %(at)s)"


def _prefix(code: str, parts: int) -> str:
    """A zone (`T-RR-ZZ`, 3 parts) or block (`T-RR-ZZ-BBBB`, 4 parts) code, checked."""
    pieces = code.split("-")
    if len(pieces) != parts:
        raise InvalidCadastralCodeError(
            f"{code!r} is not a {'zone' if parts == 3 else 'block'} code"
        )
    parse_code("-".join(pieces + ["0001"] * (5 - parts)))
    return code


async def parcel_history(
    conn: psycopg.AsyncConnection[Any],
    code: str,
    *,
    at: dt.datetime | None = None,
    recorded_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """A parcel's register entry, its versions (all, or the one valid `at`) as recorded at
    `recorded_at` (default now), and its lineage (parents and children codes).

    Raises:
        ParcelNotFoundError: the code was never registered (or not yet at `recorded_at`).
    """
    parse_code(code)
    recorded = recorded_at or dt.datetime.now(dt.UTC)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT parcel_id, cadastral_code, registered_at, retired_at, retired_by "
            "FROM cadastre.parcel_register WHERE cadastral_code = %s",
            [code],
        )
        register = await cur.fetchone()
        if register is None:
            raise ParcelNotFoundError(f"no parcel {code} was ever registered")
        where = f"v.parcel_id = %(id)s AND {KNOWN_AT}" + (f" AND {VALID_AT}" if at else "")
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM cadastre.parcel_versions v WHERE {} "
                "ORDER BY v.valid_from, v.recorded_from"
            ).format(sql.SQL(VERSION_COLUMNS), sql.SQL(where)),
            {"id": register["parcel_id"], "recorded": recorded, "at": at},
        )
        versions = await cur.fetchall()
        lineage = await _lineage(cur, register["parcel_id"])
    return {"register": register, "versions": versions, **lineage}


async def find_retired(conn: psycopg.AsyncConnection[Any], parcel_id: int) -> dict[str, Any] | None:
    """The register entry of a retired parcel by its feature id (code, registered_at,
    retired_at, retired_by), or None when the id is current or was never registered."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT parcel_id, cadastral_code, registered_at, retired_at, retired_by "
            "FROM cadastre.parcel_register WHERE parcel_id = %s AND retired_at IS NOT NULL",
            [parcel_id],
        )
        return await cur.fetchone()


async def _lineage(cur: psycopg.AsyncCursor[Any], parcel_id: int) -> dict[str, Any]:
    await cur.execute(
        "SELECT 'parent' AS side, r.cadastral_code, l.operation, l.valid_from "
        "FROM cadastre.parcel_lineage l JOIN cadastre.parcel_register r "
        "ON r.parcel_id = l.parent_id WHERE l.child_id = %(id)s "
        "UNION ALL SELECT 'child', r.cadastral_code, l.operation, l.valid_from "
        "FROM cadastre.parcel_lineage l JOIN cadastre.parcel_register r "
        "ON r.parcel_id = l.child_id WHERE l.parent_id = %(id)s ORDER BY 2",
        {"id": parcel_id},
    )
    rows = await cur.fetchall()
    return {
        "parents": [r for r in rows if r["side"] == "parent"],
        "children": [r for r in rows if r["side"] == "child"],
    }


async def block_as_of(
    conn: psycopg.AsyncConnection[Any], block_code: str, at: dt.datetime
) -> list[dict[str, Any]]:
    """The parcels of a block as they were valid at `at` (as the register knows it now)."""
    prefix = _prefix(block_code, 4)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM cadastre.parcel_versions v WHERE v.cadastral_code LIKE "
                "%(prefix)s AND {} AND v.recorded_to IS NULL ORDER BY v.cadastral_code"
            ).format(sql.SQL(VERSION_COLUMNS), sql.SQL(VALID_AT)),
            {"prefix": prefix + "-%", "at": at},
        )
        return await cur.fetchall()


async def zone_changes(
    conn: psycopg.AsyncConnection[Any], zone_code: str, since: dt.datetime, until: dt.datetime
) -> list[dict[str, Any]]:
    """What changed in a zone in [since, until): parcels that began or ended (valid time)."""
    prefix = _prefix(zone_code, 3)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM ("
            "  SELECT v.valid_from AS at, 'began' AS event, v.change, v.cadastral_code,"
            "         v.version_id FROM cadastre.parcel_versions v"
            "  WHERE v.cadastral_code LIKE %(prefix)s AND v.recorded_to IS NULL"
            "    AND v.valid_from >= %(since)s AND v.valid_from < %(until)s"
            "  UNION ALL"
            "  SELECT v.valid_to, 'ended', v.change, v.cadastral_code, v.version_id"
            "  FROM cadastre.parcel_versions v"
            "  WHERE v.cadastral_code LIKE %(prefix)s AND v.recorded_to IS NULL"
            "    AND v.valid_to >= %(since)s AND v.valid_to < %(until)s"
            ") AS e ORDER BY at, cadastral_code, event LIMIT 10000",
            {"prefix": prefix + "-%", "since": since, "until": until},
        )
        return await cur.fetchall()


def jsonable(value: Any) -> Any:
    """Dates and times as ISO 8601 text, recursively (for a JSON answer)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value
