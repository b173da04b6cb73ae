"""The viewer's tools (headless Chromium, network blocked): the pointer's coordinates in
WGS 84 and in Kyrg-06, checked against PROJ."""

from __future__ import annotations

import re
from typing import Any

import pyproj
import pytest

from tests.support.server import LiveServer
from tests.viewer.test_browser import assert_clean, browser, open_map  # noqa: F401

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
