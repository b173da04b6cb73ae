"""Format, language and CRS of a fast-path request (``features_fast``), negotiated as
pygeoapi negotiates them, with pygeoapi's private ``APIRequest._get_format`` / ``_format``
(re-check on every pygeoapi upgrade); for a feature request, worked out once per collection
and distinct request (:class:`~geoportal.pygeoapi_.items_collection.ItemPlan`)."""

from __future__ import annotations

from pygeoapi import l10n
from pygeoapi.api import API, SYSTEM_LOCALE, APIRequest
from pygeoapi.crs import set_content_crs_header
from pygeoapi.formats import F_JSON
from starlette.requests import Request

from geoportal.pygeoapi_.items_collection import Collection, ItemPlan
from geoportal.pygeoapi_.items_responses import item_links_template


def api_request(api: API, request: Request, collection: Collection) -> APIRequest:
    """pygeoapi's view of the request: parameters, language, format (with the
    collection's own formats, as pygeoapi negotiates them per dataset)."""
    request_ = APIRequest(request, api.locales)
    formatters = collection.formatters
    if formatters:
        request_._format = request_._get_format(
            request_.get_request_headers(request.headers),
            {f.f: f.mimetype for f in formatters.values()},
        )
    return request_


def item_plan(api: API, request: Request, collection: Collection) -> ItemPlan | None:
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
    request_ = api_request(api, request, collection)
    plan = None
    if request_.format in (None, F_JSON):
        plan = new_item_plan(api, request_, collection)
    if len(collection.item_plans) < 256:  # junk query strings are not all kept
        collection.item_plans[key] = plan
    return plan


def new_item_plan(api: API, request: APIRequest, collection: Collection) -> ItemPlan | None:
    """The :class:`ItemPlan` of a JSON feature request; None for an unsupported CRS."""
    headers = request.get_response_headers(SYSTEM_LOCALE, **api.api_headers)
    crs = request.params.get("crs")
    try:
        spec = collection.crs_transform_spec(crs)
    except Exception:  # noqa: BLE001 - ValueError or CRSError: pygeoapi's 400
        return None
    set_content_crs_header(headers, collection.provider_def, crs)
    error_headers = dict(headers)
    prv_locale = l10n.get_plugin_locale(collection.provider_def, request.raw_locale)
    l10n.set_response_language(headers, prv_locale, request.locale)
    return ItemPlan(
        format=request.format,
        locale=request.locale,
        spec=spec,
        error_headers=error_headers,
        headers=tuple(
            (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()
        ),
        links=item_links_template(api, request.locale, request.format, collection),
    )
