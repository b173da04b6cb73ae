"""Topology rules of parcels, checked in the Kyrg-06 zone of each parcel (metres):

- `invalid`: the geometry is not valid (self-intersection, ...);
- `multipart`: a parcel is one piece of land, not several;
- `no_block` / `outside_block`: the block the code's prefix names must exist and hold the
  parcel (what lies outside it counts where it is wider than the tolerance);
- `overlap`: no overlap with another active parcel (or another new one) wider than the
  tolerance; parcels that only touch, or overlap by a sliver under it, pass;
- `gap` / `outside_parents`: the new parcels of a split or merge cover exactly what the
  retired ones covered.

Storage stays EPSG:4326; "wider than the tolerance" means a negative buffer of half the
tolerance leaves something (a sliver 0.02 m wide passes a 0.05 m tolerance, 0.2 m fails).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from cadastre.errors import BlockNotFoundError
from cadastre.sql_files import sql_text


@dataclass(frozen=True)
class Problem:
    """One broken rule: which, of which parcel, against what, and where (lon, lat)."""

    rule: str
    code: str | None
    other: str | None
    detail: str
    lon: float | None
    lat: float | None

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON object (`where` a GeoJSON point in CRS84)."""
        out = asdict(self)
        lon, lat = out.pop("lon"), out.pop("lat")
        out["where"] = (
            {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]}
            if lon is not None and lat is not None
            else None
        )
        return out


async def check_parcels(
    conn: psycopg.AsyncConnection[Any],
    codes: Sequence[str],
    geoms_hex: Sequence[str],
    *,
    tolerance_m: float,
    exclude_ids: Sequence[int] = (),
    cover_hex: str | None = None,
) -> list[Problem]:
    """Every rule broken by candidate parcels, in the caller's transaction.

    Args:
        conn: a connection that reads `cadastre.cadastre_parcels` and `cadastre_blocks`.
        codes: the candidates' codes (their prefix names their block).
        geoms_hex: their geometries, hex EWKB in EPSG:4326 (as PostGIS returns them).
        tolerance_m: widths under this many metres are not overlaps, gaps or excursions.
        exclude_ids: current parcels the change retires (not overlaps of their children).
        cover_hex: what the candidates must cover exactly (the retired parcels' union).

    Returns:
        The problems, by code then rule; empty when the candidates pass.
    """
    params = {
        "codes": list(codes),
        "geoms": list(geoms_hex),
        "exclude": list(exclude_ids),
        "tolerance": float(tolerance_m),
        "cover": cover_hex,
    }
    rows = await (await conn.execute(sql_text("topology"), params)).fetchall()
    return [Problem(*row) for row in rows]


async def block_report(
    conn: psycopg.AsyncConnection[Any], block_code: str, *, tolerance_m: float
) -> list[Problem]:
    """The topology report of a block's current parcels: invalid ones, parts outside the
    block, overlaps, and the gaps no parcel covers (the 500 largest), each wider than the
    tolerance; empty for a block without problems.

    Raises:
        BlockNotFoundError: no block has the code.
    """
    row = await (
        await conn.execute(
            "SELECT 1 FROM cadastre.cadastre_blocks WHERE block_code = %s", [block_code]
        )
    ).fetchone()
    if row is None:
        raise BlockNotFoundError(f"no cadastral block {block_code}")
    params = {"block": block_code, "prefix": block_code + "-%", "tolerance": float(tolerance_m)}
    rows = await (await conn.execute(sql_text("block_report"), params)).fetchall()
    return [Problem(*r) for r in rows]
