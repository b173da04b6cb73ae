"""The answers of the items fast path (``features_fast``) as pygeoapi writes them: the JSON
of a page and of a feature (the features' text as PostgreSQL rendered it, then counts,
links and time stamp), their links, a feature's headers and ``ETag`` (a 304 for a matching
``If-None-Match``), and a provider error in pygeoapi's exception format."""

from __future__ import annotations

import json
import re
import urllib.parse
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from pygeoapi import l10n
from pygeoapi.api import API, APIRequest
from pygeoapi.formats import F_HTML, F_JSON, F_JSONLD, FORMAT_TYPES
from pygeoapi.provider.base import ProviderGenericError
from starlette.datastructures import Headers
from starlette.responses import Response

from features.pages import Page
from geoportal.pygeoapi_.items_collection import Collection, ItemPlan
from geoportal.pygeoapi_.items_query import ItemsQuery
from geoportal.server.etags import entity_tags

_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~-]{1,64}")  # the same in a URL and in JSON
_ID_MARK = "\ue000id\ue000"  # private-use characters: kept as they are by dumps, never in a link


def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII kept (as pygeoapi writes it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def exception_response(
    api: API, err: ProviderGenericError, headers: dict[str, str], fmt: str | None
) -> Response:
    """A provider error in pygeoapi's exception format."""
    headers, status, content = api.get_exception(
        err.http_status_code, headers, fmt, err.ogc_exception_code, err.message
    )
    return Response(content, status_code=status, headers=headers)


def items_body(
    api: API, request: APIRequest, collection: Collection, query: ItemsQuery, page: Page
) -> str:
    """The JSON of an items page: features as PostgreSQL rendered them, then counts,
    links and time stamp as pygeoapi writes them."""
    links = items_links(api, request, collection, query, page.returned, page.matched)
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
        dumps(links),
        ',"timeStamp":',
        dumps(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
        "}",
    ]
    return "".join(parts)


def items_links(
    api: API,
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
    uri = f"{api.get_collections_url()}/{collection.name}/items"
    links = items_format_links(request, collection, uri, serialized)
    links += items_paging_links(request, query, uri, serialized, returned, matched)
    links.append(
        {
            "type": FORMAT_TYPES[F_JSON],
            "title": l10n.translate(collection.resource["title"], request.locale),
            "rel": "collection",
            "href": uri.rsplit("/", 1)[0],
        }
    )
    return links


def items_format_links(
    request: APIRequest, collection: Collection, uri: str, serialized: str
) -> list[dict[str, str]]:
    """The page in each format: GeoJSON, JSON-LD, HTML and the collection's formatters."""
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
    return links + [
        {
            "type": value.mimetype,
            "rel": "alternate",
            "title": f"This document as {key}",
            "href": f"{uri}?f={value.name}{serialized}",
        }
        for key, value in collection.formatters.items()
    ]


def items_paging_links(
    request: APIRequest,
    query: ItemsQuery,
    uri: str,
    serialized: str,
    returned: int,
    matched: int | None,
) -> list[dict[str, str]]:
    """The prev and next pages' links, where there are such pages (as pygeoapi decides)."""
    fmt = f"f={request.format}&" if request.format is not None else ""
    limit, offset = query.limit, query.offset
    links = []
    if offset > 0:
        links.append(
            {
                "type": "application/geo+json",
                "rel": "prev",
                "title": l10n.translate("Items (prev)", request.locale),
                "href": f"{uri}?{fmt}offset={max(0, offset - limit)}{serialized}",
            }
        )
    if (matched if matched is not None else -1) > limit + offset or returned == limit:
        links.append(
            {
                "type": "application/geo+json",
                "rel": "next",
                "title": l10n.translate("Items (next)", request.locale),
                "href": f"{uri}?{fmt}offset={offset + limit}{serialized}",
            }
        )
    return links


def item_links(
    api: API, locale: Any, fmt: str | None, collection: Collection, identifier: str
) -> list[dict[str, str]]:
    """A feature's links, as pygeoapi's get_collection_item writes them."""

    def rel(link_format: str) -> str:  # pygeoapi's APIRequest.get_linkrel
        return "self" if link_format == fmt or (link_format == F_JSON and not fmt) else "alternate"

    collections_url = api.get_collections_url()
    uri = f"{collections_url}/{collection.name}/items/{identifier}"
    return [
        *root_links(api, locale),
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


def root_links(api: API, locale: Any) -> list[dict[str, str]]:
    """The landing page in JSON and HTML, the first links of a feature."""
    return [
        {
            "type": FORMAT_TYPES[F_JSON],
            "rel": "root",
            "title": l10n.translate("The landing page of this server as JSON", locale),
            "href": f"{api.base_url}?f={F_JSON}",
        },
        {
            "type": FORMAT_TYPES[F_HTML],
            "rel": "root",
            "title": l10n.translate("The landing page of this server as HTML", locale),
            "href": f"{api.base_url}?f={F_HTML}",
        },
    ]


def item_links_template(
    api: API, locale: Any, fmt: str | None, collection: Collection
) -> tuple[str, ...]:
    """A feature's links as JSON text, split where its id goes (see :func:`item_response`)."""
    return tuple(dumps(item_links(api, locale, fmt, collection, _ID_MARK)).split(_ID_MARK))


def item_response(
    api: API,
    headers: Headers,
    collection: Collection,
    plan: ItemPlan,
    identifier: str,
    feature: str,
    row: tuple,
) -> Response:
    """A feature's 200 (or 304 for a matching ``If-None-Match``): its text with its links,
    the plan's headers and, for an editable collection, its ``ETag`` (selected in its
    statement's ``row``)."""
    if _PLAIN_ID.fullmatch(identifier):
        links = identifier.join(plan.links)
    else:
        links = dumps(item_links(api, plan.locale, plan.format, collection, identifier))
    # The provider's text ends with the feature's closing brace: the links go before it.
    body = f'{feature[:-1]},"links":{links}}}'.encode()
    response = Response(body, status_code=HTTPStatus.OK)
    response.raw_headers = [*plan.headers, *response.raw_headers]  # + content-length
    if collection.etag is not None:
        etag = f'"{row[4]}"'
        if etag in entity_tags(headers.get("if-none-match", "")):
            return Response(status_code=HTTPStatus.NOT_MODIFIED, headers={"ETag": etag})
        response.raw_headers.append((b"etag", etag.encode()))
    return response
