"""Split and merge: one transaction each (the caller's), every rule checked before commit.

The parents are locked, the children computed (a split by a line is cut in the parents'
Kyrg-06 zone), given new codes in the parents' block (numbers above every number the block
ever had: codes are never reused), checked (`topology.check_parcels`, plus a merge's own
rules), and only then the parents are retired (`cadastre.change` = split/merge, valid from
`valid_from`), the children inserted and the lineage parent -> child recorded. The register's
triggers (migration 0019) write the versions. Right holders pass to the children: a split's
children get the parent's, a merge needs the same holders on every parent.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from cadastre.codes import CadastralCode, next_parcel_code, parse_code
from cadastre.errors import InvalidChangeError, ParcelNotFoundError, RuleViolationError
from cadastre.topology import Problem, check_parcels

PARENT_SQL = """
SELECT id, cadastral_code, land_category, designated_use, address, geom
FROM cadastre.cadastre_parcels WHERE cadastral_code = ANY (%s) ORDER BY cadastral_code
FOR UPDATE
"""
SPLIT_BY_LINE_SQL = """
WITH p AS (
    SELECT %(geom)s::geometry AS geom,
           cadastre.kyrg06_srid(ST_X(ST_PointOnSurface(%(geom)s::geometry))) AS srid
)
SELECT ST_Multi(ST_Transform(d.geom, 4326))
FROM p, ST_Dump(ST_CollectionExtract(ST_Split(ST_Transform(p.geom, p.srid),
    ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(%(line)s), 4326), p.srid)), 3)) AS d
ORDER BY ST_Y(ST_PointOnSurface(d.geom)) DESC, ST_X(ST_PointOnSurface(d.geom))
"""
MERGE_SQL = """
SELECT ST_Multi(ST_Transform(ST_Union(ST_Transform(g::geometry, s.srid)), 4326))
FROM unnest(%(geoms)s::text[]) AS g,
     (SELECT cadastre.kyrg06_srid(ST_X(ST_PointOnSurface(%(first)s::geometry))) AS srid) s
GROUP BY s.srid
"""
INSERT_SQL = """
INSERT INTO cadastre.cadastre_parcels (cadastral_code, land_category, designated_use, area_m2,
    area_national_m2, address, registered_on, geom)
VALUES (%s, %s, %s, round(ST_Area(%s::geometry::geography)::numeric, 1),
        round(cadastre.national_area_m2(%s::geometry)::numeric, 1), %s, %s, %s::geometry)
