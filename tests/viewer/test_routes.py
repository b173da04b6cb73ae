"""The viewer's routes over real HTTP: the page, its configuration, the npm libraries, the
landing page's link to it, and the folium previews (routes and CLI)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from geoportal.cli.main import app
from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


def test_map_page_loads_only_local_scripts(client: httpx.Client) -> None:
    response = client.get("/map")
    assert response.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sources and all(s.startswith(("/map/", "/", "#")) for s in sources), sources
    for source in sources:
        if source.startswith("/map/"):
            assert client.get(source).status_code == 200, source


def test_vendor_files_are_served_from_npm_packages(client: httpx.Client) -> None:
    response = client.get("/map/vendor/maplibre-gl/dist/maplibre-gl.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert client.get("/map/vendor/../../pyproject.toml").status_code == 404
    assert client.get("/map/vendor/nothing/here.js").status_code == 404


def test_config_lists_layers_of_the_server(client: httpx.Client, live_server: LiveServer) -> None:
    config = client.get("/map/config.json").json()
    assert config["basemap"]["tilejson"] == f"{live_server.url}/tiles/WebMercatorQuad/tilejson.json"
    layers = {layer["id"]: layer for layer in config["layers"]}
    assert layers["irrigation_sensors"]["time"]["begin"].endswith("Z")
    tile = layers["hazard_zones"]["tiles"].format(z=6, y=23, x=44)
    assert client.get(tile).status_code in (200, 204)
    composite = layers["irrigation_canals"]["tiles"].format(z=9, y=188, x=360)
    answer = client.get(composite)
    assert answer.status_code in (200, 204), answer.text
    assert answer.headers["cache-control"] == "public, max-age=60" and answer.headers["etag"]
    assert client.get(layers["settlements"]["record"]).status_code == 200


def test_landing_page_links_to_the_viewer(client: httpx.Client, live_server: LiveServer) -> None:
    links = client.get("/", params={"f": "json"}).json()["links"]
    viewer = [link for link in links if link["href"] == f"{live_server.url}/map"]
    assert viewer == [
        {
            "rel": "alternate",
            "type": "text/html",
            "title": "Map viewer",
            "href": f"{live_server.url}/map",
        }
    ]
    russian = client.get("/", params={"f": "json", "lang": "ru"}).json()["links"]
    assert any(link["title"] == "Картографический просмотрщик" for link in russian)
    html = client.get("/", headers={"Accept": "text/html"}).text
    assert f'href="{live_server.url}/map"' in html


def test_layer_preview_uses_local_assets_only(client: httpx.Client) -> None:
    response = client.get("/collections/sports_facilities/preview", params={"limit": 50})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', response.text)
    assert len(assets) == 10 and all(a.startswith("/map/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize(
    "path, status",
    [
        ("/collections/nope/preview", 404),
        ("/collections/settlements/items/0/preview", 404),
        ("/collections/irrigation_readings/preview", 400),
        ("/collections/settlements/preview?limit=0", 400),
        ("/collections/settlements/preview?lang=fr", 400),
    ],
)
def test_preview_errors_are_problems(client: httpx.Client, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_preview_routes_leave_the_ogc_paths_alone(client: httpx.Client) -> None:
    assert client.get("/collections/settlements/items/1", params={"f": "json"}).json()["id"] == 1
    assert client.get("/collections/settlements", params={"f": "json"}).status_code == 200


def test_cli_preview_writes_a_self_contained_file(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEOPORTAL_DATA_DIR", str(live_server.settings.data_dir))
    out = tmp_path / "parcel.html"
    result = CliRunner().invoke(app, ["preview", "cadastre_parcels", str(out), "--id", "1"])
    assert result.exit_code == 0, result.output
    html = out.read_text("utf-8")
    assert not re.search(r"<(?:script|link)[^>]+(?:src|href)=", html)
    assert "L.map(" in html or "L.map (" in html
    missing = CliRunner().invoke(app, ["preview", "cadastre_parcels", str(out), "--id", "0"])
    assert missing.exit_code == 1 and "no feature" in missing.output


@pytest.mark.parametrize(
    "path", ["/", "/collections/settlements/items", "/collections/settlements/items/1", "/openapi"]
)
def test_pygeoapi_pages_find_their_libraries_here(
    client: httpx.Client, live_server: LiveServer, path: str
) -> None:
    html = client.get(path, params={"f": "html"}, headers={"Accept": "text/html"}).text
    pattern = r'(?:src|href)="((?:' + re.escape(live_server.url) + r')?/map/vendor/[^"]+)"'
    assets = set(re.findall(pattern, html))
    assert assets, path
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
