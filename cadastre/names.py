"""The table of named things the search engine matches: `search.names`.

One row per named thing of the public layers: a settlement, an oblast, a lake, a peak; a
linear thing split into segments (a road, a river, a canal) is one row for all its segments,
grouped by its first search field (the road number, the river's name), with the box of all
of them; a street of the address registry is one row with the box of its addresses. Each
row has its labels in the three languages, the code shown beside the label (a road number)
and its search key (`search.name_key` of every search field, plus a road's international
designation). Addresses and cadastral codes are not rows: the engine finds them in their own
tables (`cadastre.search`).

`refresh_names` rebuilds the table in one transaction; the loaders call it after a load.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from layers.catalogue import Catalogue
from layers.model import LANGUAGES, Layer

PRIORITY = (
    "settlements",
    "oblasts",
    "rayons",
    "city_districts",
    "addresses",
    "roads",
    "lakes",
    "rivers",
    "peaks",
    "glaciers",
    "country",
)
"""Layers whose things come first at equal match (places before streets and roads)."""
KINDS = {
    "country": "place",
    "settlements": "place",
    "oblasts": "place",
    "rayons": "place",
    "city_districts": "place",
    "lakes": "water",
    "rivers": "water",
    "glaciers": "water",
    "peaks": "peak",
    "roads": "road",
}
"""What each layer's things are, in results (`feature` for the rest)."""
OWN_SEARCH = ("addresses", "buildings", "cadastre_parcels", "agri_plots")
"""Layers searched in their own tables (addresses; cadastral and plot codes by prefix on
their code index, `CODE_FIELDS`), not through names."""
CODE_FIELDS = {"cadastre_parcels": "cadastral_code", "agri_plots": "plot_code"}
"""The code of each layer searched by code prefix."""
FREE_TEXT = ("description",)
"""Search fields that are free text, not names: not in the names table."""
ROUTE_DESIGNATIONS: dict[str, tuple[str, ...]] = {
    "ЭМ-01": ("M41",),
    "ЭМ-04": ("M39",),
}
"""International (former Soviet M-road) numbers of the demo's national roads that carry them,
so that a query for one finds the road. The ЭМ- numbers are the demo's own (invented,
`layers/declarations/10_roads.yaml`); the real register numbers Bishkek - Osh ЭМ-04 (E-road
E010: https://wiki.aaroads.com/wiki/EM-04_(Kyrgyzstan)). Sources of the mapping:

- M39 -> ЭМ-04 Bishkek - Ak-Jol (Korday): confirmed. Kazakhstan's A2 was numbered M39 from
  the Uzbek border to Almaty (the Soviet numbering; https://profilpelajar.com/it/A2_(Kazakistan),
  a copy of Italian Wikipedia's "A2 (Kazakistan)") and runs through Kyrgyzstan by Bishkek
  and back north to the border towards Almaty (https://wikijii.com/wiki/A2_Highway_(Kazakhstan),
  a copy of English Wikipedia's "A2 highway (Kazakhstan)"): Bishkek - Korday is on it.
- M41 -> ЭМ-01 Bishkek - Osh: NOT confirmed by a source found. The M41 is the road of
  Tajikistan's Pamirs (https://beta.globalcorridor.eu/components/carec-corridors-2-3-and-5-
  road-project-m41-highway), and the Osh - Khorog Pamir tract is "a section of the trunk
  road Bishkek (Kara-Balta) - Toktogul - Jalal-Abad - Osh - Khorog" (Great Soviet
  Encyclopedia, "Памирский тракт", https://sky-net-eye.com/rus/slovari/generic/_enc_/
  encyclopedia/_p/46720_PAMIRSKIJ_TRAKT), but no source seen names that trunk road's Kyrgyz
  part M41; kept as the common usage, to be checked against the national road list."""
STREETS_SQL = """
INSERT INTO search.names (collection, kind, target_id, feature_count, label_ky, label_ru,
    label_en, matched, key, head, priority, min_lon, min_lat, max_lon, max_lat)
SELECT 'addresses', 'street', first_address_id::text, address_count,
       street_ky || ', ' || settlement_ky, street_ru || ', ' || settlement_ru,
       street_latin || ', ' || settlement_en, NULL, head, head, %(priority)s,
       min_lon, min_lat, max_lon, max_lat
FROM search.streets
WHERE street_ru IS NOT NULL AND address_count > 0
"""


def priority(layer_id: str) -> int:
    """The rank of a layer's things at equal match (lower first)."""
    return PRIORITY.index(layer_id) if layer_id in PRIORITY else len(PRIORITY)


