"""The viewer's configuration and legends, derived from the declarations (no database)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from geoportal.viewer.config import Capabilities, viewer_config
from geoportal.viewer.legend import layer_legend, match_classes
from geoportal.viewer.routes import server_capabilities, viewer_routes
from layers.catalogue import Catalogue
from tests.conftest import make_settings
from tests.support.server import free_port, serve_asgi

BASE = "http://example.test/geo"


@pytest.fixture(scope="module")
def config(catalogue: Catalogue) -> dict:
    return viewer_config(
        catalogue,
        BASE,
        "ky",
        {"irrigation_sensors": {"begin": "2016-03-27T00:00:00Z", "end": "2025-09-09T00:00:00Z"}},
        Capabilities(),
    )


def test_every_drawable_layer_is_in_the_panel_with_three_titles(
    config: dict, catalogue: Catalogue
) -> None:
    expected = [lyr.id for lyr in catalogue if lyr.has_geometry]
    assert [layer["id"] for layer in config["layers"]] == expected
    for layer in config["layers"]:
        assert set(layer["title"]) == {"ky", "ru", "en"} and all(layer["title"].values())
        assert layer["style"], layer["id"]
    assert [t["id"] for t in config["themes"]] == list(
        dict.fromkeys(layer["theme"] for layer in config["layers"])
    )
    assert config["themes"][0]["title"]["ky"] == "Базалык катмарлар"


def test_styles_come_from_the_declarations(config: dict, catalogue: Catalogue) -> None:
    for layer in config["layers"]:
        declared = catalogue.get(layer["id"]).style
        assert [
            {k: v for k, v in s.items() if k not in ("id", "source", "source-layer", "minzoom")}
            for s in layer["style"]
        ] == [{k: v for k, v in s.items() if k != "minzoom"} for s in declared]
        assert all(s["source-layer"] == layer["id"] for s in layer["style"])
        if layer["source"] == "basemap":
            assert layer["tiles"] is None
        else:  # one composite source per theme: `collections=` names this layer
            assert layer["source"] == f"theme-{layer['theme']}"
            template, _, named = layer["tiles"].partition("?collections=")
            assert template == f"{BASE}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
            assert layer["id"] in named.split(",")


def test_composite_sources_cut_the_tile_requests_per_view(config: dict) -> None:
    sources = {layer["source"] for layer in config["layers"]}
    themes = {layer["theme"] for layer in config["layers"]}
    assert sources <= {"basemap"} | {f"theme-{theme}" for theme in themes}, sources
    shared = [layer for layer in config["layers"] if layer["source"] == "theme-irrigation"]
    assert {layer["id"] for layer in shared} >= {"irrigation_canals", "water_user_associations"}
    assert len({layer["tiles"] for layer in shared}) == 1


def test_buildings_extrude_by_height_and_sensors_have_readings(config: dict) -> None:
    layers = {layer["id"]: layer for layer in config["layers"]}
    extrusion = layers["buildings"]["extrusion"]
    assert extrusion["paint"]["fill-extrusion-height"] == ["get", "height_m"]
    assert [lid for lid, layer in layers.items() if layer["extrusion"]] == ["buildings"]
    related = layers["irrigation_sensors"]["related"]
    assert related[0]["collection"] == "irrigation_readings"
    assert related[0]["field"] == "sensor_id"
    assert {v["name"] for v in related[0]["values"]} == {"flow_m3s", "level_cm"}
    assert layers["irrigation_sensors"]["time"]["field"] == "installed"


def test_only_public_fields_reach_the_viewer(config: dict, catalogue: Catalogue) -> None:
    for layer in config["layers"]:
        public = [f.name for f in catalogue.get(layer["id"]).public_fields]
        assert [f["name"] for f in layer["fields"]] == public


def test_downloads_are_off_until_the_server_has_them(config: dict, catalogue: Catalogue) -> None:
    assert config["downloads"]["pmtiles"] is None
    assert config["downloads"]["geopackage"] is None
    assert all(layer["downloads"]["csv"] is None for layer in config["layers"])
    routes = [
        Route("/downloads/pmtiles", lambda r: None),
        Mount("/", routes=[Route("/collections", lambda r: None)]),
    ]
    capabilities = server_capabilities(routes, {"resources": {}})
    on = viewer_config(catalogue, BASE, "en", {}, capabilities)
    assert on["downloads"]["pmtiles"] == f"{BASE}/downloads/pmtiles"
    assert on["downloads"]["geopackage"] is None


def test_csv_is_offered_where_pygeoapi_has_the_formatter() -> None:
    resources = {
        "roads": {"type": "collection", "providers": [{"type": "feature"}]},
        "catalogue": {"type": "collection", "providers": [{"type": "record"}]},
        "dem": {"type": "collection", "providers": [{"type": "coverage"}]},
    }
    capabilities = server_capabilities(
        [], {"resources": resources, "server": {"limits": {"max_items": 500}}}
    )
    assert capabilities.csv_collections == {"roads", "catalogue"}
    assert capabilities.max_items == 500


@pytest.mark.parametrize(
    "layer_id, field, first",
    [
        (
            "settlements",
            "capital",
            {"symbol": "circle", "color": "#c0392b", "value": "national", "outline": None},
        ),
        (
            "buildings",
            "use",
            {"symbol": "fill", "color": "#e5c07b", "value": "residential", "outline": None},
        ),
        (
            "lakes",
            None,
            {"symbol": "fill", "color": "#a9cfee", "value": None, "outline": "#6fa8dc"},
        ),
        (
            "water_user_associations",
            None,
            {"symbol": "fill", "color": "#f4c26b", "value": None, "outline": "#c77c02"},
        ),
    ],
)
def test_legend_from_style(
    catalogue: Catalogue, layer_id: str, field: str | None, first: dict
) -> None:
    legend = layer_legend(catalogue.get(layer_id))
    assert legend["field"] == field
    assert legend["entries"][0] == first


def test_roads_legend_names_the_classes_the_map_draws(catalogue: Catalogue) -> None:
    """Roads are drawn by two style layers (main roads above local ones), each with a
    fallback colour: the legend lists every declared class with the colour drawn for it, and
    no "other"."""
    roads = catalogue.get("roads")
    legend = layer_legend(roads)
    values = [entry["value"] for entry in legend["entries"]]
    assert values == roads.field("road_class").enum
    colours = {entry["value"]: entry["color"] for entry in legend["entries"]}
    assert colours["international"] == "#c0392b"
    assert colours["national"] == "#e67e22"
    assert colours["local"] == "#8d6e63"
    assert colours["urban"] == "#7f8c8d"


def test_legend_entry_for_features_without_a_class(catalogue: Catalogue) -> None:
    """Settlements are coloured by capital status, which most towns lack: their colour gets
    an entry without a value (shown with the layer's title), not "other"."""
    entries = layer_legend(catalogue.get("settlements"))["entries"]
    assert [e["value"] for e in entries] == ["national", "oblast", None]


def test_match_classes_reads_lists_and_fallbacks() -> None:
    assert match_classes(["match", ["get", "road_class"], ["local", "urban"], "#1", "#2"]) == (
        "road_class",
        [("local, urban", "#1"), ("*", "#2")],
    )
    assert match_classes(["case", ["==", 1, 1], "#1", "#2"]) is None


def test_external_basemap_only_when_configured(config: dict, catalogue: Catalogue) -> None:
    assert config["external_basemap"] is None
    on = viewer_config(
        catalogue,
        BASE,
        "en",
        {},
        Capabilities(
            external_basemap="https://tiles.example.org/{z}/{x}/{y}.png",
            external_attribution="© Example",
        ),
    )
    assert on["external_basemap"] == {
        "tiles": "https://tiles.example.org/{z}/{x}/{y}.png",
        "attribution": "© Example",
    }


def test_map_without_the_npm_packages_says_how_to_install_them(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    settings = make_settings(tmp_path, viewer_vendor_dir=tmp_path / "node_modules")
    app = Starlette(routes=viewer_routes(settings, catalogue, conninfo=""))
    port = free_port()
    with (
        serve_asgi(app, "127.0.0.1", port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        page = client.get("/map")
        assert page.status_code == 503 and "make setup" in page.text
        preview = client.get("/collections/settlements/preview")
        assert preview.status_code == 503
        assert "make setup" in preview.json()["detail"]
