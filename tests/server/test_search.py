"""`GET /search`: places, roads, streets, addresses and cadastral codes, tolerant of script
and spelling, one result per named thing, over real HTTP."""

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
    assert first["kind"] == "place"
    minx, miny, maxx, maxy = first["bbox"]
    assert 74.4 < minx <= maxx < 74.8 and 42.7 < miny <= maxy < 43.0


@pytest.mark.parametrize(
    "q, name",
    [
        ("Bishkekk", "Bishkek"),
        ("Biskek", "Bishkek"),
        ("Karakól", "Karakol"),
        ("karakol", "Karakol"),
        ("Djalal-Abad", "Jalal-Abad"),
        ("Jalalabad", "Jalal-Abad"),
        ("Жалал-Абад", "Jalal-Abad"),
    ],
)
def test_misspelt_and_transliterated_places_are_found(
    client: httpx.Client, q: str, name: str
) -> None:
    first = search(client, q=q, lang="en")[0]
    assert (first["collection"], first["label"]) == ("settlements", name)


def test_chuy_avenue_is_numbered_along_its_length(client: httpx.Client) -> None:
    """The demo numbers an arterial avenue every 45 m per side along its length inside the
    city (odd and even sides): Chuy avenue, which crosses Bishkek, has houses past 100."""
    houses = client.get(
        "/collections/addresses/items",
        params={
            "filter": "street_ru='проспект Чуй' AND house_number > 100",
            "limit": 2000,
            "f": "json",
        },
    ).json()["features"]
    numbers = {f["properties"]["house_number"] for f in houses}
    assert any(n % 2 for n in numbers) and any(n % 2 == 0 for n in numbers)
    assert max(numbers) > 200


@pytest.mark.parametrize(
    "q",
    # the test case, exactly (tracker issue 13): Latin, Russian with its abbreviation
    ["bishkek chui 100", "Чуйский пр 100", "Бишкек, Чуй проспекти 100", "проспект Чуй, 100"],
)
def test_an_address_is_found_in_any_script(client: httpx.Client, q: str) -> None:
    first = search(client, q=q, lang="ky")[0]
    assert first["collection"] == "addresses"
    assert first["kind"] == "address"
    assert first["label"] == "Бишкек, Чуй проспекти 100"
    minx, miny, maxx, maxy = first["bbox"]
    assert minx == maxx and miny == maxy and 74.4 < minx < 74.8


def test_a_street_is_one_result_framing_all_its_houses(client: httpx.Client) -> None:
    streets = [r for r in search(client, q="проспект Чуй", lang="ru") if r["kind"] == "street"]
    assert [r["label"] for r in streets] == ["проспект Чуй, Бишкек"]
    houses = client.get(
        "/collections/addresses/items",
        params={"filter": "street_ru='проспект Чуй'", "limit": 5000, "f": "json"},
    ).json()["features"]
    lons = [f["geometry"]["coordinates"][0] for f in houses]
    minx, _, maxx, _ = streets[0]["bbox"]
    assert minx == pytest.approx(min(lons), abs=1e-6)
    assert maxx == pytest.approx(max(lons), abs=1e-6)


@pytest.mark.parametrize("q", ["M41", "М-41", "m41", "ЭМ-01", "EM-01", "em01"])
def test_a_road_number_in_any_script_finds_the_whole_road_once(
    client: httpx.Client, q: str
) -> None:
    results = search(client, q=q, limit=10)
    roads = [r for r in results if r["collection"] == "roads"]
    assert roads and roads[0] is results[0], results
    assert len([r for r in roads if r["label"].startswith("ЭМ-01 ")]) == 1
    assert roads[0]["label"].startswith("ЭМ-01 · M41")
    segments = client.get(
        "/collections/roads/items",
        params={"filter": "road_number='ЭМ-01'", "limit": 1000, "f": "json"},
    ).json()["features"]
    assert len(segments) > 1
    points = [p for f in segments for line in f["geometry"]["coordinates"] for p in line]
    minx, miny, maxx, maxy = roads[0]["bbox"]
    assert minx == pytest.approx(min(p[0] for p in points), abs=1e-6)
    assert maxy == pytest.approx(max(p[1] for p in points), abs=1e-6)


def test_a_cadastral_code_finds_its_parcel(client: httpx.Client) -> None:
    parcel = client.get(
        "/collections/cadastre_parcels/items", params={"limit": 1, "f": "json"}
    ).json()["features"][0]
    code = parcel["properties"]["cadastral_code"]
    first = search(client, q=code)[0]
    assert first == {
        "collection": "cadastre_parcels",
        "id": str(parcel["id"]),
        "label": code,
        "layer": "Land parcels (cadastre, public view)",
        "kind": "parcel",
        "score": first["score"],
        "bbox": first["bbox"],
    }
    ring = parcel["geometry"]["coordinates"][0][0]
    minx, miny, maxx, maxy = first["bbox"]
    assert minx == pytest.approx(min(p[0] for p in ring), abs=1e-6)
    assert maxy == pytest.approx(max(p[1] for p in ring), abs=1e-6)


def test_wildcards_are_literal_and_limit_holds(client: httpx.Client) -> None:
    assert search(client, q="%%") == []
    assert search(client, q="__") == []
    assert len(search(client, q="Кара", limit=3)) == 3


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
