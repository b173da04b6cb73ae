"""The two hot OGC API Features requests, answered without pygeoapi's per-request work.

`GET /collections/{id}/items` and `GET /collections/{id}/items/{featureId}` in JSON make up
most of the Features traffic. pygeoapi answers them by building a provider per request,
turning our provider's GeoJSON text into Python objects and back into JSON, and translating
the configuration; measured, that is more than half of the time of a request by id
(docs/benchmarks.md). This ASGI layer sits in front of pygeoapi's app and answers those two
requests itself, with the same parameter handling (pygeoapi's own validators), the same links
and headers, and the page text exactly as PostgreSQL rendered it.

It only answers what it is sure about: another format (HTML, JSON-LD, CSV), a body, a
collection served by another provider, and every invalid parameter go to pygeoapi, so errors
and every other representation stay pygeoapi's. Errors raised by our provider while querying
are answered here, in pygeoapi's exception format, so a slow query never runs twice.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pygeoapi import l10n
from pygeoapi.api import (
    API,
    SYSTEM_LOCALE,
    APIRequest,
    evaluate_limit,
    validate_bbox,
    validate_datetime,
)
from pygeoapi.crs import (
    DEFAULT_CRS,
    DEFAULT_STORAGE_CRS,
    create_crs_transform_spec,
    get_supported_crs_list,
    modify_pygeofilter,
    set_content_crs_header,
)
from pygeoapi.formats import F_HTML, F_JSON, F_JSONLD, FORMAT_TYPES
from pygeoapi.plugin import load_plugin
from pygeoapi.provider import get_provider_by_type
from pygeoapi.provider.base import ProviderGenericError, ProviderInvalidQueryError
from pygeoapi.util import get_dataset_formatters, str2bool
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from features.database import is_transform_error
from features.paging import Page, known_matched, planned_page_async
from geoportal.db.pools import PoolGetter
from geoportal.providers.features import PostGISFeatureProvider, provider_error
from geoportal.pygeoapi_.patches import transform_bbox  # pygeoapi's, cached
from geoportal.server.etags import entity_tags

log = logging.getLogger(__name__)

PROVIDER_NAME = f"{PostGISFeatureProvider.__module__}.{PostGISFeatureProvider.__name__}"
_PATH = re.compile(r"/collections/(?P<collection>[^/]+)/items(?:/(?P<item>[^/]+))?")
_RESERVED = {
    "bbox",
    "bbox-crs",
    "crs",
    "f",
    "lang",
    "limit",
    "offset",
    "resulttype",
    "datetime",
    "sortby",
    "properties",
    "skipGeometry",
    "q",
    "filter",
    "filter-lang",
    "filter-crs",
}
_FILTER_LANGS = {None, "cql-json", "cql-text", "cql2-text", "cql2-json"}  # as pygeoapi
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~-]{1,64}")  # the same in a URL and in JSON
_ID_MARK = "\ue000id\ue000"  # private-use characters: kept as they are by _dumps, never in a link


@functools.lru_cache(maxsize=256)
def parsed_filter(
    text: str, filter_crs: str, storage_crs: str | None, geom_field: str | None
) -> Any:
    """A CQL2 text filter parsed by pygeofilter and adapted to the collection by pygeoapi's
    `modify_pygeofilter`, remembered for the next pages and clients asking the same filter:
    the Lark parse cost most of the filter class's time above its SQL floor. The tree is only
    read afterwards (translated to SQL per request), so sharing it is safe; texts are at most
    32,768 characters (`input_limits.py`), so 256 entries stay a few MB."""
    return modify_pygeofilter(
        parse_cql2_text(text),
        filter_crs_uri=filter_crs,
        storage_crs_uri=storage_crs,
        geometry_column_name=geom_field,
    )


class NotHandled(Exception):
    """The request is pygeoapi's to answer (another format, or a parameter to reject)."""


