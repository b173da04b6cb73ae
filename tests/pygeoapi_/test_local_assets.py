"""pygeoapi's HTML pages load nothing from CDNs: their libraries come from our server."""

from __future__ import annotations

import re
from pathlib import Path

import pygeoapi
import pytest

from geoportal.pygeoapi_.local_assets import localise
from tests.support.server import LiveServer

TEMPLATES = Path(pygeoapi.__file__).parent / "templates"
# what a browser loads: scripts, stylesheets and icons (not rel="license" or "alternate" links)
EXTERNAL = re.compile(
    r"<script[^>]*src=\"(https?://[^\"]+)\"|<link(?=[^>]*rel=\"(?:stylesheet|icon)\")"
    r"[^>]*href=\"(https?://[^\"]+)\""
)


def external(html: str) -> list[str]:
    return [script or link for script, link in EXTERNAL.findall(html)]


def test_every_cdn_url_of_pygeoapi_templates_is_rewritten() -> None:
    pages = [path.read_text("utf-8") for path in TEMPLATES.rglob("*.html")]
    assert sum("unpkg.com" in page for page in pages) > 5  # the templates we rewrite
    for page in pages:
        assert external(localise(page)) == []


def test_urls_map_to_npm_package_files() -> None:
    html = (
        '<link href="https://unpkg.com/leaflet@1.3.1/dist/leaflet.css">'
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.3.1/leaflet.js">'
        '<script src="https://cdn.jsdelivr.net/npm/redoc@latest/bundles/redoc.standalone.js">'
        '<link href="https://unpkg.com/swagger-ui-dist/swagger-ui.css">'
        '<link href="https://unpkg.com/@scope/pkg@2/x.css">'
    )
    assert localise(html, "/geo") == (
        '<link href="/geo/map/vendor/leaflet/dist/leaflet.css">'
        '<script src="/geo/map/vendor/leaflet/dist/leaflet.js">'
        '<script src="/geo/map/vendor/redoc/bundles/redoc.standalone.js">'
        '<link href="/geo/map/vendor/swagger-ui-dist/swagger-ui.css">'
        '<link href="/geo/map/vendor/@scope/pkg/x.css">'
    )


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/collections",
        "/collections/settlements",
        "/collections/settlements/items",
        "/collections/settlements/items/1",
        "/openapi",
        "/conformance",
        "/collections/catalogue/items",
    ],
)
def test_served_html_pages_reference_no_cdn(live_server: LiveServer, path: str) -> None:
    with live_server.client() as client:
        response = client.get(path, params={"f": "html"}, headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    elsewhere = [
        url for url in external(response.text) if not url.startswith(f"{live_server.url}/")
    ]
    assert elsewhere == []
    assert int(response.headers["content-length"]) == len(response.content)


def test_json_is_left_alone(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.get("/collections/settlements/items", params={"limit": 1})
    assert response.status_code == 200 and response.json()["numberReturned"] == 1
