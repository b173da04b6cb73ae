"""Every OGC API Features query parameter, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pyproj import Transformer

from tests.support.server import LiveServer

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


def items(client: httpx.Client, layer: str, **params: object) -> dict:
    response = client.get(f"/collections/{layer}/items", params={"f": "json", **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_limit_and_offset(client: httpx.Client) -> None:
    first = items(client, "settlements", limit=3)
    assert first["numberReturned"] == 3
    third = items(client, "settlements", limit=1, offset=2)
    assert third["features"][0]["id"] == first["features"][2]["id"]


def test_properties_selects_fields(client: httpx.Client) -> None:
    body = items(client, "settlements", properties="name_en,population", limit=2)
    for feature in body["features"]:
        assert set(feature["properties"]) == {"name_en", "population"}


def test_skip_geometry(client: httpx.Client) -> None:
    body = items(client, "settlements", skipGeometry="true", limit=2)
    assert all(f["geometry"] is None for f in body["features"])


def test_q_free_text_in_any_language(client: httpx.Client) -> None:
    for text in ("Karakol", "каракол", "Каракол"):
        body = items(client, "settlements", q=text)
        assert [f["properties"]["name_en"] for f in body["features"]] == ["Karakol"], text


def test_property_equality_parameter(client: httpx.Client) -> None:
    body = items(client, "settlements", capital="oblast", limit=50)
    assert body["features"]
    assert {f["properties"]["capital"] for f in body["features"]} == {"oblast"}


def test_bbox_crs(client: httpx.Client) -> None:
    """A box in UTM 43N (metres) finds what the same box finds in CRS84: the corners are
    transformed to the storage CRS (OGC API Features Part 2)."""
    metric_box = (449000, 4727000, 482000, 4761000)
    to_lonlat = Transformer.from_crs(32643, 4326, always_xy=True)
    west, south = to_lonlat.transform(metric_box[0], metric_box[1])
    east, north = to_lonlat.transform(metric_box[2], metric_box[3])
    plain = items(client, "roads", bbox=f"{west},{south},{east},{north}", limit=1000)
    metric = items(
        client,
        "roads",
        bbox=",".join(map(str, metric_box)),
        **{"bbox-crs": f"{EPSG}32643"},
        limit=1000,
    )
    assert 0 < metric["numberReturned"] < 1000
    assert {f["id"] for f in metric["features"]} == {f["id"] for f in plain["features"]}
    bishkek = items(
        client, "settlements", bbox=",".join(map(str, metric_box)), **{"bbox-crs": f"{EPSG}32643"}
    )
    assert "Bishkek" in {f["properties"]["name_en"] for f in bishkek["features"]}


def test_spatial_cql2_filter(client: httpx.Client) -> None:
    body = items(
        client,
        "settlements",
        limit=100,
        filter="S_INTERSECTS(geometry, POLYGON((74 42, 75.5 42, 75.5 43.3, 74 43.3, 74 42)))",
    )
    names = {f["properties"]["name_en"] for f in body["features"]}
    assert "Bishkek" in names and "Osh" not in names


def test_filter_crs(client: httpx.Client) -> None:
    body = items(
        client,
        "oblasts",
        filter="S_INTERSECTS(geometry, POINT(465000 4748000))",
        **{"filter-crs": f"{EPSG}32643"},
    )
    assert [f["properties"]["name_en"] for f in body["features"]] == ["Bishkek City"]


def test_cql2_json_by_post(client: httpx.Client) -> None:
    response = client.post(
        "/collections/settlements/items",
        params={"f": "json"},
        json={"op": ">", "args": [{"property": "population"}, 200000]},
        headers={"Content-Type": "application/query-cql-json"},
    )
    assert response.status_code == 200, response.text
    names = {f["properties"]["name_en"] for f in response.json()["features"]}
    assert names == {"Bishkek", "Osh"}


def test_resulttype_hits(client: httpx.Client) -> None:
    body = items(client, "settlements", resulttype="hits")
    assert body["numberMatched"] == 111 and body["features"] == []


def test_html_pages(client: httpx.Client) -> None:
    for path in ("/", "/collections", "/collections/oblasts", "/collections/oblasts/items"):
        response = client.get(path, params={"f": "html"})
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "-1"},
        {"limit": "abc"},
        {"offset": "-5"},
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"sortby": "nope"},
        {"properties": "nope"},
        {"filter": "population >"},
        {"filter-lang": "sql"},
        {"crs": "EPSG:1234"},
        {"datetime": "yesterday"},
        {"bbox-crs": f"{EPSG}32643"},
    ],
)
def test_bad_parameters_are_400(client: httpx.Client, params: dict) -> None:
    response = client.get("/collections/settlements/items", params={"f": "json", **params})
    assert response.status_code == 400, (params, response.status_code, response.text[:200])
    assert "Traceback" not in response.text and "SELECT" not in response.text
