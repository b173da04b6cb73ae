"""The viewer on a phone (390x844, touch): the whole country in the first view, 44 px touch
targets, a folded attribution, the panel closing on a tap on the map; the favicon served and
the time slider starting within the data's range. Headless Chromium, network blocked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from layers.geography import KYRGYZSTAN_BBOX_4326
from tests.support.server import LiveServer
from tests.viewer.test_browser import api, assert_clean, browser, open_map  # noqa: F401

pytestmark = pytest.mark.slow
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_phone_first_view_touch_targets_and_panel(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
) -> None:
    with open_map(browser, live_server, **PHONE) as record:
        page = record.page
        west, south, east, north = page.evaluate("""() => {
            const b = window.geoportalViewer.map.getBounds();
            return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }""")
        x0, y0, x1, y1 = KYRGYZSTAN_BBOX_4326  # Talas in the west, Batken in the south-west
        assert west <= x0 and south <= y0 and east >= x1 and north >= y1
        for selector in (".maplibregl-ctrl-zoom-in", "#panel-toggle", "#languages button"):
            box = page.locator(selector).first.bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44, (selector, box)
        attribution = page.locator(".maplibregl-ctrl-attrib")
        assert "maplibregl-compact" in attribution.get_attribute("class")
        assert "maplibregl-compact-show" not in attribution.get_attribute("class")
        record.screenshot("viewer-16-phone-first-view")
        page.click("#panel-toggle")
        assert page.is_visible("#sidebar")
        page.mouse.click(370, 700)  # a tap on the map, right of the panel
        page.wait_for_function("() => document.getElementById('sidebar').matches('.closed')")
        assert page.get_attribute("#panel-toggle", "aria-expanded") == "false"
        assert_clean(record)


def test_favicon_and_time_slider_start(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    icon = api.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    with open_map(browser, live_server) as record:
        start = record.page.inner_text("#time-value")
        assert start <= dt.date.today().isoformat(), start
        icon_url = record.page.evaluate("() => document.querySelector('link[rel=icon]').href")
        assert icon_url == f"{live_server.url}/favicon.ico"
        assert_clean(record)
