"""The facts of a cadastral plan, and the verification of a plan's token.

A plan states, of one current parcel: its code, land category, designated use, both areas
(on the ellipsoid, `area_m2`, and in its Kyrg-06 zone, `area_national_m2`), the coordinate
table of its vertices in that zone, its neighbours, and (for callers who may read rights)
a summary of its right holders and encumbrances. `signed_facts` is what the token signs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import psycopg

from cadastre.codes import parse_code
from cadastre.errors import ParcelNotFoundError
from cadastre.national import kyrg06_zone
from cadastre.sql_files import sql_text


@dataclass(frozen=True)
class PlanFacts:
    """Everything a plan shows; geometry in the metres of the Kyrg-06 zone `srid`."""

    parcel_id: int
    code: str
    land_category: str
    designated_use: str
    area_m2: float
    area_national_m2: float
    address: str | None
    registered_on: dt.date
    srid: int
    version_id: int
    geometry_md5: str
    national: dict[str, Any]
    neighbours: list[dict[str, Any]]
    rights: list[dict[str, Any]] | None = None
    encumbrances: list[dict[str, Any]] | None = None
    issued_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )

    @property
    def zone(self) -> int:
        """The Kyrg-06 zone number (1-5)."""
        return kyrg06_zone(self.srid)

    def vertices(self) -> list[tuple[str, float, float]]:
        """The vertex table: label (`part.ring.n`), easting X and northing Y in metres
        (the closing vertex of each ring left out)."""
        polygons = self.national["coordinates"]
        if self.national["type"] == "Polygon":
            polygons = [polygons]
        out = []
        for p, polygon in enumerate(polygons, 1):
            for r, ring in enumerate(polygon, 1):
                for n, (x, y) in enumerate(ring[:-1], 1):
                    label = f"{n}" if (p, r) == (1, 1) else f"{p}.{r}.{n}"
                    out.append((label, float(x), float(y)))
        return out

    def signed_facts(self) -> dict[str, Any]:
        """The facts the verification token signs (short keys: the QR code stays small)."""
        return {
            "c": self.code,
            "p": self.parcel_id,
            "v": self.version_id,
            "a": round(self.area_m2, 1),
            "n": round(self.area_national_m2, 1),
            "s": self.srid,
            "lc": self.land_category,
            "du": self.designated_use,
            "r": self.registered_on.isoformat(),
            "g": self.geometry_md5[:16],
            "t": self.issued_at,
        }


async def plan_facts(
    conn: psycopg.AsyncConnection[Any], code: str, *, with_rights: bool
) -> PlanFacts:
    """The facts of the plan of a current parcel; rights only `with_rights` (and then only
    what the database's read policies let the transaction's identity read).

    Raises:
        ParcelNotFoundError: no current parcel has the code.
    """
    parse_code(code)
    row = await (await conn.execute(sql_text("plan"), {"code": code})).fetchone()
    if row is None:
        raise ParcelNotFoundError(f"no current parcel {code}")
    facts = PlanFacts(*row)
    if not with_rights:
        return facts
    rights = await (
        await conn.execute(
            "SELECT holder_name, right_type, share FROM restricted.cadastre_right_holders "
            "WHERE feature_id = %s ORDER BY share DESC, holder_name",
            [facts.parcel_id],
        )
    ).fetchall()
    encumbrances = await (
        await conn.execute(
            "SELECT encumbrance_type, beneficiary, starts_on, ends_on "
            "FROM restricted.cadastre_encumbrances WHERE parcel_id = %s ORDER BY starts_on",
            [facts.parcel_id],
        )
    ).fetchall()
    return PlanFacts(
        **{
            **facts.__dict__,
            "rights": [{"name": n, "right": r, "share": s} for n, r, s in rights],
            "encumbrances": [
                {"type": t, "beneficiary": b, "from": f, "to": u} for t, b, f, u in encumbrances
            ],
        }
    )


async def verification(conn: psycopg.AsyncConnection[Any], facts: dict[str, Any]) -> dict[str, Any]:
    """Whether the signed facts are still the register's: `current`, `superseded` (the
    parcel was split or merged: its successors named), `retired`, or `changed` (the parcel
    was edited since: the facts were true from the plan's version until then)."""
    row = await (
        await conn.execute(
            "SELECT v.valid_to IS NULL AND v.recorded_to IS NULL, r.retired_by, r.retired_at, "
            "(SELECT array_agg(c.cadastral_code ORDER BY c.cadastral_code) "
            " FROM cadastre.parcel_lineage l JOIN cadastre.parcel_register c "
            " ON c.parcel_id = l.child_id WHERE l.parent_id = r.parcel_id) "
            "FROM cadastre.parcel_register r LEFT JOIN cadastre.parcel_versions v "
            "ON v.version_id = %s AND v.parcel_id = r.parcel_id WHERE r.parcel_id = %s",
            [facts.get("v"), facts.get("p")],
        )
    ).fetchone()
    if row is None:
        return {"status": "unknown", "detail": "the register has no such parcel"}
    current, retired_by, retired_at, successors = row
    if current:
        return {"status": "current", "detail": "the plan's facts are the register's today"}
    if retired_by in ("split", "merge"):
        return {
            "status": "superseded",
            "detail": f"the parcel was {'split' if retired_by == 'split' else 'merged'} on "
            f"{retired_at.isoformat()}; the plan is no longer current",
            "successors": successors or [],
            "since": retired_at.isoformat(),
        }
    if retired_by:
        return {
            "status": "retired",
            "detail": "the parcel was retired",
            "since": retired_at.isoformat(),
        }
    return {"status": "changed", "detail": "the parcel was changed since the plan was issued"}
