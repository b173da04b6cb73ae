"""The viewer's tools (headless Chromium, network blocked): the pointer's coordinates in
WGS 84 and in Kyrg-06, checked against PROJ; share and locate-me; measuring a distance and an
area (against PROJ's geodesics); the PNG export with its legend; zoom to a layer's extent;
the attribute table of the features in view (against the items API); the attribution in
Kyrgyz and Russian, folded on a phone."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyproj
import pytest
from PIL import Image

from geoportal.viewer.attribution import translated_attribution
from tests.support.browser import ARTIFACTS, PageRecord, pixel_stats
from tests.support.server import LiveServer
from tests.viewer.test_attribution import english_words
from tests.viewer.test_browser import api, assert_clean, browser, open_map, wait_idle  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("lon", "lat", "zone"), [(74.6, 42.87, 7694), (72.8, 40.52, 7693)])
def test_pointer_coordinates_in_wgs84_and_kyrg06(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    lon: float,
    lat: float,
    zone: int,
) -> None:
    with open_map(browser, live_server, f"#map=12/{lat}/{lon}/0/0") as record:
        box = record.page.locator("#map canvas").bounding_box()
        record.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        record.page.wait_for_selector("#coords:not(:empty)")
        text = record.page.inner_text("#coords")
        at_lon, at_lat = record.page.evaluate("""() => { const m = window.geoportalViewer.map;
            const c = m.getCanvas(); const p = m.unproject([c.clientWidth / 2,
            c.clientHeight / 2]); return [p.lng, p.lat]; }""")
        shown = re.search(
            r"([\d.]+)°, ([\d.]+)° \(WGS 84\) · Kyrg-06 z(\d): E (\d+), N (\d+)", text
        )
        assert shown, text
        assert float(shown[1]) == pytest.approx(at_lat, abs=1e-4)
        assert float(shown[2]) == pytest.approx(at_lon, abs=1e-4)
        assert int(shown[3]) == zone - 7691
        to_grid = pyproj.Transformer.from_crs(4326, zone, always_xy=True)
        easting, northing = to_grid.transform(at_lon, at_lat)
        assert int(shown[4]) == pytest.approx(easting, abs=1.01)
        assert int(shown[5]) == pytest.approx(northing, abs=1.01)
        record.screenshot(f"viewer-19-coordinates-{zone}")
        assert_clean(record)


def test_share_copies_the_view_and_locate_me_goes_there(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
) -> None:
    options = {
        "permissions": ["clipboard-read", "clipboard-write", "geolocation"],
        "geolocation": {"latitude": 40.52, "longitude": 72.8},  # Osh
    }
    with open_map(browser, live_server, "#map=9/42.5/74.5/0/0&layers=oblasts", **options) as r:
        r.page.click("#share")
        r.page.wait_for_function("() => document.getElementById('share').dataset.copied")
        copied = r.page.evaluate("() => navigator.clipboard.readText()")
        assert copied == r.page.evaluate("() => location.href") and "layers=oblasts" in copied
        r.page.click(".maplibregl-ctrl-geolocate")
        r.page.wait_for_function("""() => { const c = window.geoportalViewer.map.getCenter();
            return Math.abs(c.lng - 72.8) < 0.01 && Math.abs(c.lat - 40.52) < 0.01; }""")
        r.screenshot("viewer-20-locate-me")
        assert_clean(r)


GEOD = pyproj.Geod(ellps="WGS84")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
NUMBER = r"([\d,]+(?:\.\d+)?)"


def lng_lat_at(record: PageRecord, x: float, y: float) -> tuple[float, float]:
    """The map's position under the pixel (x, y) of the map canvas."""
    lng, lat = record.page.evaluate(
        "([x, y]) => { const p = window.geoportalViewer.map.unproject([x, y]);"
        " return [p.lng, p.lat]; }",
        [x, y],
    )
    return lng, lat


def click_canvas(record: PageRecord, points: list[tuple[int, int]]) -> list[tuple[float, float]]:
    """Click the map canvas at each pixel; the positions clicked."""
    box = record.page.locator("#map canvas").bounding_box()
    for x, y in points:
        record.page.mouse.click(box["x"] + x, box["y"] + y)
    return [lng_lat_at(record, x, y) for x, y in points]


def shown_number(text: str, unit: str) -> float:
    match = re.search(NUMBER + " " + unit + r"\b", text)
    assert match, (text, unit)
    return float(match[1].replace(",", ""))


