"""The image bank as a STAC API at `/stac`, over pgstac's SQL functions (`imagery/bank.py`).

    /stac                                         landing page (a STAC Catalog)
    /stac/conformance                             conformance classes
    /stac/collections[/{collectionId}]            sensor and product collections
    /stac/collections/{collectionId}/items[/{itemId}]
    /stac/search                                  item search, GET and POST

Our own small routes rather than a mounted stac-fastapi-pgstac: see docs/imagery.md. Every
answer leaves through our middleware (CORS, limits, metrics) and our error table; searches
run on the `stac` pool (public role, read only, pgstac's read-only mode).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from geoportal.db.pools import PoolGetter
from geoportal.errors import guarded
from imagery import bank
from imagery.bank import (
    BankError,
    BankUnavailableError,
    InvalidSearchError,
    SearchParams,
    StacItemNotFoundError,
)

GEOJSON = "application/geo+json"
STAC_VERSION = "1.1.0"
CONFORMANCE = (
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
)
SEARCH_KEYS = {"bbox", "datetime", "collections", "ids", "limit", "query", "filter", "token"}
SEARCH_KEYS_POST = SEARCH_KEYS | {"filter-lang", "fields", "sortby"}


def params_of(values: dict[str, Any], collection: str | None = None) -> SearchParams:
    """A checked search from GET query values or a POST body."""
    lang = values.get("filter-lang")
    if values.get("filter") is not None and lang not in (None, "cql2-json"):
        raise InvalidSearchError("filter-lang must be cql2-json (CQL2 text is not supported)")
    return SearchParams(
        bbox=bank.parse_bbox(values.get("bbox")),
        datetime=bank.parse_datetime(values.get("datetime")),
        collections=(collection,) if collection else bank.names(values.get("collections")),
        ids=bank.names(values.get("ids")),
        limit=bank.parse_limit(values.get("limit")),
        query=bank.parse_json_object("query", values.get("query")),
        filter=bank.parse_json_object("filter", values.get("filter")),
        token=values.get("token") or None,
    )


def _token(link: dict[str, Any]) -> str | None:
    """The paging token of one of pgstac's next/prev links (in its body or its href)."""
    body = link.get("body") or {}
    if isinstance(body, dict) and body.get("token"):
        return str(body["token"])
    found = parse_qs(urlsplit(str(link.get("href", ""))).query).get("token")
    return found[0] if found else None