def label_field(layer: Layer, lang: str) -> str:
    """The field holding a thing's name in `lang` (`name_ky`...) or its title field."""
    names = {f.name for f in layer.fields}
    for candidate in (f"name_{lang}", "name_en", layer.title_field):
        if candidate and candidate in names and candidate not in FREE_TEXT:
            return candidate
    return name_fields(layer)[0]


def named_layers(catalogue: Catalogue) -> list[Layer]:
    """The public layers with geometry and search fields whose things go into the names."""
    return [
        layer
        for layer in catalogue
        if layer.has_geometry
        and set(layer.search_fields) - set(FREE_TEXT)
        and not layer.is_restricted
        and layer.id not in OWN_SEARCH
    ]


def name_fields(layer: Layer) -> list[str]:
    """The search fields that name a thing (free text left out)."""
    return [f for f in layer.search_fields if f not in FREE_TEXT]


def _text(field: str) -> sql.Composable:
    return sql.SQL("{}::text").format(sql.Identifier(field))


def _code_field(layer: Layer) -> str | None:
    """The search field shown beside the label (a code or number), if any."""
    codes = [f for f in layer.search_fields if f.endswith(("_code", "_number"))]
    return codes[0] if codes else None


def layer_names_sql(layer: Layer) -> sql.Composed:
    """The INSERT of one layer's named things: one per feature, or for a linear layer one
    per value of its first search field (all its segments together)."""
    labels = [_text(label_field(layer, lang)) for lang in LANGUAGES]
    code = _code_field(layer)
    matched = _text(code) if code else sql.SQL("NULL::text")
    words = sql.SQL(", ").join(_text(f) for f in name_fields(layer))
    linear = layer.geometry_type in ("LineString", "MultiLineString")
    group = sql.Identifier(name_fields(layer)[0])
    if linear:
        values = [sql.SQL("mode() WITHIN GROUP (ORDER BY {})").format(x) for x in labels]
        matched = sql.SQL("min({})").format(matched)
        key = sql.SQL("search.name_key({}::text, {})").format(group, sql.SQL(", ").join(values))
        row, tail = (
            sql.SQL("min(id)::text, count(*)"),
            sql.SQL("ST_Extent(box) FROM rows GROUP BY {}").format(group),
        )
    else:
        values = labels
        key = sql.SQL("search.name_key({})").format(words)
        row, tail = sql.SQL("id::text, 1"), sql.SQL("box FROM rows")
    # The head: the thing's identifier, its code when it has one, else its names.
    head = sql.SQL("search.name_key({})").format(matched if code else sql.SQL(", ").join(values))
    select = sql.SQL("SELECT {row}, {labels}, {matched}, {key}, {head}, {tail}").format(
        row=row, labels=sql.SQL(", ").join(values), matched=matched, key=key, head=head, tail=tail
    )
    return sql.SQL(
        "INSERT INTO search.names (collection, kind, target_id, feature_count, label_ky, "
        "label_ru, label_en, matched, key, head, priority, min_lon, min_lat, max_lon, "
        "max_lat) SELECT {collection}, {kind}, fid, n, coalesce(lky, m, ''), "
        "coalesce(lru, m, ''), coalesce(len, m, ''), m, key, head, {priority}, ST_XMin(b), "
        "ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ("
        "WITH rows AS (SELECT *, box2d(ST_Transform(geom, 4326)) AS box FROM {table} "
        "WHERE geom IS NOT NULL AND {group} IS NOT NULL) {select}"
        ") AS t(fid, n, lky, lru, len, m, key, head, b) WHERE key <> ''"
    ).format(
        collection=sql.Literal(layer.id),
        kind=sql.Literal(KINDS.get(layer.id, "feature")),
        priority=sql.Literal(priority(layer.id)),
        table=sql.Identifier(*layer.qualified_table),
        group=group,
        select=select,
    )


def refresh_names(conn: psycopg.Connection, catalogue: Catalogue) -> int:
    """Rebuild `search.names` from the loaded layers and the registry's streets, in one
    transaction on the caller's (owner) connection; returns the number of named things."""
    with conn.transaction():
        conn.execute("DELETE FROM search.names")
        for layer in named_layers(catalogue):
            conn.execute(layer_names_sql(layer))
        conn.execute(STREETS_SQL, {"priority": priority("addresses")})
        for number, designations in ROUTE_DESIGNATIONS.items():
            conn.execute(
                "UPDATE search.names "
                "SET key = search.name_key(VARIADIC array_prepend(key, %(aliases)s::text[])), "
                "matched = concat_ws(' · ', matched, %(shown)s::text) "
                "WHERE collection = 'roads' AND matched = %(number)s",
                {
                    "aliases": list(designations),
                    "shown": " · ".join(designations),
                    "number": number,
                },
            )
        row = conn.execute("SELECT count(*) FROM search.names").fetchone()
    conn.execute("ANALYZE search.names")
    return int(row[0]) if row else 0
