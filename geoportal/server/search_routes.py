"""`GET /search`, `/geocode` and `/reverse`: the tolerant search engine of `cadastre.search`
served over HTTP.

- `/search?q=&lang=&limit=` (the viewer's search box): one result per named thing (places,
  roads with all their segments, streets, addresses, cadastral codes...), each with its
  collection id, feature id, label in the requested language, the collection's title, its
  kind, its score and the CRS84 bbox of the whole thing, best first.
- `/geocode?q=&lang=&limit=`: the same results as a GeoJSON FeatureCollection in the style
  of Photon (a point per thing, its `extent`, address parts `housenumber`, `street`, `city`,
  `district`, `state`, `country`).
- `/reverse?lon=&lat=&lang=&limit=`: the nearest addresses to a point, nearest first, with
  their distance and their parcel and building (public fields).

Everything is read through the public database role (the `search` pool), so no restricted
field can appear. A bad parameter is a 400 naming it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cadastre import search as engine
from geoportal.db.pools import PoolGetter
from geoportal.errors import route_problem
from layers.catalogue import Catalogue
from layers.model import LANGUAGES

log = logging.getLogger(__name__)

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MAX_REVERSE_LIMIT = 10
GEOJSON = "application/geo+json"


class SearchParamsError(ValueError):
    """A search parameter is missing or invalid (HTTP 400)."""


def _check_names(query: Any, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(query.keys()) - {*allowed, "f"})
    if unknown:
        raise SearchParamsError(f"unknown parameters {unknown}; use {', '.join(allowed)}")


def _lang(query: Any, default_language: str) -> str:
    lang = query.get("lang") or default_language
    if lang not in LANGUAGES:
        raise SearchParamsError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    return str(lang)


def _limit(query: Any, default: int, maximum: int) -> int:
    text = query.get("limit") or str(default)
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise SearchParamsError(f"limit must be an integer from 1 to {maximum}, got {text!r}")
    return int(text)


@dataclass(frozen=True)
class SearchParams:
    """The validated query parameters of a search (and of `/geocode`)."""

    q: str
    lang: str
    limit: int

    @classmethod
    def from_query(cls, query: Any, default_language: str) -> SearchParams:
        """Validate `q`, `lang` and `limit` of a request's query string.

        Raises:
            SearchParamsError: saying which parameter is wrong and what is allowed.
        """
        _check_names(query, ("q", "lang", "limit"))
        q = " ".join(str(query.get("q", "")).split())
        if "\x00" in q:  # PostgreSQL text cannot hold it: a 400, not a database error
            raise SearchParamsError("q must not contain NUL characters")
        if not MIN_QUERY_LENGTH <= len(q) <= MAX_QUERY_LENGTH:
            raise SearchParamsError(
                f"q must have {MIN_QUERY_LENGTH} to {MAX_QUERY_LENGTH} characters, got {len(q)}"
            )
        return cls(
            q=q,
            lang=_lang(query, default_language),
            limit=_limit(query, DEFAULT_LIMIT, MAX_LIMIT),
        )


def _coordinate(query: Any, name: str, bound: float) -> float:
    text = query.get(name)
    if text is None or text == "":
        raise SearchParamsError(f"{name} is required (decimal degrees, CRS84)")
    try:
        value = float(text)
    except ValueError:
        raise SearchParamsError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise SearchParamsError(f"{name} must be from -{bound:g} to {bound:g}, got {text!r}")
    return value


@dataclass(frozen=True)
class ReverseParams:
    """The validated query parameters of a reverse geocoding."""

    lon: float
    lat: float
    lang: str
    limit: int

    @classmethod
    def from_query(cls, query: Any, default_language: str) -> ReverseParams:
        """Validate `lon`, `lat`, `lang` and `limit`.

        Raises:
            SearchParamsError: saying which parameter is wrong and what is allowed.
        """
        _check_names(query, ("lon", "lat", "lang", "limit"))
        return cls(
            lon=_coordinate(query, "lon", 180),
            lat=_coordinate(query, "lat", 90),
            lang=_lang(query, default_language),
            limit=_limit(query, 1, MAX_REVERSE_LIMIT),
        )


def _bbox(hit: engine.Hit) -> list[float]:
    return [round(float(v), 7) for v in hit.bbox]


def result_json(hit: engine.Hit, titles: dict[str, str]) -> dict[str, Any]:
    """One `/search` result."""
    return {
        "collection": hit.collection,
        "id": hit.feature_id,
        "label": hit.label,
        "layer": titles.get(hit.collection, hit.collection),
        "kind": hit.kind,
        "score": round(hit.score, 3),
        "bbox": _bbox(hit),
    }


def feature_json(hit: engine.Hit, titles: dict[str, str]) -> dict[str, Any]:
    """One GeoJSON feature of `/geocode` or `/reverse` (Photon's property names)."""
    minx, miny, maxx, maxy = _bbox(hit)
    properties = {
        **result_json(hit, titles),
        "name": hit.label,
        "type": hit.kind,
        "extent": [minx, maxy, maxx, miny],  # Photon: west, north, east, south
        **{k: v for k, v in hit.properties.items() if v is not None},
    }
    return {
        "type": "Feature",
        "id": f"{hit.collection}.{hit.feature_id}",
        "geometry": {
            "type": "Point",
            "coordinates": [round(hit.point[0], 7), round(hit.point[1], 7)],
        },
        "bbox": [minx, miny, maxx, maxy],
        "properties": properties,
    }


Handler = Callable[[psycopg.AsyncConnection[Any]], Awaitable[list[engine.Hit]]]


@dataclass
class SearchService:
    """The search routes' state in one server process: the catalogue and the `search`
    pool (`geoportal.db.pools`, opened by the app's lifespan)."""

    catalogue: Catalogue
    pool: PoolGetter = field(repr=False)
    default_language: str = "en"

    def titles(self, lang: str) -> dict[str, str]:
        """Collection id -> title in `lang`."""
        return {layer.id: layer.title.get(lang) for layer in self.catalogue}

    async def _run(self, request: Request, handler: Handler) -> list[engine.Hit] | Response:
        pool = self.pool()
        if pool is None:
            return route_problem(request, 503, "search is not started")
        try:
            async with pool.connection() as conn:
                return await handler(conn)
        except (psycopg.OperationalError, psycopg.errors.QueryCanceled, PoolTimeout) as exc:
            log.warning("search failed: %s", exc)
            return route_problem(request, 503, "the database did not answer")

    async def _forward(self, request: Request) -> tuple[SearchParams, list[engine.Hit]] | Response:
        try:
            params = SearchParams.from_query(request.query_params, self.default_language)
        except SearchParamsError as exc:
            return route_problem(request, 400, str(exc))
        hits = await self._run(
            request,
            lambda conn: engine.search(conn, self.catalogue, params.q, params.lang, params.limit),
        )
        return hits if isinstance(hits, Response) else (params, hits)

    async def search(self, request: Request) -> Response:
        """`GET /search`: one result per named thing matching `q`."""
        found = await self._forward(request)
        if isinstance(found, Response):
            return found
        params, hits = found
        titles = self.titles(params.lang)
        return JSONResponse(
            {
                "query": params.q,
                "lang": params.lang,
                "results": [result_json(hit, titles) for hit in hits],
            }
        )

    async def geocode(self, request: Request) -> Response:
        """`GET /geocode`: the search's results as GeoJSON (Photon style)."""
        found = await self._forward(request)
        if isinstance(found, Response):
            return found
        params, hits = found
        titles = self.titles(params.lang)
        body = {
            "type": "FeatureCollection",
            "query": params.q,
            "features": [feature_json(hit, titles) for hit in hits],
        }
        return JSONResponse(body, media_type=GEOJSON)

    async def reverse(self, request: Request) -> Response:
        """`GET /reverse`: the nearest addresses to a point, with parcel and building."""
        try:
            params = ReverseParams.from_query(request.query_params, self.default_language)
        except SearchParamsError as exc:
            return route_problem(request, 400, str(exc))
        hits = await self._run(
            request,
            lambda conn: engine.reverse(
                conn,
                self.catalogue,
                lon=params.lon,
                lat=params.lat,
                lang=params.lang,
                limit=params.limit,
            ),
        )
        if isinstance(hits, Response):
            return hits
        titles = self.titles(params.lang)
        body = {
            "type": "FeatureCollection",
            "query": {"lon": params.lon, "lat": params.lat},
            "features": [feature_json(hit, titles) for hit in hits],
        }
        return JSONResponse(body, media_type=GEOJSON)


def search_routes(service: SearchService) -> list[Route]:
    """The `/search`, `/geocode` and `/reverse` routes."""
    return [
        Route("/search", service.search, methods=["GET"]),
        Route("/geocode", service.geocode, methods=["GET"]),
        Route("/reverse", service.reverse, methods=["GET"]),
    ]
