"""`GET /search?q=&lang=&limit=`: find places, cadastral codes, road numbers and every other
named feature of the declared layers.

Each layer with geometry and `search_fields` in its declaration is searched on those fields
(case-insensitive, Cyrillic folded by the C.UTF-8 cluster): an exact match ranks first, then
a prefix, then a match inside the text. Results carry the collection id, the feature id, a
label in the requested language and the feature's bbox (CRS84), so a client can zoom to it.
Read through the public database role, one parameterised statement per request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import PoolTimeout
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from geoportal.db.pools import PoolGetter
from geoportal.errors import route_problem
from layers.catalogue import Catalogue
from layers.model import LANGUAGES, Layer

log = logging.getLogger(__name__)

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
PRIORITY = (
    "settlements",
    "cadastre_parcels",
    "roads",
    "oblasts",
    "rayons",
    "lakes",
    "rivers",
    "peaks",
    "buildings",
)
"""Layers whose results come first at equal rank (places before buildings of that name)."""


class SearchParamsError(ValueError):
    """A search parameter is missing or invalid (HTTP 400)."""


@dataclass(frozen=True)
class SearchParams:
    """The validated query parameters of a search."""

    q: str
    lang: str
    limit: int

    @classmethod
    def from_query(cls, query: Any, default_language: str) -> SearchParams:
        """Validate `q`, `lang` and `limit` of a request's query string.

        Raises:
            SearchParamsError: saying which parameter is wrong and what is allowed.
        """
        unknown = sorted(set(query.keys()) - {"q", "lang", "limit", "f"})
        if unknown:
            raise SearchParamsError(f"unknown parameters {unknown}; use q, lang and limit")
        q = " ".join(str(query.get("q", "")).split())
        if "\x00" in q:  # PostgreSQL text cannot hold it: a 400, not a database error
            raise SearchParamsError("q must not contain NUL characters")
        if not MIN_QUERY_LENGTH <= len(q) <= MAX_QUERY_LENGTH:
            raise SearchParamsError(
                f"q must have {MIN_QUERY_LENGTH} to {MAX_QUERY_LENGTH} characters, got {len(q)}"
            )
        lang = query.get("lang") or default_language
        if lang not in LANGUAGES:
            raise SearchParamsError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
        text = query.get("limit") or str(DEFAULT_LIMIT)
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise SearchParamsError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {text!r}")
        return cls(q=q, lang=lang, limit=int(text))


def searchable_layers(catalogue: Catalogue) -> list[Layer]:
    """Layers with geometry and search fields, the priority ones first."""
    layers = [lyr for lyr in catalogue if lyr.has_geometry and lyr.search_fields]
    return sorted(
        layers, key=lambda lyr: PRIORITY.index(lyr.id) if lyr.id in PRIORITY else len(PRIORITY)
    )


def label_field(layer: Layer, lang: str) -> str:
    """The field holding a feature's name in `lang` (`name_ky`...) or its title field."""
    names = {f.name for f in layer.fields}
    for candidate in (f"name_{lang}", "name_en", layer.title_field):
        if candidate and candidate in names:
            return candidate
    return layer.search_fields[0]


