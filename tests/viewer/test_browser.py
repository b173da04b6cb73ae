"""The map viewer end to end: headless Chromium against the live server with the demo data,
every request to anything but that server blocked. A screenshot of each state is kept in
var/test-artifacts/. No Chromium is a failure with the fix, never a skip."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from exports.formats import FORMATS
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PageRecord,
    missing_browser_message,
    open_page,
    pixel_stats,
)
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow
IDLE = """() => { const v = window.geoportalViewer; const m = v && v.map;
  return Boolean(m && m.loaded() && m.areTilesLoaded() && !m.isMoving()); }"""
ARM_IDLE_EVENT = """() => { const m = window.geoportalViewer.map; window.__geoportalIdle = false;
  m.once('idle', () => { window.__geoportalIdle = true; }); m.triggerRepaint(); }"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    problem = missing_browser_message()
    if problem:
        pytest.fail(f"the viewer's end-to-end tests need headless Chromium: {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


@contextmanager
def open_map(
    browser: Any, live_server: LiveServer, fragment: str = "", **options: Any
) -> Iterator[PageRecord]:
    """The viewer at `/map<fragment>`, loaded and idle."""
    with open_page(browser, live_server.url, **options) as record:
        record.page.goto(f"{live_server.url}/map{fragment}")
        record.page.wait_for_selector("body[data-map-ready=true]", timeout=30_000)
        wait_idle(record)
        yield record


@pytest.fixture
def viewer(browser: Any, live_server: LiveServer) -> Iterator[PageRecord]:
    with open_map(browser, live_server) as record:
        yield record


def wait_idle(record: PageRecord) -> None:
    """Wait (30 s at most) until the map has settled: loaded, not moving, every tile in, and
    then one more rendered frame ending in MapLibre's `idle` event, the frame in which it
    marks sources unused and finishes fades (a fixed sleep guessed at that frame before)."""
    record.page.wait_for_function(IDLE, timeout=30_000)
    record.page.evaluate(ARM_IDLE_EVENT)
    record.page.wait_for_function("() => window.__geoportalIdle === true", timeout=30_000)


def assert_clean(record: PageRecord) -> None:
    assert record.errors == [], record.errors
    assert record.blocked == [], f"the page tried to leave the server: {record.blocked}"


def click_map_center(record: PageRecord) -> None:
    box = record.page.locator("#map canvas").bounding_box()
    record.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_map_loads_and_draws_the_basemap(viewer: PageRecord) -> None:
    assert viewer.requests_to("/map/vendor/maplibre-gl/dist/maplibre-gl.js")
    assert viewer.requests_to("/tiles/WebMercatorQuad/tilejson.json")
    z = int(viewer.page.evaluate("() => window.geoportalViewer.map.getZoom()"))  # fit country
    assert len(viewer.requests_to(f"/tiles/WebMercatorQuad/{z}/")) >= 2
    colors, top_share = pixel_stats(viewer.page.locator("#map").screenshot())
    assert colors > 50 and top_share < 0.8, (colors, top_share)  # not a blank canvas
    labels = viewer.page.locator(".place-label").all_inner_texts()
    assert "Bishkek" in labels and "Osh" in labels and len(labels) > 10
    viewer.screenshot("viewer-01-loaded")
    assert_clean(viewer)


def tile_requests(record: PageRecord, layer: str, zoom: int | None = None) -> list[str]:
    """Requests of composite tiles (`/tiles/...?collections=`) naming `layer`."""
    prefix = "/tiles/WebMercatorQuad/" + (f"{zoom}/" if zoom is not None else "")
    return [
        url
        for url in record.requests_to(prefix)
        if "/collections/" not in url
        and layer in url.partition("collections=")[2].partition("&")[0].split(",")
    ]


def test_toggling_a_layer_changes_the_tile_requests(viewer: PageRecord) -> None:
    assert not tile_requests(viewer, "hazard_zones")
    viewer.page.locator("details[data-theme=disaster] summary").click()
    viewer.page.check("#toggle-hazard_zones")
    wait_idle(viewer)
    z = int(viewer.page.evaluate("() => window.geoportalViewer.map.getZoom()"))
    assert tile_requests(viewer, "hazard_zones", z)
    assert "hazard_zones" in viewer.page.evaluate("() => location.hash")
    viewer.screenshot("viewer-02-hazard-zones-on")
    viewer.page.uncheck("#toggle-hazard_zones")
    wait_idle(viewer)  # MapLibre marks the source unused in the next frame, not at once
    before = len(tile_requests(viewer, "hazard_zones"))
    viewer.page.evaluate("() => window.geoportalViewer.map.jumpTo({zoom: 8, center: [73, 41]})")
    wait_idle(viewer)
    assert len(tile_requests(viewer, "hazard_zones")) == before
    assert viewer.requests_to("/tiles/WebMercatorQuad/8/")
    assert_clean(viewer)


def test_clicking_a_feature_shows_its_popup(
    browser: Any, live_server: LiveServer, api: httpx.Client
) -> None:
    body = api.get(
        "/collections/settlements/items", params={"filter": "name_en='Bishkek'", "f": "json"}
    ).json()
    lon, lat = body["features"][0]["geometry"]["coordinates"]
    with open_map(browser, live_server, f"#map=12/{lat}/{lon}") as record:
        click_map_center(record)
        record.page.wait_for_selector(".maplibregl-popup .attributes td", timeout=10_000)
        record.page.wait_for_function(
            "() => document.querySelector('.popup-title').textContent === 'Bishkek'"
        )
        text = record.page.inner_text(".maplibregl-popup")
        assert "Population" in text and "900,000" in text
        links = record.page.locator(".popup-links a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        fid = body["features"][0]["id"]
        assert any(f"/collections/settlements/items/{fid}?" in h for h in hrefs)
        assert any("/collections/catalogue/items/settlements" in h for h in hrefs)
        record.screenshot("viewer-03-popup-bishkek")
        record.page.keyboard.press("Escape")
        assert record.page.locator(".maplibregl-popup").count() == 0
        assert_clean(record)


def test_searching_a_cadastral_code_flies_to_the_parcel(
    viewer: PageRecord, api: httpx.Client
) -> None:
    parcel = api.get(
        "/collections/cadastre_parcels/items",
        params={"limit": 1, "sortby": "-area_m2", "f": "json"},
    ).json()["features"][0]
    code = parcel["properties"]["cadastral_code"]
    viewer.page.focus("#search-input")  # keyboard only: type, arrow down, Enter
    viewer.page.keyboard.type(code)
    viewer.page.wait_for_selector(
        f"#search-results li[data-collection=cadastre_parcels][data-id='{parcel['id']}']"
    )
    viewer.page.keyboard.press("ArrowDown")
    viewer.page.keyboard.press("Enter")
    viewer.page.wait_for_selector(f"body[data-search-done='{parcel['id']}']", timeout=30_000)
    wait_idle(viewer)
    west, south, east, north, zoom = viewer.page.evaluate("""() => {
        const m = window.geoportalViewer.map; const b = m.getBounds();
        return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth(), m.getZoom()]; }""")
    ring = parcel["geometry"]["coordinates"][0][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    assert west <= min(xs) and max(xs) <= east and south <= min(ys) and max(ys) <= north
    assert (max(xs) - min(xs)) > (east - west) / 8  # zoomed in on it, not just in view
    assert zoom >= 11  # the parcels' min zoom
    assert viewer.page.is_checked("#toggle-cadastre_parcels")
    viewer.page.wait_for_function(
        f"() => document.querySelector('.popup-title')?.textContent === '{code}'"
    )
    viewer.screenshot("viewer-04-search-cadastral-code")
    assert_clean(viewer)


def test_kyrgyz_titles_are_shown_and_remembered(
    browser: Any, live_server: LiveServer, api: httpx.Client
) -> None:
    config = api.get("/map/config.json").json()
    with open_map(browser, live_server) as record:
        english = record.page.locator(".theme-title").all_inner_texts()
        assert english == [theme["title"]["en"] for theme in config["themes"]]
        record.page.click("#languages button[data-lang=ky]")
        kyrgyz = record.page.locator(".theme-title").all_inner_texts()
        assert kyrgyz == [theme["title"]["ky"] for theme in config["themes"]]
        assert record.page.inner_text("label[for=toggle-settlements] span") == next(
            layer["title"]["ky"] for layer in config["layers"] if layer["id"] == "settlements"
        )
        record.page.wait_for_function(
            "() => [...document.querySelectorAll('.place-label')]"
            ".some(e => e.textContent === 'Бишкек')"
        )
        record.screenshot("viewer-05-kyrgyz")
        record.page.reload()
        record.page.wait_for_selector("body[data-map-ready=true]")
        assert record.page.evaluate("() => document.documentElement.lang") == "ky"
        assert (
            record.page.locator(".theme-title").first.inner_text()
            == config["themes"][0]["title"]["ky"]
        )
        assert_clean(record)


def test_shared_link_restores_view_and_layers(browser: Any, live_server: LiveServer) -> None:
    with open_map(
        browser, live_server, "#map=9/42.5/74.5/0/0&layers=oblasts,irrigation_canals"
    ) as record:
        assert record.page.is_checked("#toggle-irrigation_canals")
        assert not record.page.is_checked("#toggle-settlements")
        assert tile_requests(record, "irrigation_canals", 9)
        zoom = record.page.evaluate("() => window.geoportalViewer.map.getZoom()")
        assert zoom == pytest.approx(9)
        record.screenshot("viewer-06-shared-link-canals")
        assert_clean(record)


def test_buildings_are_extruded_when_the_map_is_pitched(
    browser: Any, live_server: LiveServer
) -> None:
    with open_map(browser, live_server, "#map=16/42.874/74.60/0/0") as record:
        flat = record.page.evaluate("""() => window.geoportalViewer.map
            .getLayoutProperty('buildings-3d', 'visibility')""")
        assert flat == "none"
        record.page.evaluate("() => window.geoportalViewer.map.jumpTo({pitch: 60, bearing: 30})")
        wait_idle(record)
        extruded = record.page.evaluate("""() => window.geoportalViewer.map
            .queryRenderedFeatures({layers: ['buildings-3d']}).length""")
        assert extruded > 20
        record.screenshot("viewer-07-buildings-3d")
        assert_clean(record)


def test_time_control_filters_temporal_layers(
    browser: Any, live_server: LiveServer, api: httpx.Client
) -> None:
    first = api.get(
        "/collections/irrigation_sensors/items",
        params={"sortby": "installed", "limit": 1, "f": "json"},
    ).json()["features"][0]
    lon, lat = first["geometry"]["coordinates"]
    with open_map(
        browser, live_server, f"#map=10/{lat}/{lon}/0/0&layers=oblasts,rivers,irrigation_sensors"
    ) as record:
        record.page.check("#time-enabled")
        record.page.locator("#time-slider").focus()
        for _ in range(3):
            record.page.keyboard.press("PageDown")  # keyboard: back in time
        date = record.page.inner_text("#time-value")
        # the slider applies its date after a pause: wait for that one, not an earlier one
        record.page.wait_for_function(f"() => location.hash.includes('date={date}')")
        wait_idle(record)
        filtered = tile_requests(record, "irrigation_sensors", 10)
        assert any(f"datetime=..%2F{date}" in url for url in filtered), filtered
        installed = record.page.evaluate("""() => window.geoportalViewer.map
            .queryRenderedFeatures({layers: ['irrigation_sensors-0']})
            .map(f => f.properties.installed)""")
        assert installed and all(day <= date for day in installed), (date, installed)
        record.screenshot("viewer-08-time-filter")
        assert_clean(record)


def test_sensor_popup_charts_its_readings(
    browser: Any, live_server: LiveServer, api: httpx.Client
) -> None:
    sensor = api.get(
        "/collections/irrigation_sensors/items",
        params={"filter": "status='active'", "sortby": "installed", "limit": 1, "f": "json"},
    ).json()["features"][0]
    lon, lat = sensor["geometry"]["coordinates"]
    with open_map(
        browser, live_server, f"#map=15/{lat}/{lon}/0/0&layers=irrigation_sensors&date=2025-07-15"
    ) as record:
        click_map_center(record)
        record.page.wait_for_selector(".maplibregl-popup svg.sparkline path", timeout=15_000)
        assert record.requests_to("/collections/irrigation_readings/items?")
        record.screenshot("viewer-09-sensor-readings")
        assert_clean(record)


def test_download_panel_offers_only_what_the_server_has(
    viewer: PageRecord, api: httpx.Client
) -> None:
    has_pmtiles = api.get("/downloads/pmtiles").status_code != 404
    geojson = viewer.page.locator("#downloads a[data-format=geojson]").get_attribute("href")
    assert "bbox=" in geojson and "/collections/country/items?f=json" in geojson
    body = api.get(geojson).json()
    assert body["type"] == "FeatureCollection" and body["features"]
    assert viewer.page.locator("#download-pmtiles").count() == (1 if has_pmtiles else 0)
    csv = viewer.page.locator("#downloads a[data-format=csv]").get_attribute("href")
    assert api.get(csv).headers["content-type"].startswith("text/csv")
    exports = viewer.page.locator("#download-exports a[data-export]")
    offered = [exports.nth(i).get_attribute("data-export") for i in range(exports.count())]
    assert offered == list(FORMATS)  # every format of /downloads/{format}
    gpkg = viewer.page.locator("#download-exports a[data-export=geopackage]").get_attribute("href")
    assert "/downloads/geopackage?layers=" in gpkg and "bbox=" in gpkg
    layers = gpkg.split("layers=")[1].split("&")[0].split(",")
    assert "country" in layers and len(layers) > 1  # the layers on, not only one
    assert api.get(gpkg).status_code in (200, 202)  # the file, or its job when large
    assert_clean(viewer)


def test_the_export_links_follow_the_time_filter(browser: Any, live_server: LiveServer) -> None:
    with open_map(browser, live_server, "#map=8/42.8/74.6/0/0&date=2024-06-30") as record:
        wait_idle(record)
        href = record.page.locator("#download-exports a[data-export=geojson]").get_attribute("href")
        assert "datetime=..%2F2024-06-30T23%3A59%3A59Z" in href
        assert_clean(record)


def test_phone_layout_and_keyboard(browser: Any, live_server: LiveServer) -> None:
    with open_map(
        browser, live_server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ) as record:
        assert not record.page.is_visible("#sidebar")
        record.screenshot("viewer-10-phone-map")
        record.page.focus("#panel-toggle")
        record.page.keyboard.press("Enter")
        assert record.page.is_visible("#sidebar")
        record.page.focus("#toggle-rivers")
        record.page.keyboard.press("Space")
        assert not record.page.is_checked("#toggle-rivers")
        assert "rivers" not in record.page.evaluate("() => location.hash").split("layers=")[1]
        record.screenshot("viewer-11-phone-panel")
        assert_clean(record)


@pytest.mark.parametrize(
    "path",
    ["/collections/hazard_zones/preview?lang=ru", "/collections/settlements/items/1/preview"],
)
def test_folium_preview_loads_with_the_network_blocked(
    browser: Any, live_server: LiveServer, path: str
) -> None:
    with open_page(browser, live_server.url) as record:
        record.page.goto(f"{live_server.url}{path}")
        record.page.wait_for_selector(".leaflet-container canvas")
        libraries = record.page.evaluate(
            "() => [typeof L, typeof jQuery, typeof bootstrap, typeof L.AwesomeMarkers]"
        )
        assert libraries == ["object", "function", "object", "object"]
        assert record.requests_to("/map/vendor/leaflet/dist/leaflet.js")
        record.screenshot("preview-" + path.split("/")[2])
        assert_clean(record)


def test_cli_preview_file_opens_offline(
    browser: Any, live_server: LiveServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from geoportal.cli.main import app

    monkeypatch.setenv("GEOPORTAL_DATA_DIR", str(live_server.settings.data_dir))
    out = tmp_path / "bridges.html"
    result = CliRunner().invoke(app, ["preview", "bridges", str(out), "--lang", "ky"])
    assert result.exit_code == 0, result.output
    with open_page(browser, out.as_uri()) as record:  # only the file itself may load
        record.page.goto(out.as_uri())
        record.page.wait_for_selector(".leaflet-container canvas")
        assert record.page.evaluate("() => typeof L.AwesomeMarkers") == "object"
        record.screenshot("preview-cli-bridges")
        assert_clean(record)
