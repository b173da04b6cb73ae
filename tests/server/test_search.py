"""`GET /search`: places, cadastral codes, road numbers, in three languages, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


def search(client: httpx.Client, **params: object) -> list[dict]:
    response = client.get("/search", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    return response.json()["results"]


@pytest.mark.parametrize("lang, label", [("en", "Bishkek"), ("ru", "Бишкек"), ("ky", "Бишкек")])
def test_a_settlement_comes_first_labelled_in_the_language(
    client: httpx.Client, lang: str, label: str
) -> None:
    first = search(client, q="Бишкек", lang=lang)[0]
    assert first["collection"] == "settlements"
    assert first["label"] == label
    minx, miny, maxx, maxy = first["bbox"]
    assert 74.4 < minx <= maxx < 74.8 and 42.7 < miny <= maxy < 43.0


def test_a_cadastral_code_finds_its_parcel(client: httpx.Client) -> None:
    parcel = client.get(
        "/collections/cadastre_parcels/items", params={"limit": 1, "f": "json"}
    ).json()["features"][0]
    code = parcel["properties"]["cadastral_code"]
    results = search(client, q=code)
    assert results[0] == {
        "collection": "cadastre_parcels",
        "id": str(parcel["id"]),
        "label": code,
        "layer": "Land parcels (cadastre, public view)",
        "bbox": results[0]["bbox"],
    }
    ring = parcel["geometry"]["coordinates"][0][0]
    minx, miny, maxx, maxy = results[0]["bbox"]
    assert minx == pytest.approx(min(p[0] for p in ring), abs=1e-6)
    assert maxy == pytest.approx(max(p[1] for p in ring), abs=1e-6)


def test_a_road_number_finds_its_segments(client: httpx.Client) -> None:
    road = client.get(
        "/collections/roads/items",
        params={"limit": 1, "filter": "road_class='national'", "f": "json"},
    ).json()["features"][0]["properties"]
    results = search(client, q=road["road_number"].lower(), limit=5)
    assert results and all(r["collection"] in ("roads", "bridges", "road_works") for r in results)
    assert results[0]["label"].startswith(road["road_number"])


def test_wildcards_are_literal_and_limit_holds(client: httpx.Client) -> None:
    assert search(client, q="%%") == []
    assert search(client, q="__") == []
    assert len(search(client, q="ул", limit=3)) == 3


@pytest.mark.parametrize(
    "params, message",
    [
        ({}, "q must have"),
        ({"q": "a"}, "q must have"),
        ({"q": "x" * 101}, "q must have"),
        ({"q": "Osh", "lang": "de"}, "lang must be one of"),
        ({"q": "Osh", "limit": "0"}, "limit must be"),
        ({"q": "Osh", "limit": "many"}, "limit"),
        ({"q": "Osh", "limit": "51"}, "limit must be"),
        ({"q": "Osh", "bbox": "1,2,3,4"}, "unknown"),
    ],
)
def test_bad_parameters_are_400(client: httpx.Client, params: dict, message: str) -> None:
    response = client.get("/search", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]


def test_a_nul_character_is_a_400(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/search", params={"q": "ab\x00c"}, timeout=30)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
