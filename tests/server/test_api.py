"""The OGC API over real HTTP: landing page, conformance, collections, items, CRS, CQL2."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pyproj import Transformer

from layers.catalogue import Catalogue
from tests.support.server import LiveServer

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


def test_landing_page_links(client: httpx.Client) -> None:
    response = client.get("/", params={"f": "json"})
    assert response.status_code == 200
    rels = {link["rel"] for link in response.json()["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= rels


def test_conformance_declares_features_crs_and_filter(client: httpx.Client) -> None:
    classes = client.get("/conformance", params={"f": "json"}).json()["conformsTo"]
    for suffix in (
        "ogcapi-features-1/1.0/conf/core",
        "ogcapi-features-2/1.0/conf/crs",
        "ogcapi-features-3/1.0/conf/filter",
        "cql2/1.0/conf/cql2-text",
        "ogcapi-features-4/1.0/conf/create-replace-delete",
        "ogcapi-features-4/1.0/conf/update",
    ):
        assert any(c.endswith(suffix) for c in classes), suffix


@pytest.mark.parametrize("path", ["/openapi?f=json", "/api?f=json"])
def test_openapi_document(client: httpx.Client, path: str) -> None:
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/collections/oblasts/items" in document["paths"]


def test_every_layer_is_a_collection(client: httpx.Client, catalogue: Catalogue) -> None:
    body = client.get("/collections", params={"f": "json"}).json()
    assert {c["id"] for c in body["collections"]} >= set(catalogue.ids)


@pytest.mark.parametrize(
    "layer_id",
    [
        "country",
        "oblasts",
        "rayons",
        "settlements",
        "rivers",
        "lakes",
        "glaciers",
        "urban_areas",
        "peaks",
    ],
)
def test_collection_metadata_and_first_page(client: httpx.Client, layer_id: str) -> None:
    meta = client.get(f"/collections/{layer_id}", params={"f": "json"}).json()
    west, south, east, north = meta["extent"]["spatial"]["bbox"][0]
    assert 69 <= west < east <= 81 and 39 <= south < north <= 44
    crs = meta["crs"]
    for srid in (3857, 7692, 7694, 7696, 32642, 32643, 32644):
        assert f"{EPSG}{srid}" in crs
    items = client.get(f"/collections/{layer_id}/items", params={"f": "json"}).json()
    assert items["type"] == "FeatureCollection"
    assert items["numberReturned"] == len(items["features"]) > 0


def test_queryables_come_from_the_declaration(client: httpx.Client, catalogue: Catalogue) -> None:
    body = client.get("/collections/settlements/queryables", params={"f": "json"}).json()
    fields = {f.name for f in catalogue.get("settlements").fields}
    assert fields <= set(body["properties"])


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "Oblasts"), ("ru", "Области"), ("ky", "Облустар")],
)
def test_metadata_in_three_languages(
    client: httpx.Client, catalogue: Catalogue, lang: str, expected: str
) -> None:
    body = client.get("/collections/oblasts", params={"f": "json", "lang": lang}).json()
    assert body["title"] == catalogue.get("oblasts").title.get(lang)
    assert expected.lower() in body["title"].lower()


def test_number_matched_and_paging_links(client: httpx.Client) -> None:
    page = client.get("/collections/settlements/items", params={"f": "json", "limit": 50}).json()
    assert page["numberMatched"] == 111
    next_link = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = client.get(next_link).json()
    assert second["numberReturned"] == 50
    first_ids = {f["id"] for f in page["features"]}
    assert not first_ids & {f["id"] for f in second["features"]}


def test_cql2_filter(client: httpx.Client) -> None:
    body = client.get(
        "/collections/settlements/items",
        params={
            "f": "json",
            "filter": "population > 100000 AND adm1_code = 'KGZ-1122'",
            "filter-lang": "cql2-text",
            "limit": 100,
        },
    ).json()
    assert body["features"], "Osh oblast has a city over 100,000"
    assert all(f["properties"]["population"] > 100000 for f in body["features"])


def test_bad_cql2_is_a_400(client: httpx.Client) -> None:
    for text in ("population >>> 3", "no_such_field = 1"):
        response = client.get(
            "/collections/settlements/items", params={"f": "json", "filter": text}
        )
        assert response.status_code == 400, text


def test_bbox_and_sortby(client: httpx.Client) -> None:
    body = client.get(
        "/collections/settlements/items",
        params={"f": "json", "bbox": "74.4,42.7,74.8,43.0", "sortby": "-population", "limit": 10},
    ).json()
    names = [f["properties"]["name_en"] for f in body["features"]]
    assert names[0] == "Bishkek"
    populations = [f["properties"]["population"] for f in body["features"]]
    assert populations == sorted(populations, reverse=True)


def test_one_item_and_missing_item(client: httpx.Client) -> None:
    item = client.get("/collections/oblasts/items/1", params={"f": "json"})
    assert item.status_code == 200 and item.json()["id"] == 1
    for missing in ("999999", "not-a-number"):
        response = client.get(f"/collections/oblasts/items/{missing}", params={"f": "json"})
        assert response.status_code == 404, missing


def test_unknown_collection_is_a_404(client: httpx.Client) -> None:
    assert client.get("/collections/nope/items", params={"f": "json"}).status_code == 404


@pytest.mark.parametrize("srid", [7694, 32643, 3857])
def test_crs_parameter_matches_pyproj(client: httpx.Client, srid: int) -> None:
    plain = client.get(
        "/collections/settlements/items", params={"f": "json", "filter": "name_en = 'Bishkek'"}
    ).json()
    lon, lat = plain["features"][0]["geometry"]["coordinates"]
    response = client.get(
        "/collections/settlements/items",
        params={"f": "json", "filter": "name_en = 'Bishkek'", "crs": f"{EPSG}{srid}"},
    )
    assert response.status_code == 200
    assert response.headers["content-crs"].strip("<>") == f"{EPSG}{srid}"
    coords = response.json()["features"][0]["geometry"]["coordinates"]
    # OGC API Features Part 2: coordinates in the axis order of the CRS (pyproj's default).
    expected = Transformer.from_crs(4326, srid).transform(lat, lon)
    assert coords == pytest.approx(list(expected), abs=0.01)
    assert abs(coords[0]) > 1000 and abs(coords[1]) > 1000  # metres, not degrees


def test_epsg_4326_is_lat_lon(client: httpx.Client) -> None:
    body = client.get(
        "/collections/settlements/items",
        params={"f": "json", "filter": "name_en = 'Bishkek'", "crs": f"{EPSG}4326"},
    ).json()
    lat, lon = body["features"][0]["geometry"]["coordinates"]
    assert 42 < lat < 43.5 and 74 < lon < 75


def test_unsupported_crs_is_a_400(client: httpx.Client) -> None:
    response = client.get("/collections/oblasts/items", params={"f": "json", "crs": f"{EPSG}2154"})
    assert response.status_code == 400


def test_health(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


def test_cors_for_public_reads(client: httpx.Client) -> None:
    response = client.get(
        "/collections", params={"f": "json"}, headers={"Origin": "https://example.org"}
    )
    assert response.headers.get("access-control-allow-origin") == "*"


def test_deep_pages_by_offset_are_exact(client: httpx.Client) -> None:
    """Offsets beyond the keyset threshold give the same rows as a walk through all pages,
    whether the boundary is known (second request) or not (first)."""
    everything = client.get(
        "/collections/rayons/items", params={"f": "json", "limit": 1000}
    ).json()["features"]
    all_ids = [f["id"] for f in everything]
    assert all_ids == sorted(all_ids)
    for _ in range(2):
        for offset in (0, 7, 20, 40, 41, 60):
            page = client.get(
                "/collections/rayons/items", params={"f": "json", "offset": offset, "limit": 5}
            ).json()
            assert [f["id"] for f in page["features"]] == all_ids[offset : offset + 5]
