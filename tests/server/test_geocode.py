"""`GET /geocode` and `/reverse`: GeoJSON in the style of Photon, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def house(client: httpx.Client) -> dict:
    """An address of a building on Chuy avenue, as the addresses collection serves it."""
    features = client.get(
        "/collections/addresses/items",
        params={"filter": "street_ru='проспект Чуй'", "limit": 50, "f": "json"},
    ).json()["features"]
    return next(f for f in features if f["properties"]["building_id"] is not None)


def test_geocode_answers_a_feature_collection_of_points(client: httpx.Client, house: dict) -> None:
    number = house["properties"]["house_number"]
    response = client.get("/geocode", params={"q": f"bishkek chuy {number}", "lang": "en"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    first = body["features"][0]
    assert first["geometry"]["type"] == "Point"
    props = first["properties"]
    assert props["collection"] == "addresses" and props["type"] == "address"
    assert props["street"] == "Chuy prospekti" and props["city"] == "Bishkek"
    assert props["housenumber"].startswith(str(number))
    assert props["countrycode"] == "KG"
    assert len(props["extent"]) == 4


def test_geocode_gives_a_town_its_extent(client: httpx.Client) -> None:
    first = client.get("/geocode", params={"q": "Osh", "limit": 1}).json()["features"][0]
    assert first["properties"]["collection"] == "settlements"
    west, north, east, south = first["properties"]["extent"]
    assert west <= east and south <= north
    lon, lat = first["geometry"]["coordinates"]
    assert west <= lon <= east and south <= lat <= north


def test_reverse_gives_the_nearest_address_with_its_parcel_and_building(
    client: httpx.Client, house: dict
) -> None:
    lon, lat = house["geometry"]["coordinates"]
    response = client.get("/reverse", params={"lon": lon + 0.00001, "lat": lat, "lang": "ru"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    [nearest] = response.json()["features"]
    props = nearest["properties"]
    assert props["id"] == str(house["id"])
    assert props["label"] == house["properties"]["label_ru"]
    assert 0 < props["distance_m"] < 5
    assert props["building"]["id"] == house["properties"]["building_id"]
    if house["properties"]["parcel_id"] is not None:
        assert props["parcel"]["cadastral_code"] == house["properties"]["cadastral_code"]
    assert not {"holder_name", "holder_pin"} & set(props.get("parcel") or {})


def test_reverse_orders_by_distance(client: httpx.Client) -> None:
    features = client.get("/reverse", params={"lon": 72.8, "lat": 40.53, "limit": 5}).json()[
        "features"
    ]
    distances = [f["properties"]["distance_m"] for f in features]
    assert len(distances) == 5 and distances == sorted(distances)


@pytest.mark.parametrize(
    "path, params, message",
    [
        ("/reverse", {"lat": 42.8}, "lon is required"),
        ("/reverse", {"lon": "east", "lat": 42.8}, "lon must be a number"),
        ("/reverse", {"lon": 181, "lat": 42.8}, "lon must be from"),
        ("/reverse", {"lon": 74.6, "lat": "nan"}, "lat must be from"),
        ("/reverse", {"lon": 74.6, "lat": 42.8, "limit": 11}, "limit must be"),
        ("/reverse", {"lon": 74.6, "lat": 42.8, "radius": 5}, "unknown"),
        ("/geocode", {"q": "x"}, "q must have"),
        ("/geocode", {"q": "Osh", "lang": "fr"}, "lang must be one of"),
    ],
)
def test_bad_parameters_are_400(
    client: httpx.Client, path: str, params: dict, message: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]