@dataclass(frozen=True)
class Collection:
    """A collection the fast path serves: its configuration and its (process-wide) provider."""

    name: str
    resource: dict[str, Any]
    provider_def: dict[str, Any]
    provider: PostGISFeatureProvider
    formatters: dict[str, Any]  # pygeoapi's dataset formatters (CSV, ...), looked up once
    etag: sql.Composable | None  # the entity tag of a row `p` (editable layers), or None
    item_plans: dict[tuple, ItemPlan | None] = field(default_factory=dict)
    """Per query string and negotiation headers: what a feature request's answer looks like."""
    _specs: dict[str | None, Any] = field(default_factory=dict)

    def crs_transform_spec(self, crs: str | None) -> Any:
        """pygeoapi's CrsTransformSpec for the `crs` parameter (built once per CRS; pyproj
        objects are slow to make); raises as pygeoapi's does for an unsupported CRS."""
        if crs not in self._specs:
            spec = create_crs_transform_spec(self.provider_def, crs)
            if len(self._specs) < 64:  # the supported CRS list is short; junk is not kept
                self._specs[crs] = spec
            return spec
        return self._specs[crs]


@dataclass(frozen=True)
class ItemPlan:
    """Everything of a feature's answer that its id and row do not change."""

    format: str | None
    locale: Any
    spec: Any  # pygeoapi's CrsTransformSpec of the `crs` parameter
    error_headers: dict[str, str]  # as pygeoapi has them when the provider fails
    headers: tuple[tuple[bytes, bytes], ...]  # of a 200, without length and ETag
    links: tuple[str, ...]  # the links' JSON text, split where the id goes