RETURNING id
"""


@dataclass(frozen=True)
class ChangeResult:
    """What a split or merge did."""

    operation: str
    retired: list[str]
    created: list[str]
    created_ids: list[int]
    valid_from: dt.datetime


@dataclass(frozen=True)
class _Parent:
    id: int
    code: str
    land_category: str
    designated_use: str
    address: str | None
    geom: str


async def lock_parents(conn: psycopg.AsyncConnection[Any], codes: Sequence[str]) -> list[_Parent]:
    """The current parcels of these codes, locked; ParcelNotFoundError names a missing one."""
    for code in codes:
        parse_code(code)
    rows = await (await conn.execute(PARENT_SQL, [list(codes)])).fetchall()
    found = {row[1] for row in rows}
    for code in codes:
        if code not in found:
            raise ParcelNotFoundError(f"no current parcel {code} (retired or never registered)")
    return [_Parent(*row) for row in rows]


async def split_parcel(
    conn: psycopg.AsyncConnection[Any],
    code: str,
    *,
    line: dict[str, Any] | None = None,
    parts: Sequence[dict[str, Any]] | None = None,
    valid_from: dt.datetime,
    tolerance_m: float,
) -> ChangeResult:
    """Split a parcel by a line (GeoJSON LineString, CRS84) or into given polygons.

    Raises:
        ParcelNotFoundError: no current parcel has the code.
        InvalidChangeError: neither or both of line and parts, or the line does not cut it.
        RuleViolationError: a child breaks a rule (the problems name each one and where).
    """
    if (line is None) == (parts is None):
        raise InvalidChangeError("give either `line` (a LineString) or `parts` (polygons)")
    (parent,) = await lock_parents(conn, [code])
    if line is not None:
        _expect_type(line, ("LineString", "MultiLineString"), "line")
        rows = await (
            await conn.execute(SPLIT_BY_LINE_SQL, {"geom": parent.geom, "line": json.dumps(line)})
        ).fetchall()
        geoms = [row[0] for row in rows]
        if len(geoms) < 2:
            raise InvalidChangeError(f"the line does not cut parcel {code} in two or more parts")
    else:
        geoms = [await _polygon_hex(conn, part, index) for index, part in enumerate(parts or [])]
        if len(geoms) < 2:
            raise InvalidChangeError("a split needs at least two `parts`")
    return await _replace(conn, "split", [parent], geoms, valid_from, tolerance_m, [])


async def merge_parcels(
    conn: psycopg.AsyncConnection[Any],
    codes: Sequence[str],
    *,
    valid_from: dt.datetime,
    tolerance_m: float,
) -> ChangeResult:
    """Merge adjacent parcels of one block, category and use into one.

    Raises:
        ParcelNotFoundError: a code is not a current parcel.
        InvalidChangeError: fewer than two distinct codes.
        RuleViolationError: not adjacent (multipart), mixed category or use, different
            right holders, or any topology rule.
    """
    if len(set(codes)) < 2 or len(set(codes)) != len(codes):
        raise InvalidChangeError("a merge needs at least two different parcel codes")
    parents = await lock_parents(conn, codes)
    problems = [
        Problem("mixed_" + name, p.code, parents[0].code, f"{name} {value!r} differs", None, None)
        for p in parents[1:]
        for name, value in (
            ("land_category", p.land_category),
            ("designated_use", p.designated_use),
        )
        if value != getattr(parents[0], name)
    ]
    problems += await _rights_problems(conn, parents)
    row = await (
        await conn.execute(
            MERGE_SQL, {"geoms": [p.geom for p in parents], "first": parents[0].geom}
        )
    ).fetchone()
    assert row is not None
    return await _replace(conn, "merge", parents, [row[0]], valid_from, tolerance_m, problems)


async def _replace(
    conn: psycopg.AsyncConnection[Any],
    operation: str,
    parents: list[_Parent],
    geoms: list[str],
    valid_from: dt.datetime,
    tolerance_m: float,
    problems: list[Problem],
) -> ChangeResult:
    """Check, then retire the parents and register the children with their lineage."""
    block = parse_code(parents[0].code)
    codes = await _new_codes(conn, block, len(geoms))
    cover = await _union(conn, [p.geom for p in parents])
    problems += await check_parcels(
        conn,
        codes,
        geoms,
        tolerance_m=tolerance_m,
        exclude_ids=[p.id for p in parents],
        cover_hex=cover,
    )
    if problems:
        raise RuleViolationError(
            f"the {operation} of {', '.join(p.code for p in parents)} breaks "
            f"{len(problems)} rule(s)",
            [problem.to_dict() for problem in problems],
        )
    for name, value in (("cadastre.change", operation), ("cadastre.valid_from", valid_from)):
        await conn.execute("SELECT set_config(%s, %s, true)", [name, str(value)])
    ids = [p.id for p in parents]
    await conn.execute("DELETE FROM cadastre.cadastre_parcels WHERE id = ANY (%s)", [ids])
    first = parents[0]
    created = []
    for code, geom in zip(codes, geoms, strict=True):
        values = [code, first.land_category, first.designated_use, geom, geom]
        values += [first.address, valid_from.date(), geom]
        row = await (await conn.execute(INSERT_SQL, values)).fetchone()
        assert row is not None
        created.append(int(row[0]))
    await _record_lineage(conn, operation, ids, created, valid_from)
    for name in ("cadastre.change", "cadastre.valid_from"):
        await conn.execute("SELECT set_config(%s, '', true)", [name])
    return ChangeResult(operation, [p.code for p in parents], codes, created, valid_from)


async def _record_lineage(
    conn: psycopg.AsyncConnection[Any],
    operation: str,
    parents: list[int],
    children: list[int],
    valid_from: dt.datetime,
) -> None:
    """Lineage rows, and the parents' right holders carried to every child."""
    await conn.execute(
        "INSERT INTO cadastre.parcel_lineage (parent_id, child_id, operation, valid_from) "
        "SELECT p, c, %s, %s FROM unnest(%s::bigint[]) p, unnest(%s::bigint[]) c",
        [operation, valid_from, parents, children],
    )
    await conn.execute(
        "INSERT INTO restricted.cadastre_right_holders (feature_id, holder_name, holder_pin, "
        "right_type, share) SELECT DISTINCT c, h.holder_name, h.holder_pin, h.right_type, "
        "h.share FROM restricted.cadastre_right_holders h, unnest(%s::bigint[]) c "
        "WHERE h.feature_id = %s",
        [children, parents[0]],
    )


