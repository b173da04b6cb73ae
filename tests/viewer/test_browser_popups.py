"""Popups that answer and words in the user's language, in headless Chromium with the
network blocked (screenshots in var/test-artifacts/): a popup steps through overlapping
features, a sensor's popup shows its latest readings however old, and in Kyrgyz and Russian
no English class code of the declarations is left on screen."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.server import LiveServer
from tests.viewer.test_browser import (  # noqa: F401
    api,
    assert_clean,
    browser,
    click_map_center,
    open_map,
)

pytestmark = pytest.mark.slow
OVERLAPPING = "layers=buildings,city_districts,hazard_zones,roads"
FIND_OVERLAP = """() => { const v = window.geoportalViewer; const c = v.map.getCanvas();
  for (let y = 40; y < c.clientHeight - 40; y += 20) {
    for (let x = 40; x < c.clientWidth - 40; x += 20) {
      const keys = new Set(v.featuresAt({x, y}).map(f => `${f.layer.id} ${f.id}`)
        .map(k => k.replace(/-\\d+ /, ' ')));
      if (keys.size >= 2) return [x, y];
    } }
  return null; }"""
SHOWCASE = (
    "layers=oblasts,roads,settlements,buildings,city_districts,sports_facilities,hazard_zones"
)


def test_overlapping_features_are_stepped_through(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    with open_map(browser, live_server, f"#map=15/42.875/74.6/0/0&{OVERLAPPING}") as record:
        point = record.page.evaluate(FIND_OVERLAP)
        assert point, "no two features overlap in the view"
        box = record.page.locator("#map canvas").bounding_box()
        record.page.mouse.click(box["x"] + point[0], box["y"] + point[1])
        record.page.wait_for_selector(".popup-stepper .popup-count", timeout=10_000)
        count = record.page.inner_text(".popup-count")
        assert re.fullmatch(r"1 / [2-9]\d*", count), count
        first = record.page.get_attribute(".popup", "data-layer")
        title = record.page.inner_text(".popup-title")
        record.page.click(".popup-next")
        record.page.wait_for_function(
            "() => document.querySelector('.popup-count')?.textContent.startsWith('2 /')"
        )
        second = record.page.get_attribute(".popup", "data-layer")
        assert (first, record.page.inner_text(".popup-title")) != (second, title)
        record.screenshot("viewer-13-popup-stepper")
        record.page.click(".popup-prev")
        record.page.wait_for_function(
            "() => document.querySelector('.popup-count')?.textContent.startsWith('1 /')"
        )
        assert_clean(record)


def test_sensor_popup_shows_its_latest_readings_however_old(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    sensor = api.get(
        "/collections/irrigation_sensors/items",
        params={"filter": "status='active'", "sortby": "installed", "limit": 1, "f": "json"},
    ).json()["features"][0]
    latest = api.get(
        "/collections/irrigation_readings/items",
        params={"sensor_id": sensor["id"], "sortby": "-observed_at", "limit": 1, "f": "json"},
    ).json()["features"][0]["properties"]["observed_at"]
    assert latest < "2026-11-01"  # the demo's readings are older than 30 days
    lon, lat = sensor["geometry"]["coordinates"]
    with open_map(browser, live_server, f"#map=15/{lat}/{lon}/0/0&layers=irrigation_sensors") as r:
        statuses: list[int] = []
        r.page.on("response", lambda response: statuses.append(response.status))
        click_map_center(r)
        r.page.wait_for_selector(".maplibregl-popup .series-title", timeout=15_000)
        assert r.page.locator(".maplibregl-popup svg.sparkline path").count() >= 1
        assert latest[:4] in r.page.inner_text(".maplibregl-popup .related")
        assert 400 not in statuses
        r.screenshot("viewer-14-sensor-latest-readings")
        assert_clean(r)


def english_codes(config: dict, lang: str) -> set[str]:
    """Allowed values (as stored, and with spaces for underscores) whose label in `lang`
    differs from the code: they must never be seen in that language."""
    codes = set()
    for layer in config["layers"]:
        for field in layer["fields"]:
            for value, label in (field["labels"] or {}).items():
                if re.fullmatch(r"[a-z][a-z_ ]{2,}", value) and label[lang] != value:
                    codes |= {value, value.replace("_", " ")}
    return codes


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_no_english_class_code_is_left_in_kyrgyz_or_russian(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
    lang: str,
) -> None:
    config = api.get("/map/config.json").json()
    with open_map(browser, live_server, f"#map=12/42.87/74.6/0/0&{SHOWCASE}") as record:
        record.page.click(f"#languages button[data-lang={lang}]")
        click_map_center(record)
        record.page.wait_for_selector(".maplibregl-popup .popup-title", timeout=10_000)
        # the attribution (data provenance, declared in English) is left out
        text = (
            record.page.inner_text("#sidebar")
            + "\n"
            + record.page.inner_text("#map .maplibregl-popup")
        )
        words = set(re.findall(r"[a-z][a-z_]*(?: [a-z]+)?", text)) | set(
            re.findall(r"[a-z][a-z_]*", text)
        )
        left = sorted(english_codes(config, lang) & words)
        record.screenshot(f"viewer-15-words-{lang}")
        assert left == [], left
        assert_clean(record)
