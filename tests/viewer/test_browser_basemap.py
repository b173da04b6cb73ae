"""The basemap to find one's way by (headless Chromium, network blocked): names of lakes,
oblasts and neighbouring countries in each language at the country view, town names back
after a search jump and a return, street names in Bishkek at z15, a road number on a shield,
and the agriculture aggregate at z7 with the numbers of a SQL aggregate of `agri_plots`."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from cadastre.streets import street_name
from geoportal.db.database import Database
from tests.support.browser import PageRecord
from tests.support.server import LiveServer
from tests.viewer.test_browser import api, assert_clean, browser, open_map, wait_idle  # noqa: F401

pytestmark = pytest.mark.slow
TOWNS = "[...document.querySelectorAll('.place-label')].map((n) => n.textContent)"


def labels_of(record: PageRecord, kind: str, minimum: int = 1) -> list[str]:
    """The texts of the basemap's labels of `kind`, once at least `minimum` are placed."""
    record.page.wait_for_function(
        f"() => document.querySelectorAll('.map-label[data-kind={kind}]').length >= {minimum}",
        timeout=15_000,
    )
    return record.page.locator(f".map-label[data-kind={kind}]").all_inner_texts()


def names(api: httpx.Client, collection: str, lang: str) -> set[str]:  # noqa: F811
    body = api.get(f"/collections/{collection}/items", params={"f": "json", "limit": 100}).json()
    return {f["properties"][f"name_{lang}"] for f in body["features"]}


