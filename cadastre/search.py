"""The tolerant search engine: forward search of every named thing and of addresses, and
reverse geocoding, on the caller's (async) connection.

A query is reduced to its search key in the database (`search.search_key`, migration 0020:
Kyrgyz and Russian Cyrillic transliterated, Latin spellings folded, street and place types
dropped) and matched with pg_trgm word similarity (`<%`, index `names_key_trgm_idx`), so
that Latin, Cyrillic, missing or extra letters still match. Three sources answer:

- `search.names`: one row per named thing (`cadastre.names`);
- addresses: a query ending in a house number (`100`, `12а`) matches streets (and
  settlements) in `search.streets` (candidates: a street whose own name is similar to a run
  of the query's words, through the trigram index on `head`; ranked by the whole key), then
  the houses with that number on the best of them;
- codes: a query shaped like a code (`1-01-02-0003-0004`, a plot code) is a prefix of the
  code column of `CODE_FIELDS` (its `lower(...) text_pattern_ops` index).

The statements of one search (the threshold, the codes, names and houses; SQL in
`cadastre/sql/search_*.sql`, each computing its own key) go in one pipeline: one round trip
to the database, which on a busy machine costs more than the statements themselves.

Results are ranked by score (word similarity of the whole key plus similarity of the
thing's identifier: 2 for an exact name; an address adds 0.5 when its number and letter
match; an exact code scores 3), then by layer priority (places before streets, roads
before bridges), then by similarity of the whole text. `reverse` finds the nearest
addresses to a point with their parcel and building.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg import sql

from cadastre.errors import SearchQueryError
from cadastre.names import CODE_FIELDS, priority
from cadastre.sql_files import sql_text
from layers.catalogue import Catalogue
from layers.model import LANGUAGES

BBox = tuple[float, float, float, float]
"""min lon, min lat, max lon, max lat (CRS84)."""

_HOUSE = re.compile(r"^(?P<number>\d{1,5})(?:\s*(?P<letter>[^\W\d_]|/\d{1,3}))?$")
_CODE = re.compile(r"^[0-9A-Za-zА-Яа-яЁёӨөҮүҢң]+(?:-[0-9A-Za-zА-Яа-яЁёӨөҮүҢң]+)*$")
WORD_SIMILARITY = 0.5
"""The least word similarity of a match (pg_trgm's default 0.6 misses `Biskek` for
`Bishkek`, 0.5)."""
SETTLEMENT_PENALTY = STREET_HINT = 0.3
"""When the query names a street type (`пр`, `улица`): taken from a town's house, given to
a street."""
_STREET_TYPE = re.compile(
    r"(?<!\w)(ул|улица|пр|просп|проспект|проспекти|көчө|көчөсү|бульвар|пер|переулок|"
    r"street|st|avenue|ave|prospekt|prospekti|kochosu|köchösü|boulevard)(?!\w)\.?",
    re.IGNORECASE,
)
ADDRESS_STREETS = 20
"""How many best-matching streets the address search looks for the house number on."""


@dataclass(frozen=True)
class ParsedQuery:
    """A query split into the text to match, a trailing house number and letter, and the
    code it may be."""

    text: str
    number: int | None = None
    letter: str | None = None
    code: str | None = None


def parse_query(q: str) -> ParsedQuery:
    """Split a query into text, house number and letter; note whether it is code-shaped.

    >>> parse_query("bishkek chui 100")
    ParsedQuery(text='bishkek chui', number=100, letter=None, code=None)
    >>> parse_query("Чуй проспекти 12а")
    ParsedQuery(text='Чуй проспекти', number=12, letter='а', code=None)
    >>> parse_query("1-01-02-0003-0004").code
    '1-01-02-0003-0004'
    >>> parse_query("M41")
    ParsedQuery(text='M41', number=None, letter=None, code='M41')
    """
    text = " ".join(q.replace(",", " ").split())
    code = text if _CODE.match(text) and any(c.isdigit() for c in text) else None
    words = text.split(" ")
    for size in (2, 1):  # "12 а" or "12а"
        if len(words) > size:
            match = _HOUSE.match(" ".join(words[-size:]))
            if match:
                rest = " ".join(words[:-size])
                return ParsedQuery(rest, int(match["number"]), match["letter"], code)
    return ParsedQuery(text, None, None, code)


@dataclass(frozen=True)
class Hit:
    """One found thing: where it is, what it is called in the requested language."""

    collection: str
    feature_id: str
    kind: str
    label: str
    score: float
    similarity: float
    priority: int
    bbox: BBox
    point: tuple[float, float]
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> tuple[float, float, int, int]:
        """Sort key: best first."""
        return (-round(self.score, 3), self.priority, -round(self.similarity, 3), len(self.label))


def _lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise SearchQueryError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    return lang


THRESHOLD_SQL = "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)"
"""The session's word similarity threshold (the index condition of the names' candidates)."""


def names_query(lang: str) -> sql.Composed:
    """The names statement (`cadastre/sql/search_names.sql`) with labels in `lang`."""
    label = sql.Identifier(f"label_{_lang(lang)}")
    return sql.SQL(sql_text("search_names")).format(label=label)  # type: ignore[arg-type]


def name_hits(rows: list[tuple[Any, ...]]) -> list[Hit]:
    """Rows of the names statement as hits."""
    hits = []
    for row in rows:
        collection, kind, fid, label_text, matched, ws, sim, prio, *box, count = row
        if matched and matched.lower() not in label_text.lower():
            label_text = f"{matched} · {label_text}"
        bbox = (box[0], box[1], box[2], box[3])
        hits.append(
            Hit(
                collection=collection,
                feature_id=fid,
                kind=kind,
                label=label_text,
                score=float(ws) + float(sim),
                similarity=float(sim),
                priority=prio,
                bbox=bbox,
                point=((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2),
                properties={"featureCount": count},
            )
        )
    return hits


def _address_columns(lang: str, alias: str = "a") -> sql.Composed:
    """The columns of an address result, in `lang` (Latin for `en`)."""
    street = "latin" if lang == "en" else lang
    names = (
        "id",
        f"label_{lang}",
        "oblast",
        "rayon",
        f"settlement_{lang}",
        f"street_{street}",
        "house_number",
        "letter",
        "building_id",
        "parcel_id",
        "cadastral_code",
    )
    columns = [sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(n)) for n in names]
    columns.append(sql.SQL("ST_X({0}.geom), ST_Y({0}.geom)").format(sql.Identifier(alias)))
    return sql.SQL(", ").join(columns)


def address_hit(row: tuple[Any, ...], score: float, similarity: float) -> Hit:
    """An address row (`_address_columns`) as a hit."""
    fid, label, oblast, rayon, settlement, street, number, letter, bid, pid, code, x, y = row[:13]
    return Hit(
        collection="addresses",
        feature_id=str(fid),
        kind="address",
        label=label,
        score=score,
        similarity=similarity,
        priority=priority("addresses"),
        bbox=(x, y, x, y),
        point=(x, y),
        properties={
            "housenumber": f"{number}{letter or ''}",
            "street": street,
            "city": settlement,
            "district": rayon,
            "state": oblast,
            "country": "Kyrgyzstan",
            "countrycode": "KG",
            "building_id": bid,
            "parcel_id": pid,
            "cadastral_code": code,
        },
    )


def addresses_query(catalogue: Catalogue, lang: str) -> sql.Composed:
    """The houses statement (`cadastre/sql/search_addresses.sql`), columns in `lang`."""
    return sql.SQL(sql_text("search_addresses")).format(  # type: ignore[arg-type]
        columns=_address_columns(_lang(lang)),
        addresses=sql.Identifier(*catalogue.get("addresses").qualified_table),
    )


def house_hits(rows: list[tuple[Any, ...]], letter: str | None, street_hint: bool) -> list[Hit]:
    """Rows of the houses statement as hits: the letter asked for scores more; with
    `street_hint` (the query named a street type) a settlement's house scores less."""
    hits = []
    for row in rows:
        ws, sim, settlement_only = float(row[-3]), float(row[-2]), bool(row[-1])
        same_letter = (row[7] or "") == (letter or "")
        score = ws + sim + (0.5 if same_letter else 0.4)
        if settlement_only and street_hint:
            score -= SETTLEMENT_PENALTY
        hits.append(address_hit(row, score, sim))
    return hits


