"""The country view of agriculture (`/map/aggregates/agri_plots.json`) and the neighbouring
countries of the basemap, over real HTTP against the loaded demo: the numbers are those of a
SQL aggregate of `agri_plots`, the neighbours lie outside the loaded country outline."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from cadastre.streets import street_name
from geoportal.db.database import Database
from geoportal.viewer.aggregates import AGRI_AGGREGATE_ID, IRRIGATED_CLASSES, irrigated_class
from layers.model import LANGUAGES
from tests.support.server import LiveServer

PATH = "/map/aggregates/agri_plots.json"
PER_RAYON = """
SELECT rayon, count(*), sum(area_ha),
       coalesce(sum(area_ha) FILTER (WHERE irrigation = 'irrigated'), 0)
FROM agriculture.agri_plots WHERE rayon IS NOT NULL GROUP BY rayon
"""


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


def sql_per_rayon(database: Database) -> dict[str, tuple[int, float, float]]:
    """Plot count, area and irrigated area (ha) per rayon, straight from the table."""
    with psycopg.connect(database.owner_conninfo) as conn:
        rows = conn.execute(PER_RAYON).fetchall()
    return {r[0]: (int(r[1]), float(r[2]), float(r[3])) for r in rows}


def test_aggregate_numbers_equal_sql(client: httpx.Client, loaded: Database) -> None:
    response = client.get(PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    features = response.json()["features"]
    expected = sql_per_rayon(loaded)
    assert len(expected) >= 5, expected  # the demo has plots in many rayons
    got = {f["properties"]["rayon"]: f["properties"] for f in features}
    assert set(got) == set(expected)
    for rayon, (count, area, irrigated) in expected.items():
        props = got[rayon]
        assert props["plot_count"] == count, rayon
        assert props["area_ha"] == pytest.approx(area, abs=0.06), rayon
        assert props["irrigated_ha"] == pytest.approx(irrigated, abs=0.06), rayon
        share = 100 * irrigated / area
        assert props["irrigated_pct"] == pytest.approx(share, abs=0.06), rayon
        assert props["irrigated_class"] == irrigated_class(share)
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)


def test_aggregate_revalidates_with_its_etag(client: httpx.Client) -> None:
    first = client.get(PATH)
    etag = first.headers["etag"]
    again = client.get(PATH, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    assert "max-age=60" in first.headers["cache-control"]


def test_aggregate_is_a_translated_layer_of_the_viewer(client: httpx.Client) -> None:
    config = client.get("/map/config.json").json()
    ids = [layer["id"] for layer in config["layers"]]
    assert ids.index(AGRI_AGGREGATE_ID) == ids.index("agri_plots") + 1
    layer = config["layers"][ids.index(AGRI_AGGREGATE_ID)]
    assert layer["theme"] == "agriculture" and layer["visible"] and layer["geojson"].endswith(PATH)
    assert all(style["maxzoom"] == 9 for style in layer["style"])  # plots take over at z9
    field = next(f for f in layer["fields"] if f["name"] == "irrigated_class")
    assert set(field["labels"]) == {value for value, *_ in IRRIGATED_CLASSES}
    for label in field["labels"].values():
        assert set(label) == set(LANGUAGES) and len(set(label.values())) >= 2
    assert [e["value"] for e in layer["legend"]["entries"]] == list(field["labels"])


def test_neighbours_lie_outside_the_country_near_their_border(
    client: httpx.Client, loaded: Database
) -> None:
    neighbours = client.get("/map/config.json").json()["neighbours"]
    assert {n["name"]["en"] for n in neighbours} == {
        "Kazakhstan",
        "Uzbekistan",
        "Tajikistan",
        "China",
    }
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for n in neighbours:
            inside, km = conn.execute(
                "SELECT ST_Contains(geom, ST_Point(%s, %s, 4326)), "
                "ST_Distance(geom::geography, ST_Point(%s, %s, 4326)::geography) / 1000 "
                "FROM base.country",
                [*n["lonlat"], *n["lonlat"]],
            ).fetchone()
            assert not inside, n
            assert 3 < km < 100, (n, km)
            assert set(n["name"]) == set(LANGUAGES)


def test_street_names_in_three_languages(client: httpx.Client, loaded: Database) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        names = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT name FROM roads.roads WHERE road_class = 'urban' AND name <> ''"
            )
        }
    assert names
    response = client.get("/map/streets.json")
    assert response.status_code == 200
    forms = response.json()
    assert set(forms) == names
    for name in names:
        expected = street_name(name)
        assert forms[name] == {"ky": expected.ky, "ru": name, "en": expected.latin}
    assert client.get("/map/config.json").json()["streets"].endswith("/map/streets.json")
    etag = response.headers["etag"]
    assert client.get("/map/streets.json", headers={"If-None-Match": etag}).status_code == 304