def layer_query(layer: Layer, lang: str, position: int) -> sql.Composed:
    """One layer's part of the search: its matches with rank, label and CRS84 bbox."""
    fields = [sql.Identifier(name) for name in layer.search_fields]
    contains = sql.SQL(" OR ").join(sql.SQL("{} ILIKE %(contains)s").format(f) for f in fields)
    exact = sql.SQL(" OR ").join(sql.SQL("lower({}) = lower(%(q)s)").format(f) for f in fields)
    prefix = sql.SQL(" OR ").join(sql.SQL("{} ILIKE %(prefix)s").format(f) for f in fields)
    # What matched, shown beside the label (a road number beside the road's name); the
    # names in other languages are translations of the label, not shown.
    codes = [sql.Identifier(n) for n in layer.search_fields if not n.startswith("name_")]
    matched = (
        sql.SQL("CASE {} END").format(
            sql.SQL(" ").join(
                sql.SQL("WHEN {f} ILIKE %(contains)s THEN {f}::text").format(f=f) for f in codes
            )
        )
        if codes
        else sql.SQL("NULL::text")
    )
    return sql.SQL(
        "(SELECT {collection} AS collection, id::text AS fid, {label}::text AS label, "
        "{matched} AS matched, CASE WHEN {exact} THEN 0 WHEN {prefix} THEN 1 ELSE 2 END AS rank,"
        " {position} AS position, box2d(ST_Transform(geom, 4326)) AS box "
        "FROM {table} WHERE geom IS NOT NULL AND ({contains}) "
        "ORDER BY rank, length({label}::text) LIMIT %(limit)s)"
    ).format(
        collection=sql.Literal(layer.id),
        label=sql.Identifier(label_field(layer, lang)),
        matched=matched,
        exact=exact,
        prefix=prefix,
        position=sql.Literal(position),
        table=sql.Identifier(*layer.qualified_table),
        contains=contains,
    )


def search_query(layers: list[Layer], lang: str) -> sql.Composed:
    """The whole search: every layer's matches, best first."""
    parts = sql.SQL(" UNION ALL ").join(
        layer_query(layer, lang, index) for index, layer in enumerate(layers)
    )
    return sql.SQL(
        "SELECT collection, fid, label, matched, ST_XMin(box), ST_YMin(box), ST_XMax(box), "
        "ST_YMax(box) FROM ({parts}) AS hits ORDER BY rank, position, length(label) "
        "LIMIT %(limit)s"
    ).format(parts=parts)


def _like_escape(text: str) -> str:
    r"""`text` with LIKE's wildcards escaped (the default escape character is a backslash).

    >>> _like_escape("50%_a\\b")
    '50\\%\\_a\\\\b'
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def result_json(row: tuple[Any, ...], titles: dict[str, str]) -> dict[str, Any]:
    """One search result as JSON."""
    collection, fid, label, matched, *bbox = row
    label = label or matched
    if matched and matched.lower() not in (label or "").lower():
        label = f"{matched} · {label}"
    return {
        "collection": collection,
        "id": fid,
        "label": label,
        "layer": titles.get(collection, collection),
        "bbox": [round(float(v), 7) for v in bbox],
    }


@dataclass
class SearchService:
    """The search route's state in one server process: the layers and the `search` pool
    (`geoportal.db.pools`, opened by the app's lifespan)."""

    catalogue: Catalogue
    pool: PoolGetter = field(repr=False)
    default_language: str = "en"

    async def search(self, request: Request) -> Response:
        """`GET /search`: features whose name or code matches `q`."""
        try:
            params = SearchParams.from_query(request.query_params, self.default_language)
        except SearchParamsError as exc:
            return route_problem(request, 400, str(exc))
        layers = searchable_layers(self.catalogue)
        values = {
            "q": params.q,
            "contains": f"%{_like_escape(params.q)}%",
            "prefix": f"{_like_escape(params.q)}%",
            "limit": params.limit,
        }
        pool = self.pool()
        if pool is None:
            return route_problem(request, 503, "search is not started")
        try:
            async with pool.connection() as conn:
                cursor = await conn.execute(search_query(layers, params.lang), values)
                rows = await cursor.fetchall()
        except (psycopg.OperationalError, psycopg.errors.QueryCanceled, PoolTimeout) as exc:
            log.warning("search failed: %s", exc)
            return route_problem(request, 503, "the database did not answer")
        titles = {layer.id: layer.title.get(params.lang) for layer in layers}
        return JSONResponse(
            {
                "query": params.q,
                "lang": params.lang,
                "results": [result_json(row, titles) for row in rows],
            },
        )


def search_routes(service: SearchService) -> list[Route]:
    """The `/search` route."""
    return [Route("/search", service.search, methods=["GET"])]
