"""The demo register passes the cadastre's own topology check (`cadastre.topology`) in the
database: the blocks most at risk report no invalid parcel, no parcel outside them and no
overlap (a block's gaps, the land no parcel covers, are reported but break no rule), and
no demo parcel lies outside the block its code names, read in metres as the check reads."""

from __future__ import annotations

import asyncio

import psycopg

from cadastre.settings import CadastreSettings
from cadastre.topology import Problem, block_report
from geoportal.db.database import Database

TOLERANCE_M = CadastreSettings().tolerance_m


SAMPLE = """
WITH p AS (
    SELECT left(cadastral_code, -5) AS block, left(cadastral_code, 1) AS territory,
           count(*) AS parcels, max(area_m2) AS largest
    FROM cadastre.cadastre_parcels WHERE cadastral_code NOT LIKE '5-99-9%%'
    GROUP BY 1, 2
), ranked AS (
    SELECT block,
           row_number() OVER (PARTITION BY territory ORDER BY parcels DESC, block) AS busiest,
           row_number() OVER (PARTITION BY territory ORDER BY largest DESC, block) AS widest
    FROM p
)
SELECT block FROM ranked WHERE busiest <= %(n)s OR widest <= %(n)s ORDER BY block
"""
"""In each territory, the blocks with the most parcels and those holding the largest
parcels (the ones that reach into neighbouring cells, which their block took whole)."""


def test_the_demo_passes_the_topology_check(loaded: Database) -> None:
    async def run() -> tuple[list[str], list[Problem]]:
        async with await psycopg.AsyncConnection.connect(loaded.owner_conninfo) as conn:
            rows = await (await conn.execute(SAMPLE, {"n": 6})).fetchall()
            problems: list[Problem] = []
            for (code,) in rows:
                report = await block_report(conn, code, tolerance_m=TOLERANCE_M)
                problems.extend(p for p in report if p.rule != "gap")
            return [r[0] for r in rows], problems

    blocks, problems = asyncio.run(run())
    assert {code[0] for code in blocks} == set("123456789") and len(blocks) > 60
    assert problems == []


def test_every_demo_parcel_lies_in_its_block_in_the_national_crs(loaded: Database) -> None:
    """The rule `outside_block` of `cadastre/sql/topology.sql`, over every demo parcel."""
    with psycopg.connect(loaded.owner_conninfo) as conn:
        rows = conn.execute(
            """
            WITH b AS (
                SELECT block_code, s.srid, ST_Transform(geom, s.srid) AS m
                FROM cadastre.cadastre_blocks,
                     LATERAL (SELECT cadastre.kyrg06_srid(ST_X(ST_PointOnSurface(geom)))
                              AS srid) s
            )
            SELECT p.cadastral_code FROM cadastre.cadastre_parcels p
            LEFT JOIN b ON b.block_code = left(p.cadastral_code, -5)
            CROSS JOIN LATERAL (SELECT ST_Transform(p.geom, b.srid) AS m) t
            WHERE p.cadastral_code NOT LIKE '5-99-9%%' AND (b.m IS NULL OR (
                NOT ST_CoveredBy(t.m, b.m)
                AND NOT ST_IsEmpty(ST_Buffer(ST_Difference(t.m, b.m), -%s / 2.0))))
            """,
            [TOLERANCE_M],
        ).fetchall()
    assert rows == []
