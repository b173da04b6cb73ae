"""Topology rules with named edge-case geometries, against the synthetic block of
`conftest.py` (parcels 0001: x 0-100, 0002: x 100-200, both y 0-100; block 200 x 200 m)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
import shapely

from cadastre.topology import Problem, block_report, check_parcels
from geoportal.db.database import Database
from tests.cadastre.conftest import BLOCK, box, hexwkb, local

NEW = f"{BLOCK}-0100"
CASES = {  # name: (code, geometry in local metres, the rules expected)
    "touching": (NEW, lambda: box(0, 100, 100, 150), set()),
    "sliver_under_tolerance": (NEW, lambda: box(0, 99.98, 100, 150), set()),
    "sliver_over_tolerance": (NEW, lambda: box(0, 99.8, 100, 150), {"overlap"}),
    "hole": (
        NEW,
        lambda: local(
            shapely.Polygon(
                [(0, 100), (100, 100), (100, 200), (0, 200)],
                [[(40, 140), (60, 140), (60, 160), (40, 160)]],
            )
        ),
        set(),
    ),
    "multipart": (
        NEW,
        lambda: shapely.MultiPolygon([box(0, 110, 40, 150), box(60, 110, 100, 150)]),
        {"multipart"},
    ),
    "bowtie": (
        NEW,
        lambda: local(shapely.Polygon([(0, 110), (50, 150), (50, 110), (0, 150)])),
        {"invalid"},
    ),
    "outside_block": (NEW, lambda: box(150, 150, 210, 190), {"outside_block"}),
    "wrong_prefix_no_block": ("5-99-98-9999-0001", lambda: box(0, 100, 50, 150), {"no_block"}),
}


def check(loaded: Database, code: str, geom: shapely.Geometry) -> list[Problem]:
    async def run() -> list[Problem]:
        async with await psycopg.AsyncConnection.connect(loaded.owner_conninfo) as conn:
            return await check_parcels(conn, [code], [hexwkb(geom)], tolerance_m=0.05)

    return asyncio.run(run())


@pytest.mark.parametrize("name", list(CASES))
def test_rule(loaded: Database, test_block: dict[str, int], name: str) -> None:
    code, make, expected = CASES[name]
    problems = check(loaded, code, make())
    assert {p.rule for p in problems} == expected, problems
    for problem in problems:
        assert problem.code == code and problem.detail
        assert problem.lon is not None and 71 < problem.lon < 74  # where it is


def test_the_tolerance_is_a_setting(loaded: Database, test_block: dict[str, int]) -> None:
    async def run() -> list[Problem]:
        async with await psycopg.AsyncConnection.connect(loaded.owner_conninfo) as conn:
            geom = hexwkb(box(0, 99.8, 100, 150))
            return await check_parcels(conn, [NEW], [geom], tolerance_m=0.5)

    assert asyncio.run(run()) == []


def test_a_code_of_another_block_is_outside_it(
    loaded: Database, test_block: dict[str, int]
) -> None:
    candidate = box(0, 100, 50, 150)
    with psycopg.connect(loaded.owner_conninfo) as conn:
        row = conn.execute(  # the demo's blocks tile the country: one of them holds it
            "SELECT block_code FROM cadastre.cadastre_blocks WHERE block_code <> %s "
            "AND NOT ST_Intersects(geom, ST_GeomFromWKB(%s, 4326)) ORDER BY block_code LIMIT 1",
            [BLOCK, shapely.to_wkb(candidate)],
        ).fetchone()
    assert row is not None
    problems = check(loaded, f"{row[0]}-0999", candidate)
    assert {p.rule for p in problems} == {"outside_block"}


def test_the_block_report_names_gaps_and_overlaps(
    loaded: Database, test_block: dict[str, int]
) -> None:
    async def run() -> list[Problem]:
        async with await psycopg.AsyncConnection.connect(loaded.owner_conninfo) as conn:
            return await block_report(conn, BLOCK, tolerance_m=0.05)

    problems = asyncio.run(run())
    assert [p.rule for p in problems] == ["gap"]  # the north half lies in no parcel
    assert float(problems[0].detail.split(" ")[0]) == pytest.approx(20_000, rel=0.01)
    assert problems[0].lat is not None