@dataclass
class StacServer:
    """The `/stac` routes of one process."""

    public_url: str
    pool: PoolGetter

    @property
    def root(self) -> str:
        """The API's base URL."""
        return f"{self.public_url}/stac"

    async def _run(self, work: Callable[[Any], Awaitable[Any]]) -> Any:
        pool = self.pool()
        if pool is None:
            raise BankUnavailableError("the image bank's pool is not open")
        async with pool.connection() as conn:
            return await work(conn)

    def _link(self, rel: str, href: str, kind: str = "application/json", **extra: Any) -> dict:
        return {"rel": rel, "href": href, "type": kind, **extra}

    async def landing(self, request: Request) -> Response:
        """The landing page: a STAC Catalog linking collections, search and the OpenAPI."""
        collections = await self._run(bank.get_collections)
        links = [
            self._link("self", self.root),
            self._link("root", self.root),
            self._link("conformance", f"{self.root}/conformance"),
            self._link("data", f"{self.root}/collections"),
            self._link("search", f"{self.root}/search", GEOJSON, method="GET"),
            self._link("search", f"{self.root}/search", GEOJSON, method="POST"),
            self._link(
                "service-desc",
                f"{self.public_url}/openapi",
                "application/vnd.oai.openapi+json;version=3.0",
            ),
            *(
                self._link("child", f"{self.root}/collections/{c['id']}", title=c.get("title"))
                for c in collections
            ),
        ]
        return JSONResponse(
            {
                "type": "Catalog",
                "stac_version": STAC_VERSION,
                "id": "kyrgyz-geoportal-image-bank",
                "title": "Image bank of the Kyrgyz national geoportal",
                "description": "Satellite scenes and raster products (NDVI, NDWI, NBR, terrain)",
                "conformsTo": list(CONFORMANCE),
                "links": links,
            }
        )

    async def conformance(self, request: Request) -> Response:
        """The conformance classes."""
        return JSONResponse({"conformsTo": list(CONFORMANCE)})

    def _collection(self, doc: dict[str, Any]) -> dict[str, Any]:
        href = f"{self.root}/collections/{doc['id']}"
        doc = dict(doc)
        doc["links"] = [
            self._link("self", href),
            self._link("root", self.root),
            self._link("parent", self.root),
            self._link("items", f"{href}/items", GEOJSON),
        ]
        return doc

    async def collections(self, request: Request) -> Response:
        """Every sensor and product collection."""
        docs = await self._run(bank.get_collections)
        return JSONResponse(
            {
                "collections": [self._collection(d) for d in docs],
                "links": [
                    self._link("self", f"{self.root}/collections"),
                    self._link("root", self.root),
                ],
            }
        )

    async def collection(self, request: Request) -> Response:
        """One collection."""
        collection_id = request.path_params["collectionId"]
        doc = await self._run(lambda conn: bank.get_collection(conn, collection_id))
        return JSONResponse(self._collection(doc))

    async def items(self, request: Request) -> Response:
        """The items of a collection (bbox, datetime, limit, token)."""
        collection_id = request.path_params["collectionId"]
        await self._run(lambda conn: bank.get_collection(conn, collection_id))  # 404 first
        params = params_of(dict(request.query_params), collection_id)
        href = f"{self.root}/collections/{collection_id}/items"
        return await self._answer(params, href, dict(request.query_params))

    async def item(self, request: Request) -> Response:
        """One item."""
        collection_id = request.path_params["collectionId"]
        item_id = request.path_params["itemId"]
        params = SearchParams(collections=(collection_id,), ids=(item_id,), limit=1)
        found = await self._run(lambda conn: bank.search(conn, params))
        if not found.get("features"):
            raise StacItemNotFoundError(f"no item {item_id!r} in collection {collection_id!r}")
        return JSONResponse(self._item(found["features"][0]), media_type=GEOJSON)

    async def search_get(self, request: Request) -> Response:
        """Item search from query parameters."""
        unknown = set(request.query_params) - SEARCH_KEYS - {"filter-lang", "f"}
        if unknown:
            raise InvalidSearchError(f"unknown search parameters: {', '.join(sorted(unknown))}")
        params = params_of(dict(request.query_params))
        return await self._answer(params, f"{self.root}/search", dict(request.query_params))

    async def search_post(self, request: Request) -> Response:
        """Item search from a JSON body."""
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise InvalidSearchError("the search body must be JSON") from None
        if not isinstance(body, dict):
            raise InvalidSearchError("the search body must be a JSON object")
        unknown = set(body) - SEARCH_KEYS_POST
        if unknown:
            raise InvalidSearchError(f"unknown search fields: {', '.join(sorted(unknown))}")
        return await self._answer(params_of(body), f"{self.root}/search", None)

    def _item(self, item: dict[str, Any]) -> dict[str, Any]:
        href = f"{self.root}/collections/{item.get('collection')}"
        item = dict(item)
        item["links"] = [
            self._link("self", f"{href}/items/{item.get('id')}", GEOJSON),
            self._link("collection", href),
            self._link("parent", href),
            self._link("root", self.root),
        ]
        return item

    async def _answer(
        self, params: SearchParams, href: str, query: dict[str, str] | None
    ) -> Response:
        """The FeatureCollection with our links; paging by pgstac's tokens (GET links carry
        the token in the query, POST links in the body to merge)."""
        result = await self._run(lambda conn: bank.search(conn, params))
        links = [self._link("self", href, GEOJSON), self._link("root", self.root)]
        for link in result.get("links", []):
            token = _token(link) if link.get("rel") in ("next", "prev") else None
            if token is None:
                continue
            if query is None:
                links.append(
                    self._link(
                        link["rel"], href, GEOJSON, method="POST", body={"token": token}, merge=True
                    )
                )
            else:
                paged = urlencode(
                    {**{k: v for k, v in query.items() if k != "token"}, "token": token}
                )
                links.append(self._link(link["rel"], f"{href}?{paged}", GEOJSON))
        features = [self._item(f) for f in result.get("features", [])]
        body = {
            "type": "FeatureCollection",
            "features": features,
            "numberReturned": len(features),
            "links": links,
        }
        return JSONResponse(body, media_type=GEOJSON)


def stac_routes(public_url: str, pool: PoolGetter) -> list[BaseRoute]:
    """The `/stac` routes on the `stac` pool."""
    server = StacServer(public_url, pool)
    base = "/stac"
    return [
        Route(base, guarded(server.landing, BankError), methods=["GET"]),
        Route(f"{base}/conformance", guarded(server.conformance, BankError), methods=["GET"]),
        Route(f"{base}/collections", guarded(server.collections, BankError), methods=["GET"]),
        Route(
            f"{base}/collections/{{collectionId}}",
            guarded(server.collection, BankError),
            methods=["GET"],
        ),
        Route(
            f"{base}/collections/{{collectionId}}/items",
            guarded(server.items, BankError),
            methods=["GET"],
        ),
        Route(
            f"{base}/collections/{{collectionId}}/items/{{itemId}}",
            guarded(server.item, BankError),
            methods=["GET"],
        ),
        Route(f"{base}/search", guarded(server.search_get, BankError), methods=["GET"]),
        Route(f"{base}/search", guarded(server.search_post, BankError), methods=["POST"]),
    ]