def test_measure_a_distance_and_an_area(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
) -> None:
    with open_map(browser, live_server, "#map=12/42.87/74.6/0/0&layers=oblasts") as record:
        page = record.page
        page.click("#tool-distance")
        (lon0, lat0), (lon1, lat1) = click_canvas(record, [(300, 250), (750, 520)])
        page.click("#measure .measure-finish")
        text = page.inner_text("#measure .measure-value")
        _, _, length_m = GEOD.inv(lon0, lat0, lon1, lat1)
        assert shown_number(text, "km") * 1000 == pytest.approx(length_m, rel=0.01), text
        assert page.locator(".maplibregl-popup").count() == 0  # clicks measured, no popup
        record.screenshot("viewer-21-measure-distance")
        page.keyboard.press("Escape")  # a finished measurement: Escape clears it
        assert page.is_hidden("#measure")
        page.click("#tool-area")
        corners = click_canvas(record, [(300, 200), (800, 220), (700, 560)])
        page.keyboard.press("Escape")  # measuring: Escape finishes
        text = page.inner_text("#measure .measure-value")
        lons, lats = zip(*corners, strict=True)
        area_m2, perimeter_m = GEOD.polygon_area_perimeter(lons, lats)
        assert shown_number(text, "km²") * 1e6 == pytest.approx(abs(area_m2), rel=0.01), text
        assert shown_number(text, "km") * 1000 == pytest.approx(perimeter_m, rel=0.01), text
        page.click("#languages button[data-lang=ru]")
        assert "Площадь" in page.inner_text("#measure") and "км²" in page.inner_text("#measure")
        page.click("#measure .measure-clear")
        assert page.is_hidden("#measure")
        assert_clean(record)


def hex_rgb(color: str) -> tuple[int, int, int] | None:
    """(r, g, b) of a #rrggbb or #rgb colour, None for other notations."""
    digits = color.lstrip("#")
    if not color.startswith("#") or len(digits) not in (3, 6):
        return None
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def test_png_export_has_the_map_legend_and_attribution(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    shown = ["oblasts", "lakes", "roads", "settlements"]
    config = api.get("/map/config.json").json()
    swatches = {
        rgb
        for layer in config["layers"]
        if layer["id"] in shown
        for entry in layer["legend"]["entries"]
        if (rgb := hex_rgb(entry["color"]))
    }
    assert swatches
    with open_map(browser, live_server, f"#map=8/42.4/77.3/0/0&layers={','.join(shown)}") as r:
        width, height = r.page.evaluate(
            "() => { const m = document.getElementById('map');"
            " return [m.clientWidth, m.clientHeight]; }"
        )
        with r.page.expect_download() as download:
            r.page.click("#tool-export")
        assert re.fullmatch(r"geoportal-\d{4}-\d{2}-\d{2}\.png", download.value.suggested_filename)
        data = Path(download.value.path()).read_bytes()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "viewer-22-export.png").write_bytes(data)
        image = Image.open(io.BytesIO(data)).convert("RGB")
        assert image.size[0] == width + 260 and image.size[1] > height + 52
        map_part = image.crop((0, 52, width, 52 + height))
        buffer = io.BytesIO()
        map_part.save(buffer, format="PNG")
        colors, top_share = pixel_stats(buffer.getvalue())
        assert colors > 50 and top_share < 0.8, (colors, top_share)  # a drawn map, not blank
        legend = image.crop((width, 52, width + 260, 52 + height))
        legend_colors = {rgb for _, rgb in legend.getcolors(maxcolors=260 * height) or []}
        assert swatches & legend_colors, (swatches, len(legend_colors))
        footer = image.crop((0, 52 + height, image.size[0], image.size[1]))
        assert len(footer.getcolors(maxcolors=100_000) or []) > 2  # the attribution's text
        assert_clean(r)


def test_zoom_to_a_layer_fits_its_collection_extent(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    bbox = api.get("/collections/sports_facilities", params={"f": "json"}).json()["extent"][
        "spatial"
    ]["bbox"][0]
    west, south, east, north = bbox
    with open_map(browser, live_server, "#map=12/42.87/74.6/0/0&layers=oblasts") as record:
        page = record.page
        page.locator("details[data-theme=sports] summary").click()
        page.click(".zoom-layer[data-layer=sports_facilities]")
        page.wait_for_selector("body[data-zoomed-to=sports_facilities]")
        wait_idle(record)
        w, s, e, n = page.evaluate("""() => { const b = window.geoportalViewer.map.getBounds();
            return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }""")
        assert w <= west and s <= south and e >= east and n >= north, ((w, s, e, n), bbox)
        # fitted: the extent fills the view along one axis (but for the 20 px padding)
        assert max((east - west) / (e - w), (north - south) / (n - s)) > 0.9
        assert page.is_checked("#toggle-sports_facilities")
        record.screenshot("viewer-23-zoom-to-layer")
        assert_clean(record)


def table_page(client: httpx.Client, url: str) -> dict[str, Any]:
    """The items page the viewer's table asked for, asked again."""
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}").json()


