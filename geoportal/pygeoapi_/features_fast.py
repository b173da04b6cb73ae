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

This module is the ASGI app and the order of the work; its parts: the collections it serves
(``items_collection``), request parsing (``items_query``), format, language and CRS
negotiation (``items_negotiation``), and the answers' JSON, links, headers and ETag
(``items_responses``).
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pygeoapi import l10n
from pygeoapi.api import API, SYSTEM_LOCALE, APIRequest
from pygeoapi.crs import set_content_crs_header
from pygeoapi.formats import F_JSON
from pygeoapi.provider.base import ProviderGenericError, ProviderInvalidQueryError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from features.database import is_transform_error
from features.pages import Page
from features.paging import known_matched
from features.statements import planned_page_async
from geoportal.db.pools import PoolGetter
from geoportal.providers.features import provider_error
from geoportal.pygeoapi_.items_collection import Collection, ItemPlan, load_collection
from geoportal.pygeoapi_.items_negotiation import api_request, item_plan
from geoportal.pygeoapi_.items_query import ItemsQuery, NotHandled
from geoportal.pygeoapi_.items_responses import exception_response, item_response, items_body

log = logging.getLogger(__name__)

_PATH = re.compile(r"/collections/(?P<collection>[^/]+)/items(?:/(?P<item>[^/]+))?")


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
        try:
            found = load_collection(self.api, name, self.etags.get(name))
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
        request_ = api_request(self.api, request, collection)
        if request_.format not in (None, F_JSON):
            return None
        headers = request_.get_response_headers(SYSTEM_LOCALE, **self.api.api_headers)
        try:  # a remembered statement: here; else a page may take several: in a thread
            body = await self.planned_items(request_, collection, headers)
            if body is None:
                body = await run_in_threadpool(self.items, request_, collection, headers)
        except NotHandled:
            return None
        except ProviderGenericError as err:
            return exception_response(self.api, err, headers, request_.format)
        prv_locale = l10n.get_plugin_locale(collection.provider_def, request_.raw_locale)
        l10n.set_response_language(headers, prv_locale, request_.locale)
        return Response(body, status_code=HTTPStatus.OK, headers=headers)

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
        return items_body(self.api, request, collection, query, page)

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
        return items_body(self.api, request, collection, query, page)

    async def item(
        self, request: Request, collection: Collection, identifier: str
    ) -> Response | None:
        """`/items/{id}` as pygeoapi's get_collection_item would answer it in JSON."""
        plan = item_plan(self.api, request, collection)
        if plan is None:
            return None
        try:
            row = await self.item_row(collection, plan, identifier)
            feature = collection.provider.item_text(identifier, row)
        except ProviderGenericError as err:
            return exception_response(self.api, err, dict(plan.error_headers), plan.format)
        return item_response(self.api, request.headers, collection, plan, identifier, feature, row)

    async def item_row(self, collection: Collection, plan: ItemPlan, identifier: str) -> Any:
        """The row of a feature's one statement (its geometry null when the CRS cannot
        express it), on the asyncio pool.

        Raises:
            ProviderGenericError: as the provider's get() raises it (an id that cannot
                exist is not found).
        """
        provider = collection.provider
        query, values = provider.item_statement(identifier, plan.spec, collection.etag)
        try:
            async with self.pool().connection() as conn:
                try:
                    return await (await conn.execute(query, values)).fetchone()
                except psycopg.errors.InternalError_ as err:
                    if not is_transform_error(err):
                        raise
                    retry = provider.untransformable(identifier, plan.spec, collection.etag)
                    return await (await conn.execute(*retry)).fetchone()
        except (PoolTimeout, psycopg.Error) as err:
            error = provider_error(err, provider.table)
            if isinstance(error, ProviderInvalidQueryError):  # as the provider's get()
                raise provider.not_found(identifier) from None
            raise error from None


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