async def _rights_problems(
    conn: psycopg.AsyncConnection[Any], parents: list[_Parent]
) -> list[Problem]:
    """A merge keeps the rights only when every parent has the same right holders."""
    rows = await (
        await conn.execute(
            "SELECT feature_id, array_agg(holder_pin || ':' || right_type || ':' || share "
            "ORDER BY holder_pin, right_type, share) FROM restricted.cadastre_right_holders "
            "WHERE feature_id = ANY (%s) GROUP BY feature_id",
            [[p.id for p in parents]],
        )
    ).fetchall()
    holders = {fid: tuple(items) for fid, items in rows}
    first = holders.get(parents[0].id, ())
    return [
        Problem(
            "rights_differ",
            p.code,
            parents[0].code,
            "the right holders differ from those of the first parcel; register the rights "
            "before the merge",
            None,
            None,
        )
        for p in parents[1:]
        if holders.get(p.id, ()) != first
    ]


async def _new_codes(
    conn: psycopg.AsyncConnection[Any], block: CadastralCode, count: int
) -> list[str]:
    """`count` new codes in the block, above every number it ever had (block locked)."""
    prefix = str(block).rsplit("-", 1)[0]
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"cadastre:{prefix}"])
    rows = await (
        await conn.execute(
            "SELECT cadastral_code FROM cadastre.parcel_register WHERE cadastral_code LIKE %s",
            [prefix + "-%"],
        )
    ).fetchall()
    taken = [parse_code(row[0]) for row in rows]
    codes = []
    for _ in range(count):
        code = next_parcel_code(block, taken)
        taken.append(code)
        codes.append(str(code))
    return codes


async def _union(conn: psycopg.AsyncConnection[Any], geoms: list[str]) -> str:
    row = await (
        await conn.execute("SELECT ST_Union(g::geometry) FROM unnest(%s::text[]) g", [geoms])
    ).fetchone()
    assert row is not None
    return str(row[0])


async def _polygon_hex(conn: psycopg.AsyncConnection[Any], part: dict[str, Any], index: int) -> str:
    _expect_type(part, ("Polygon", "MultiPolygon"), f"parts[{index}]")
    try:
        row = await (
            await conn.execute(
                "SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326))", [json.dumps(part)]
            )
        ).fetchone()
    except psycopg.errors.DataError as exc:  # in a savepoint-less transaction: fatal, say so
        raise InvalidChangeError(f"parts[{index}] is not a GeoJSON polygon PostGIS reads") from exc
    assert row is not None
    return str(row[0])


def _expect_type(geometry: object, types: tuple[str, ...], name: str) -> None:
    if not isinstance(geometry, dict) or geometry.get("type") not in types:
        raise InvalidChangeError(f"{name} must be a GeoJSON {' or '.join(types)} in CRS84")