def test_attribute_table_lists_the_features_in_view(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    with open_map(browser, live_server, "#map=15/42.8746/74.6122/0/0&layers=buildings") as r:
        page = r.page
        page.click("#tool-table")
        page.wait_for_selector("#feature-table[data-state=done] tbody tr")
        url = page.get_attribute("#feature-table", "data-url")
        assert "limit=20" in url and "offset=0" in url
        query = parse_qs(urlsplit(url).query)
        view = page.evaluate("""() => { const b = window.geoportalViewer.map.getBounds();
            return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }""")
        assert [float(v) for v in query["bbox"][0].split(",")] == pytest.approx(view, abs=1e-5)
        body = table_page(api, url)
        matched = body["numberMatched"]
        assert matched > 20  # paged
        ids = page.eval_on_selector_all(
            "#feature-table tbody tr", "rows => rows.map(r => r.dataset.id)"
        )
        assert ids == [str(f["id"]) for f in body["features"]]
        assert page.inner_text(".table-count") == f"1–20 of {matched:,}"
        headers = page.eval_on_selector_all(
            "#feature-table th", "cells => cells.map(c => c.textContent)"
        )
        config = api.get("/map/config.json").json()
        fields = next(layer["fields"] for layer in config["layers"] if layer["id"] == "buildings")
        assert headers == [f["title"]["en"] for f in fields]
        page.click("#feature-table .table-next")
        page.wait_for_function(
            "() => document.querySelector('.table-count').textContent.startsWith('21–')"
        )
        r.screenshot("viewer-24-attribute-table")
        page.click("#feature-table tbody tr >> nth=0")
        picked = page.get_attribute("#feature-table tbody tr >> nth=0", "data-id")
        assert page.get_attribute("#feature-table", "data-highlighted") == picked
        page.evaluate("() => window.geoportalViewer.map.jumpTo({center: [74.59, 42.87], zoom: 15})")
        page.wait_for_function(
            "(before) => { const s = document.getElementById('feature-table');"
            " return s.dataset.state === 'done' && s.dataset.url !== before; }",
            arg=url.replace("offset=0", "offset=20"),
        )
        moved = page.get_attribute("#feature-table", "data-url")
        assert "offset=0" in moved
        body = table_page(api, moved)
        shown = page.get_attribute(".table-count", "data-matched")
        assert shown == str(body.get("numberMatched", ""))
        assert_clean(r)


def test_attribution_in_kyrgyz_and_russian_folded_on_a_phone(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    shown = ["oblasts", "settlements", "rayons", "agri_plots"]
    config = api.get("/map/config.json").json()
    english = {layer["attribution"] for layer in config["layers"] if layer["id"] in shown}
    words = set().union(*(english_words(text) for text in english))
    assert len(words) > 5
    fragment = f"#map=10/42.8/74.6/0/0&layers={','.join(shown)}"
    with open_map(browser, live_server, fragment, **PHONE) as record:
        page = record.page
        for selector in ("#tool-distance", "#tool-table", ".maplibregl-ctrl-attrib-button"):
            box = page.locator(selector).bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44, (selector, box)
        for lang in ("ky", "ru"):
            page.click(f"#languages button[data-lang={lang}]")
            attribution = page.locator(".maplibregl-ctrl-attrib")
            assert "maplibregl-compact" in attribution.get_attribute("class")
            assert "maplibregl-compact-show" not in attribution.get_attribute("class")
            text = page.text_content(".maplibregl-ctrl-attrib-inner")
            for source in english:
                assert translated_attribution(source)[lang] in text, (lang, text)
            left = {word for word in re.findall(r"[A-Za-z]+", text) if word in words}
            assert not left, (lang, left, text)
        page.click(".maplibregl-ctrl-attrib-button")
        assert page.is_visible(".maplibregl-ctrl-attrib-inner")
        record.screenshot("viewer-25-attribution-ru-phone")
        assert_clean(record)
