"""The viewer's search as a person uses it (headless Chromium, network blocked): the
placeholder's examples find something in every language, a road is one result, a town is
framed whole, and a query that finds nothing says so with suggestions or examples."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.server import LiveServer
from tests.viewer.test_browser import api, assert_clean, browser, open_map, wait_idle  # noqa: F401

pytestmark = pytest.mark.slow


def test_placeholder_examples_work_in_every_language(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    with open_map(browser, live_server) as record:
        for lang in ("ky", "ru", "en"):
            record.page.click(f"#languages button[data-lang={lang}]")
            placeholder = record.page.get_attribute("#search-input", "placeholder")
            examples = [e.strip() for e in placeholder.split(":", 1)[1].split(",")]
            assert len(examples) >= 3, placeholder
            for example in examples:
                found = api.get("/search", params={"q": example, "lang": lang}).json()["results"]
                assert found, (lang, example)
        assert_clean(record)


def test_a_road_is_one_result_and_a_town_is_framed_whole(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
) -> None:
    with open_map(browser, live_server) as record:
        page = record.page
        page.fill("#search-input", "ЭМ-01")
        page.wait_for_selector("#search-results li[role=option]")
        labels = page.locator("#search-results li[role=option] .result-label").all_inner_texts()
        keys = [
            (page.get_attribute(f"#search-result-{i}", "data-collection"), label)
            for i, label in enumerate(labels)
        ]
        assert len(keys) == len(set(keys)), keys  # no road listed twice
        page.fill("#search-input", "Osh")
        page.wait_for_selector("#search-results li[data-collection=settlements]")
        page.locator("#search-results li[data-collection=settlements]").first.dispatch_event(
            "mousedown"
        )
        page.wait_for_function("() => document.body.dataset.searchDone !== undefined")
        wait_idle(record)
        zoom = page.evaluate("() => window.geoportalViewer.map.getZoom()")
        assert 10 <= zoom <= 12.5, zoom  # the town, not one street of it
        record.screenshot("viewer-17-search-town")
        assert_clean(record)


def test_nothing_found_says_so(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
) -> None:
    with open_map(browser, live_server) as record:
        record.page.fill("#search-input", "qqzzxxww")
        record.page.wait_for_selector("#search-results li.empty[role=status]")
        text = record.page.inner_text("#search-results")
        assert "Nothing found" in text and "qqzzxxww" in text
        assert re.search(r"For example: .+|Closest matches:", text), text
        record.screenshot("viewer-18-search-nothing-found")
        assert_clean(record)
