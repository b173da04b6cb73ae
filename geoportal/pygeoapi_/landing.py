"""The map viewer on pygeoapi's landing page: a `rel="alternate"` link in the JSON document
and a visible link at the top of the HTML page (docs/viewer.md: from `/`, the map is one
click away).

pygeoapi builds the landing page's links inside `pygeoapi.api.landing_page` with no hook
for extra links, and its Starlette app looks that function up on every request, so it is
wrapped here once; the wrapper adds the link to what pygeoapi returns and changes nothing
else.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import pygeoapi.api as core_api

VIEWER_TITLES = {"en": "Map viewer", "ru": "Картографический просмотрщик", "ky": "Карта көрүүчү"}
HTML_ANCHOR = '<section id="identification">'


def viewer_link(base_url: str, language: str) -> dict[str, str]:
    """The landing page's link to the viewer."""
    return {
        "rel": "alternate",
        "type": "text/html",
        "title": VIEWER_TITLES.get(language, VIEWER_TITLES["en"]),
        "href": f"{base_url}/map",
    }


def _add_link(content: Any, base_url: str, language: str, is_html: bool) -> Any:
    link = viewer_link(base_url, language)
    if is_html and isinstance(content, str) and HTML_ANCHOR in content:
        banner = (
            f'<p class="lead" id="map-viewer-link"><a class="btn btn-primary" '
            f'href="{link["href"]}">{link["title"]} &rarr;</a></p>'
        )
        return content.replace(HTML_ANCHOR, HTML_ANCHOR + banner, 1)
    if isinstance(content, (str, bytes)):
        try:
            document = json.loads(content)
        except ValueError:
            return content
        if isinstance(document, dict) and isinstance(document.get("links"), list):
            document["links"].append(link)
            return json.dumps(document, ensure_ascii=False)
    return content


def apply() -> None:
    """Wrap pygeoapi's landing page handler (idempotent)."""
    original: Callable[..., Any] = core_api.landing_page
    if getattr(original, "_geoportal_viewer_link", False):
        return

    @functools.wraps(original)
    def landing_page(api: Any, request: Any) -> Any:
        headers, status, content = original(api, request)
        if int(status) == 200:
            is_html = request.format == "html"
            content = _add_link(content, api.base_url, request.locale.language or "en", is_html)
        return headers, status, content

    landing_page._geoportal_viewer_link = True  # type: ignore[attr-defined]
    core_api.landing_page = landing_page
