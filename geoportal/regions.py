"""Regions named by users: an oblast by its id, ISO 3166-2 code or name in Kyrgyz, Russian
or English, case-insensitively; an unknown name is an error listing the valid ones.

`Chuy`, `chuy region`, `Чуйская область`, `чүй облусу`, `KG-C` and the row id all name
the same oblast; a name may be given without its last word (`область`, `Region`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from psycopg import AsyncConnection, sql
from shapely.geometry.base import BaseGeometry

from layers.model import Layer

_NAME_FIELDS = ("name_ky", "name_ru", "name_en")


class RegionNotFoundError(ValueError):
    """No region has that id or name; the message lists the valid names."""


@dataclass(frozen=True)
class Region:
    """An administrative unit: its id, names and geometry (CRS84)."""

    id: int
    names: dict[str, str]
    geometry: BaseGeometry

    @property
    def label(self) -> str:
        """Its English name."""
        return self.names.get("en", str(self.id))


def _keys(row_id: int, names: dict[str, str], extra: list[str]) -> set[str]:
    """Every spelling that names the unit, case-folded.

    >>> sorted(_keys(2, {"en": "Chuy Region"}, ["KG-C"]))
    ['2', 'chuy', 'chuy region', 'kg-c']
    """
    keys = {str(row_id), *(e.casefold() for e in extra if e)}
    for name in names.values():
        folded = " ".join(name.casefold().split())
        keys.add(folded)
        words = folded.split(" ")
        if len(words) > 1:
            keys.add(" ".join(words[:-1]))  # without "область", "облусу", "region", ...
            keys.add(" ".join(words[1:]))  # "город бишкек" -> "бишкек"
    return keys


async def list_oblasts(
    conn: AsyncConnection[Any],
    layer: Layer,
    code_fields: tuple[str, ...] = ("iso_3166_2", "adm1_code"),
) -> list[tuple[Region, set[str]]]:
    """Every oblast (or unit of another administrative layer) with the spellings that name it
    (geometry in CRS84); `code_fields` are the layer's fields of codes that name a unit."""
    fields = [f.name for f in layer.public_fields]
    names = [f for f in _NAME_FIELDS if f in fields]
    codes = [f for f in code_fields if f in fields]
    geom = (
        sql.SQL("ST_AsBinary(ST_Transform(geom, 4326))")
        if layer.storage_srid != 4326
        else sql.SQL("ST_AsBinary(geom)")
    )
    query = sql.SQL("SELECT id, {}, {} FROM {} ORDER BY id").format(
        sql.SQL(", ").join(map(sql.Identifier, [*names, *codes])),
        geom,
        sql.Identifier(*layer.qualified_table),
    )
    cur = await conn.execute(query)
    out = []
    for row in await cur.fetchall():
        by_language = {
            f.removeprefix("name_"): row[1 + i] for i, f in enumerate(names) if row[1 + i]
        }
        region = Region(int(row[0]), by_language, shapely.from_wkb(bytes(row[-1])))
        out.append(
            (
                region,
                _keys(region.id, by_language, [row[1 + len(names) + i] for i in range(len(codes))]),
            )
        )
    return out


async def get_oblast(conn: AsyncConnection[Any], layer: Layer, text: str) -> Region:
    """The oblast `text` names (id, ISO code or a name in ky/ru/en, any case).

    Raises:
        RegionNotFoundError: no oblast or several match; lists the valid names.
    """
    return _one(text, await list_oblasts(conn, layer), "oblast", "Kyrgyz, Russian or English")


async def get_rayon(conn: AsyncConnection[Any], layer: Layer, text: str) -> Region:
    """The rayon `text` names: its id or English name (Kyrgyz and Russian rayon names join
    when sourced names are in the data), any case.

    Raises:
        RegionNotFoundError: no rayon or several match; lists the valid names.
    """
    return _one(text, await list_oblasts(conn, layer, ()), "rayon", "English")


def _one(text: str, units: list[tuple[Region, set[str]]], kind: str, languages: str) -> Region:
    wanted = " ".join(text.casefold().split())
    found = [region for region, keys in units if wanted and wanted in keys]
    if len(found) == 1:
        return found[0]
    valid = "; ".join(f"{r.id}: " + " / ".join(r.names.values()) for r, _ in units)
    reason = f"matches several {kind}s" if found else f"is not an {kind}"
    if kind == "rayon":
        reason = reason.replace("an rayon", "a rayon")
    raise RegionNotFoundError(
        f"{text!r} {reason}; give an id or a name in {languages}: {valid or f'no {kind} is loaded'}"
    )