CODES_SQL = """
SELECT id::text, {code}, lower({code}) = lower(%(code)s) AS exact,
       ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)
FROM (SELECT id, {code}, box2d(ST_Transform(geom, 4326)) AS b FROM {table}
      WHERE lower({code}) LIKE lower(%(prefix)s) ESCAPE '\\' AND geom IS NOT NULL
      ORDER BY lower({code}) LIMIT %(limit)s) AS found
"""


def code_queries(
    catalogue: Catalogue, code: str, limit: int
) -> list[tuple[str, sql.Composed, dict[str, Any]]]:
    """(layer id, statement, values) of the code search of each layer of `CODE_FIELDS`."""
    prefix = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    present = {layer.id for layer in catalogue}
    return [
        (
            layer_id,
            sql.SQL(CODES_SQL).format(
                code=sql.Identifier(column),
                table=sql.Identifier(*catalogue.get(layer_id).qualified_table),
            ),
            {"code": code, "prefix": prefix, "limit": limit},
        )
        for layer_id, column in CODE_FIELDS.items()
        if layer_id in present
    ]


def code_hits(layer_id: str, rows: list[tuple[Any, ...]]) -> list[Hit]:
    """Features whose code starts with the query's (an exact code scores 3)."""
    hits = []
    for fid, value, exact, *box in rows:
        bbox = (box[0], box[1], box[2], box[3])
        hits.append(
            Hit(
                collection=layer_id,
                feature_id=fid,
                kind="parcel" if layer_id == "cadastre_parcels" else "code",
                label=value,
                score=3.0 if exact else 1.5,
                similarity=1.0 if exact else 0.0,
                priority=priority(layer_id),
                bbox=bbox,
                point=((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2),
            )
        )
    return hits


async def search(
    conn: psycopg.AsyncConnection[Any], catalogue: Catalogue, q: str, lang: str, limit: int
) -> list[Hit]:
    """Every source's hits for `q`, best first, one per named thing, at most `limit`: the
    statements (codes, names, houses) are sent in one pipeline, one round trip.

    Raises:
        SearchQueryError: `lang` is not a catalogue language.
    """
    _lang(lang)
    parsed = parse_query(q)
    house = parsed.number is not None and bool(parsed.text)
    hint = bool(_STREET_TYPE.search(q))
    async with conn.pipeline():
        await conn.execute(THRESHOLD_SQL, [str(WORD_SIMILARITY)])
        codes = [
            (layer_id, await conn.execute(query, values))
            for layer_id, query, values in (
                code_queries(catalogue, parsed.code, limit) if parsed.code else []
            )
        ]
        names = await conn.execute(
            names_query(lang), {"q": q, "limit": limit, "threshold": WORD_SIMILARITY}
        )
        houses = None
        if house:
            houses = await conn.execute(
                addresses_query(catalogue, lang),
                {
                    "q": parsed.text,
                    "number": parsed.number,
                    "letter": parsed.letter or "",
                    "limit": limit,
                    "streets": ADDRESS_STREETS,
                    "threshold": WORD_SIMILARITY,
                    "settlement_penalty": SETTLEMENT_PENALTY if hint else 0.0,
                },
            )
    hits = [
        hit for layer_id, cursor in codes for hit in code_hits(layer_id, await cursor.fetchall())
    ]
    hits += [  # `проспект Чуй`: the street before the town of Chuy
        replace(h, score=h.score + STREET_HINT) if hint and h.kind == "street" else h
        for h in name_hits(await names.fetchall())
    ]
    if houses is not None:
        hits += house_hits(await houses.fetchall(), parsed.letter, hint)
    best: dict[tuple[str, str], Hit] = {}
    for hit in sorted(hits, key=lambda h: h.rank):
        best.setdefault((hit.collection, hit.feature_id), hit)
    return list(best.values())[:limit]


REVERSE_SQL = """
SELECT {columns}, ST_Distance(a.geom::geography, pt.p::geography) AS distance_m
FROM {addresses} AS a, (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS p) AS pt
ORDER BY a.geom <-> pt.p, a.id
LIMIT %(limit)s
"""
PARCEL_FIELDS = ("cadastral_code", "land_category", "designated_use", "area_m2")
BUILDING_FIELDS = ("use", "floors", "height_m", "year_built")
"""The public fields of a parcel and a building shown with a reverse result (those the
layers declare)."""


async def _linked(
    conn: psycopg.AsyncConnection[Any],
    catalogue: Catalogue,
    layer_id: str,
    wanted: tuple[str, ...],
    ids: list[int],
) -> dict[int, dict[str, Any]]:
    """Public fields of the features `ids` of a layer, by id."""
    layer = catalogue.get(layer_id)
    public = {f.name for f in layer.public_fields}
    fields = [name for name in wanted if name in public]
    if not ids:
        return {}
    query = sql.SQL("SELECT id, {fields} FROM {table} WHERE id = ANY(%s)").format(
        fields=sql.SQL(", ").join(sql.Identifier(name) for name in fields),
        table=sql.Identifier(*layer.qualified_table),
    )
    cursor = await conn.execute(query, [ids])
    return {
        row[0]: {"id": row[0], **dict(zip(fields, row[1:], strict=True))}
        for row in await cursor.fetchall()
    }


async def reverse(
    conn: psycopg.AsyncConnection[Any],
    catalogue: Catalogue,
    *,
    lon: float,
    lat: float,
    lang: str,
    limit: int,
) -> list[Hit]:
    """The `limit` addresses nearest to (lon, lat) (CRS84), nearest first, each with its
    distance in metres (on the ellipsoid) and its parcel and building (public fields)."""
    query = sql.SQL(REVERSE_SQL).format(
        columns=_address_columns(_lang(lang)),
        addresses=sql.Identifier(*catalogue.get("addresses").qualified_table),
    )
    cursor = await conn.execute(query, {"lon": lon, "lat": lat, "limit": limit})
    rows = await cursor.fetchall()
    parcels = await _linked(
        conn, catalogue, "cadastre_parcels", PARCEL_FIELDS, [r[9] for r in rows if r[9]]
    )
    buildings = await _linked(
        conn, catalogue, "buildings", BUILDING_FIELDS, [r[8] for r in rows if r[8]]
    )
    hits = []
    for row in rows:
        hit = address_hit(row, 1.0, 1.0)
        hit.properties.update(
            distance_m=round(float(row[-1]), 1),
            parcel=parcels.get(row[9]),
            building=buildings.get(row[8]),
        )
        hits.append(hit)
    return hits