def test_country_view_names_in_every_language(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    neighbours = api.get("/map/config.json").json()["neighbours"]
    with open_map(browser, live_server) as record:
        for lang in ("ky", "ru", "en"):
            record.page.click(f"#languages button[data-lang={lang}]")
            lakes = labels_of(record, "lake")
            assert set(lakes) <= names(api, "lakes", lang) and lakes, (lang, lakes)
            issyk_kul = api.get(
                "/collections/lakes/items", params={"f": "json", "filter": "name_en='Issyk-Kul'"}
            ).json()["features"][0]["properties"][f"name_{lang}"]
            assert issyk_kul in lakes
            oblasts = labels_of(record, "oblast", 4)
            assert set(oblasts) <= names(api, "oblasts", lang), (lang, oblasts)
            countries = labels_of(record, "country", 4)
            assert {n["name"][lang].upper() for n in neighbours} == {c.upper() for c in countries}
            record.screenshot(f"viewer-basemap-country-{lang}")
        assert_clean(record)


def test_town_names_come_back_after_a_search_jump_and_a_return(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
) -> None:
    with open_map(browser, live_server) as record:
        page = record.page
        page.fill("#search-input", "Osh")
        page.wait_for_selector("#search-results li[data-collection=settlements]")
        page.locator("#search-results li[data-collection=settlements]").first.dispatch_event(
            "mousedown"
        )
        page.wait_for_function("() => document.body.dataset.searchDone !== undefined")
        wait_idle(record)
        page.wait_for_function(
            f"() => {TOWNS}.includes('Osh')",
            timeout=15_000,
        )
        page.evaluate(
            """() => { const v = window.geoportalViewer; const [w, s, e, n] = v.config.view.bounds;
              v.map.fitBounds([[w, s], [e, n]], { padding: 8, animate: false }); }"""
        )
        wait_idle(record)
        page.wait_for_function(
            f"() => {{ const t = {TOWNS}; "
            "return t.includes('Bishkek') && t.includes('Osh') && t.length > 10; }",
            timeout=15_000,
        )
        record.screenshot("viewer-basemap-back-to-country")
        assert_clean(record)


def test_bishkek_at_z15_shows_street_names(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    body = api.get(
        "/collections/settlements/items", params={"filter": "name_en='Bishkek'", "f": "json"}
    ).json()
    lon, lat = body["features"][0]["geometry"]["coordinates"]
    streets = api.get(
        "/collections/roads/items",
        params={
            "f": "json",
            "filter": "road_class='urban'",
            "bbox": f"{lon - 0.05},{lat - 0.05},{lon + 0.05},{lat + 0.05}",
            "limit": 5000,
        },
    ).json()["features"]
    street_names = {f["properties"]["name"] for f in streets}
    with open_map(browser, live_server, f"#map=15/{lat}/{lon}") as record:
        shown = labels_of(record, "street", 2)
        assert set(shown) <= {street_name(n).latin for n in street_names}, shown
        record.screenshot("viewer-basemap-bishkek-streets")
        for lang, form in (("ru", lambda n: n), ("ky", lambda n: street_name(n).ky)):
            record.page.click(f"#languages button[data-lang={lang}]")
            expected = {form(n) for n in street_names}
            record.page.wait_for_function(
                """(names) => { const shown = [...document.querySelectorAll(
                  '.map-label[data-kind=street]')].map((n) => n.textContent);
                  return shown.length >= 2 && shown.every((t) => names.includes(t)); }""",
                arg=sorted(expected),
                timeout=15_000,
            )
        assert rendered_at_center(record, "ground-country")  # the ground, not the background
        assert_clean(record)


def rendered_at_center(record: PageRecord, style_layer: str) -> int:
    """How many features of `style_layer` are drawn at the centre of the map."""
    return record.page.evaluate(
        """(id) => { const m = window.geoportalViewer.map;
          return m.queryRenderedFeatures(m.project(m.getCenter()), { layers: [id] }).length; }""",
        style_layer,
    )


def test_water_is_drawn_above_z14(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    loaded: Database,
) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
            "FROM base.lakes WHERE name_en = 'Issyk-Kul') AS x"
        ).fetchone()
    with open_map(browser, live_server, f"#map=16/{lat}/{lon}") as record:
        assert rendered_at_center(record, "ground-lakes")  # the basemap's lakes end at z14
        assert_clean(record)


def test_a_road_number_is_shown_on_a_shield(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    api: httpx.Client,  # noqa: F811
) -> None:
    road = api.get(
        "/collections/roads/items",
        params={"f": "json", "filter": "road_number='ЭМ-02' AND length_km > 1", "limit": 1},
    ).json()["features"][0]
    coordinates = road["geometry"]["coordinates"]
    line = coordinates[0] if road["geometry"]["type"] == "MultiLineString" else coordinates
    lon, lat = line[len(line) // 2]
    with open_map(browser, live_server, f"#map=10/{lat}/{lon}") as record:
        record.page.wait_for_function(
            """() => [...document.querySelectorAll('.map-label[data-kind=shield]')]
              .some((n) => n.textContent === 'ЭМ-02')""",
            timeout=15_000,
        )
        record.screenshot("viewer-basemap-road-shield")
        assert_clean(record)


def test_agriculture_aggregate_draws_at_z7_with_the_numbers_of_sql(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    loaded: Database,
) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        rayon, count, area, irrigated, lon, lat = conn.execute(
            """SELECT p.rayon, count(*), sum(p.area_ha),
                      coalesce(sum(p.area_ha) FILTER (WHERE p.irrigation = 'irrigated'), 0),
                      ST_X(ST_PointOnSurface(r.geom)), ST_Y(ST_PointOnSurface(r.geom))
               FROM agriculture.agri_plots p JOIN base.rayons r ON r.name_en = p.rayon
               GROUP BY p.rayon, r.geom ORDER BY count(*) DESC LIMIT 1"""
        ).fetchone()
    with open_map(browser, live_server, f"#map=7/{lat}/{lon}") as record:
        props = record.page.evaluate(
            """([lon, lat]) => { const m = window.geoportalViewer.map;
              const p = m.project([lon, lat]);
              const found = m.queryRenderedFeatures(p, { layers: ['agri_plots_by_rayon-0'] });
              return found.length ? found[0].properties : null; }""",
            [lon, lat],
        )
        assert props is not None, "no aggregate drawn at z7"
        assert props["rayon"] == rayon
        assert props["plot_count"] == count
        assert props["area_ha"] == pytest.approx(float(area), abs=0.06)
        assert props["irrigated_pct"] == pytest.approx(
            100 * float(irrigated) / float(area), abs=0.06
        )
        legend = record.page.locator("li[data-layer=agri_plots_by_rayon] .legend").inner_text()
        assert "irrigated" in legend
        record.page.mouse.click(*_screen_point(record, lon, lat))
        record.page.wait_for_selector(".popup")
        for _ in range(8):  # the rayon under other features: step to it
            if record.page.locator(".popup[data-layer=agri_plots_by_rayon]").count():
                break
            record.page.click(".popup-next")
        popup = record.page.inner_text(".popup[data-layer=agri_plots_by_rayon]")
        assert rayon in popup and f"{count:,}".replace(",", "\u202f") in popup.replace(
            ",", "\u202f"
        )
        record.screenshot("viewer-basemap-agriculture-z7")
        assert_clean(record)


def _screen_point(record: PageRecord, lon: float, lat: float) -> tuple[float, float]:
    box = record.page.locator("#map canvas").bounding_box()
    p = record.page.evaluate(
        "([lon, lat]) => window.geoportalViewer.map.project([lon, lat])", [lon, lat]
    )
    return box["x"] + p["x"], box["y"] + p["y"]