class FeaturesFastPath:
    """ASGI app in front of pygeoapi's: answers JSON items and item requests itself."""

    def __init__(
        self,
        app: ASGIApp,
        api: API,
        pool: PoolGetter,
        etags: dict[str, sql.Composable] | None = None,
    ) -> None:
        """`pool`: the server's asyncio features pool (`geoportal.db.pools`, opened in the
        app's lifespan; None outside it). `etags`: per collection, the SQL of a feature's
        entity tag over its row `p`; a feature of those collections is answered with its
        `ETag` (selected in the same statement) and a matching `If-None-Match` gets a 304."""
        self.app = app
        self.api = api
        self.etags = etags or {}
        self._pool = pool
        self._collections: dict[str, Collection | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _PATH.fullmatch(scope["path"])
            if match and not any(
                name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"]
            ):
                response = await self.respond(  # the path is percent-decoded already
                    Request(scope, receive), match["collection"], match["item"]
                )
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def collection(self, name: str) -> Collection | None:
        """The collection `name` if our provider serves it (its provider built once)."""
        if name in self._collections:
            return self._collections[name]
        resource = self.api.config["resources"].get(name) or {}
        found = None
        try:
            provider_def = get_provider_by_type(resource.get("providers") or [], "feature")
            if resource.get("type") == "collection" and provider_def["name"] == PROVIDER_NAME:
                found = Collection(
                    name,
                    resource,
                    provider_def,
                    load_plugin("provider", provider_def),
                    get_dataset_formatters(resource),
                    self.etags.get(name),
                )
        except ProviderGenericError:  # misconfigured or database down: pygeoapi explains
            return None
        except Exception:  # noqa: BLE001 - pygeoapi's lookup raises several kinds
            return None
        self._collections[name] = found
        return found

    async def respond(self, request: Request, name: str, item: str | None) -> Response | None:
        """The response, or None when pygeoapi should answer."""
        if name in self._collections:
            collection = self._collections[name]
        else:  # the first request: the provider reads the table's columns
            collection = await run_in_threadpool(self.collection, name)
        if collection is None:
            return None
        if item is not None:  # one statement: in this event loop
            return await self.item(request, collection, item)
        api_request = self.api_request(request, collection)
        if api_request.format not in (None, F_JSON):
            return None
        headers = api_request.get_response_headers(SYSTEM_LOCALE, **self.api.api_headers)
        try:  # a remembered statement: here; else a page may take several: in a thread
            body = await self.planned_items(api_request, collection, headers)
            if body is None:
                body = await run_in_threadpool(self.items, api_request, collection, headers)
        except NotHandled:
            return None
        except ProviderGenericError as err:
            return self.exception(err, headers, api_request.format)
        prv_locale = l10n.get_plugin_locale(collection.provider_def, api_request.raw_locale)
        l10n.set_response_language(headers, prv_locale, api_request.locale)
        return Response(body, status_code=HTTPStatus.OK, headers=headers)

    def api_request(self, request: Request, collection: Collection) -> APIRequest:
        """pygeoapi's view of the request: parameters, language, format (with the
        collection's own formats, as pygeoapi negotiates them per dataset)."""
        api_request = APIRequest(request, self.api.locales)
        formatters = collection.formatters
        if formatters:
            api_request._format = api_request._get_format(
                api_request.get_request_headers(request.headers),
                {f.f: f.mimetype for f in formatters.values()},
            )
        return api_request

    def exception(
        self, err: ProviderGenericError, headers: dict[str, str], fmt: str | None
    ) -> Response:
        """A provider error in pygeoapi's exception format."""
        headers, status, content = self.api.get_exception(
            err.http_status_code, headers, fmt, err.ogc_exception_code, err.message
        )
        return Response(content, status_code=status, headers=headers)

    def pool(self) -> AsyncConnectionPool:
        """The server's asyncio features pool.

        Raises:
            PoolTimeout: outside the app's lifespan (answered 503, as a pool timeout).
        """
        pool = self._pool()
        if pool is None:
            raise PoolTimeout("the features pool is not open (server starting or stopping)")
        return pool

    # -- the two requests --------------------------------------------------------------
    def items(self, request: APIRequest, collection: Collection, headers: dict) -> str:
        """`/items` as pygeoapi's get_collection_items would render it in JSON."""
        query = ItemsQuery.parse(request, collection, self.api)
        set_content_crs_header(headers, collection.provider_def, query.crs)
        page = collection.provider.query_page(**query.provider_args())
        return self.items_body(request, collection, query, page)

    async def planned_items(
        self, request: APIRequest, collection: Collection, headers: dict
    ) -> str | None:
        """`/items` when its statement is remembered (the next pages of a request shape,
        `features.statements`) and its `numberMatched` needs no statement: one statement on
        the asyncio pool, in this event loop (no worker thread). None: :meth:`items` answers."""
        query = ItemsQuery.parse(request, collection, self.api)
        provider = collection.provider
        found = provider.page_plan(**query.provider_args())
        if found is None:
            return None
        plan, feature_query = found
        try:
            async with self.pool().connection() as conn:
                page = await planned_page_async(conn, plan, feature_query.offset)
        except (PoolTimeout, psycopg.Error) as err:
            raise provider_error(err, provider.table) from None
        if page is None:  # a geometry the CRS cannot express: the thread path handles it
            return None
        known, matched = known_matched(
            provider.engine, feature_query, plan, page, bool(provider.count)
        )
        if not known:
            return None
        set_content_crs_header(headers, collection.provider_def, query.crs)
        page = Page(page.text, page.returned, page.last_id, matched)
        return self.items_body(request, collection, query, page)

    def items_body(
        self, request: APIRequest, collection: Collection, query: ItemsQuery, page: Page
    ) -> str:
        """The JSON of an items page: features as PostgreSQL rendered them, then counts,
        links and time stamp as pygeoapi writes them."""
        links = self.items_links(request, collection, query, page.returned, page.matched)
        parts = [
            '{"type":"FeatureCollection","features":',
            page.text,
            ',"numberReturned":',
            str(page.returned),
        ]
        if page.matched is not None:
            parts += [',"numberMatched":', str(page.matched)]
        parts += [
            ',"links":',
            _dumps(links),
            ',"timeStamp":',
            _dumps(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
            "}",
        ]
        return "".join(parts)

    async def item(
        self, request: Request, collection: Collection, identifier: str
    ) -> Response | None:
        """`/items/{id}` as pygeoapi's get_collection_item would answer it in JSON."""
        plan = self.item_plan(request, collection)
        if plan is None:
            return None
        provider = collection.provider
        try:
            query, values = provider.item_statement(identifier, plan.spec, collection.etag)
            try:
                async with self.pool().connection() as conn:
                    try:
                        row = await (await conn.execute(query, values)).fetchone()
                    except psycopg.errors.InternalError_ as err:
                        if not is_transform_error(err):
                            raise
                        retry = provider.untransformable(identifier, plan.spec, collection.etag)
                        row = await (await conn.execute(*retry)).fetchone()
            except (PoolTimeout, psycopg.Error) as err:
                error = provider_error(err, provider.table)
                if isinstance(error, ProviderInvalidQueryError):  # as the provider's get()
                    raise provider.not_found(identifier) from None
                raise error from None
            feature = provider.item_text(identifier, row)
        except ProviderGenericError as err:
            return self.exception(err, dict(plan.error_headers), plan.format)
        if _PLAIN_ID.fullmatch(identifier):
            links = identifier.join(plan.links)
        else:
            links = _dumps(self._item_links(plan.locale, plan.format, collection, identifier))
        # The provider's text ends with the feature's closing brace: the links go before it.
        body = f'{feature[:-1]},"links":{links}}}'.encode()
        response = Response(body, status_code=HTTPStatus.OK)
        response.raw_headers = [*plan.headers, *response.raw_headers]  # + content-length
        if collection.etag is not None:
            etag = f'"{row[4]}"'
            if etag in entity_tags(request.headers.get("if-none-match", "")):
                return Response(status_code=HTTPStatus.NOT_MODIFIED, headers={"ETag": etag})
            response.raw_headers.append((b"etag", etag.encode()))
        return response

    def item_plan(self, request: Request, collection: Collection) -> ItemPlan | None:
        """What the query string and the negotiation headers of a feature request decide
        (format, language, CRS, response headers, links), as pygeoapi decides it; made once
        per collection and distinct request (they are few: `?f=json`, a language, a CRS).
        None when pygeoapi should answer (another format, an unsupported CRS)."""
        headers = request.headers
        key = (
            request.scope["query_string"],
            headers.get("accept"),
            headers.get("accept-language"),
            headers.get("accept-encoding"),
        )
        if key in collection.item_plans:
            return collection.item_plans[key]
        api_request = self.api_request(request, collection)
        plan = None
        if api_request.format in (None, F_JSON):
            plan = self._item_plan(api_request, collection)
        if len(collection.item_plans) < 256:  # junk query strings are not all kept
            collection.item_plans[key] = plan
        return plan

    def _item_plan(self, request: APIRequest, collection: Collection) -> ItemPlan | None:
        headers = request.get_response_headers(SYSTEM_LOCALE, **self.api.api_headers)
        crs = request.params.get("crs")
        try:
            spec = collection.crs_transform_spec(crs)
        except Exception:  # noqa: BLE001 - ValueError or CRSError: pygeoapi's 400
            return None
        set_content_crs_header(headers, collection.provider_def, crs)
        error_headers = dict(headers)
        prv_locale = l10n.get_plugin_locale(collection.provider_def, request.raw_locale)
        l10n.set_response_language(headers, prv_locale, request.locale)
        links = _dumps(self._item_links(request.locale, request.format, collection, _ID_MARK))
        return ItemPlan(
            format=request.format,
            locale=request.locale,
            spec=spec,
            error_headers=error_headers,
            headers=tuple(
                (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()
            ),
            links=tuple(links.split(_ID_MARK)),
        )

    def _item_links(
        self, locale: Any, fmt: str | None, collection: Collection, identifier: str
    ) -> list[dict[str, str]]:
        """A feature's links, as pygeoapi's get_collection_item writes them."""

        def rel(link_format: str) -> str:  # pygeoapi's APIRequest.get_linkrel
            return (
                "self" if link_format == fmt or (link_format == F_JSON and not fmt) else "alternate"
            )

        collections_url = self.api.get_collections_url()
        uri = f"{collections_url}/{collection.name}/items/{identifier}"
        return [
            {
                "type": FORMAT_TYPES[F_JSON],
                "rel": "root",
                "title": l10n.translate("The landing page of this server as JSON", locale),
                "href": f"{self.api.base_url}?f={F_JSON}",
            },
            {
                "type": FORMAT_TYPES[F_HTML],
                "rel": "root",
                "title": l10n.translate("The landing page of this server as HTML", locale),
                "href": f"{self.api.base_url}?f={F_HTML}",
            },
            {
                "rel": rel(F_JSON),
                "type": "application/geo+json",
                "title": l10n.translate("This document as JSON", locale),
                "href": f"{uri}?f={F_JSON}",
            },
            {
                "rel": rel(F_JSONLD),
                "type": FORMAT_TYPES[F_JSONLD],
                "title": l10n.translate("This document as RDF (JSON-LD)", locale),
                "href": f"{uri}?f={F_JSONLD}",
            },
            {
                "rel": rel(F_HTML),
                "type": FORMAT_TYPES[F_HTML],
                "title": l10n.translate("This document as HTML", locale),
                "href": f"{uri}?f={F_HTML}",
            },
            {
                "rel": "collection",
                "type": FORMAT_TYPES[F_JSON],
                "title": l10n.translate(collection.resource["title"], locale),
                "href": f"{collections_url}/{collection.name}",
            },
        ]

    def items_links(
        self,
        request: APIRequest,
        collection: Collection,
        query: ItemsQuery,
        returned: int,
        matched: int | None,
    ) -> list[dict[str, str]]:
        """self/alternate, prev/next and collection links, as pygeoapi writes them."""
        serialized = "".join(
            f"&{urllib.parse.quote(key, safe='')}={urllib.parse.quote(str(value), safe=',')}"
            for key, value in request.params.items()
            if key not in ("f", "offset")
        )
        uri = f"{self.api.get_collections_url()}/{collection.name}/items"
        locale = request.locale
        links = [
            {
                "type": "application/geo+json",
                "rel": request.get_linkrel(F_JSON),
                "title": l10n.translate("This document as GeoJSON", locale),
                "href": f"{uri}?f={F_JSON}{serialized}",
            },
            {
                "rel": request.get_linkrel(F_JSONLD),
                "type": FORMAT_TYPES[F_JSONLD],
                "title": l10n.translate("This document as RDF (JSON-LD)", locale),
                "href": f"{uri}?f={F_JSONLD}{serialized}",
            },
            {
                "type": FORMAT_TYPES[F_HTML],
                "rel": request.get_linkrel(F_HTML),
                "title": l10n.translate("This document as HTML", locale),
                "href": f"{uri}?f={F_HTML}{serialized}",
            },
        ]
        links += [
            {
                "type": value.mimetype,
                "rel": "alternate",
                "title": f"This document as {key}",
                "href": f"{uri}?f={value.name}{serialized}",
            }
            for key, value in collection.formatters.items()
        ]
        fmt = f"f={request.format}&" if request.format is not None else ""
        limit, offset = query.limit, query.offset
        if offset > 0:
            links.append(
                {
                    "type": "application/geo+json",
                    "rel": "prev",
                    "title": l10n.translate("Items (prev)", locale),
                    "href": f"{uri}?{fmt}offset={max(0, offset - limit)}{serialized}",
                }
            )
        if (matched if matched is not None else -1) > limit + offset or returned == limit:
            links.append(
                {
                    "type": "application/geo+json",
                    "rel": "next",
                    "title": l10n.translate("Items (next)", locale),
                    "href": f"{uri}?{fmt}offset={offset + limit}{serialized}",
                }
            )
        links.append(
            {
                "type": FORMAT_TYPES[F_JSON],
                "title": l10n.translate(collection.resource["title"], locale),
                "rel": "collection",
                "href": uri.rsplit("/", 1)[0],
            }
        )
        return links


class ItemsShortcut:
    """Middleware sending `GET .../items[/{id}]` straight to the features app (the fast path
    in front of pygeoapi), which the router's catch-all mount would reach anyway after trying
    every other route: a tenth of the CPU of a request by id."""

    def __init__(self, app: ASGIApp, features: ASGIApp) -> None:
        self.app = app
        self.features = features

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and _PATH.fullmatch(scope["path"]):
            await self.features(scope, receive, send)
        else:
            await self.app(scope, receive, send)


@dataclass(frozen=True)
class ItemsQuery:
    """The parameters of an items request, validated as pygeoapi validates them."""

    offset: int
    limit: int
    resulttype: str
    bbox: list[float]
    datetime: str | None
    q: str | None
    crs: str | None
    crs_transform_spec: Any
    properties: list[tuple[str, str]]
    sortby: list[dict[str, str]]
    select_properties: list[str]
    skip_geometry: bool
    filterq: Any

    @classmethod
    def parse(cls, request: APIRequest, collection: Collection, api: API) -> ItemsQuery:
        """Validated parameters; NotHandled for anything pygeoapi would refuse or treat
        otherwise (it then answers, with its own message)."""
        params = request.params
        provider, provider_def = collection.provider, collection.provider_def
        try:
            offset = int(params["offset"]) if "offset" in params else 0
            limit = evaluate_limit(
                params.get("limit"),
                api.config["server"].get("limits", {}),
                collection.resource.get("limits", {}),
            )
            bbox = validate_bbox(params["bbox"]) if "bbox" in params else []
            datetime_ = validate_datetime(collection.resource["extents"], params.get("datetime"))
            crs = params.get("crs")
            spec = collection.crs_transform_spec(crs)
            bbox_crs = params.get("bbox-crs")
            if bbox_crs is not None and bbox_crs not in get_supported_crs_list(provider_def):
                raise NotHandled
            if bbox:
                bbox = transform_bbox(
                    bbox,
                    bbox_crs or DEFAULT_STORAGE_CRS,
                    provider_def.get("storage_crs", DEFAULT_STORAGE_CRS),
                )
            filter_lang = params.get("filter-lang")
            filterq = None
            if "filter" in params:
                filterq = parsed_filter(
                    params["filter"],
                    params.get("filter-crs", DEFAULT_CRS),
                    provider_def.get("storage_crs"),
                    provider_def.get("geom_field"),
                )
            skip_geometry = str2bool(params["skipGeometry"]) if "skipGeometry" in params else False
        except NotHandled:
            raise
        except Exception as err:  # noqa: BLE001 - every validator has its own errors
            raise NotHandled from err
        if offset < 0 or filter_lang not in _FILTER_LANGS or (bbox_crs is not None and not bbox):
            raise NotHandled
        fields = provider.fields
        sortby = (
            [
                {
                    "property": key[1:] if key[:1] in ("+", "-") else key,
                    "order": "-" if key[:1] == "-" else "+",
                }
                for key in params["sortby"].split(",")
            ]
            if "sortby" in params
            else []
        )
        select = params["properties"].split(",") if "properties" in params else []
        if any(s["property"] not in fields for s in sortby) or (
            set(select) - set(provider.properties) - set(fields)
        ):
            raise NotHandled
        properties = [
            (key, value) for key, value in params.items() if key not in _RESERVED and key in fields
        ]
        return cls(
            offset,
            limit,
            params.get("resulttype") or "results",
            bbox,
            datetime_,
            params.get("q") or None,
            crs,
            spec,
            properties,
            sortby,
            select,
            skip_geometry,
            filterq,
        )

    def provider_args(self) -> dict[str, Any]:
        """Keyword arguments of the provider's query."""
        return {
            "offset": self.offset,
            "limit": self.limit,
            "resulttype": self.resulttype,
            "bbox": self.bbox,
            "datetime_": self.datetime,
            "properties": self.properties,
            "sortby": self.sortby,
            "select_properties": self.select_properties,
            "skip_geometry": self.skip_geometry,
            "q": self.q,
            "filterq": self.filterq,
            "crs_transform_spec": self.crs_transform_spec,
        }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
