"""Street names of the city twins in the three languages, for the viewer's street labels.

The roads layer holds a street's registered (Russian) name only; its Kyrgyz and Latin forms
are those of the address registry, given by the same rules (`cadastre.streets.street_name`).
`/map/streets.json` maps each name of an urban road to its forms: `{"улица X": {"ky": ...,
"ru": ..., "en": ...}}` (English: the Latin form), kept per version of the roads layer.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from cadastre.streets import street_name
from geoportal.viewer.aggregates import VersionedCache
from layers.catalogue import Catalogue

ROADS = "roads"


def read_street_forms(conn: psycopg.Connection, catalogue: Catalogue) -> dict[str, dict[str, str]]:
    """Every distinct name of an urban road with its ky/ru/en forms (empty without roads)."""
    if ROADS not in catalogue.ids:
        return {}
    rows = conn.execute(
        sql.SQL("SELECT DISTINCT name FROM {} WHERE road_class = 'urban' AND name <> ''").format(
            sql.Identifier(*catalogue.get(ROADS).qualified_table)
        )
    ).fetchall()
    out = {}
    for (name,) in rows:
        forms = street_name(name)
        out[name] = {"ky": forms.ky, "ru": forms.ru, "en": forms.latin}
    return out


def street_cache() -> VersionedCache:
    """The cache of the street names."""
    return VersionedCache((ROADS,), read_street_forms)
