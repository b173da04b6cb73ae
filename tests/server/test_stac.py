"""The image bank's STAC API over real HTTP: items inserted from pystac Items, searched by
bbox, datetime and cloud cover, paged; our CORS and problem shape; read-only searches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pystac
import pytest

from geoportal.db.database import PUBLIC_ROLE, Database
from geoportal.db.pools import server_pools
from imagery import bank
from tests.support.server import LiveServer
from tiles.settings import TileSettings

SCENES = {  # id: (lon, lat, date, cloud cover %)
    "t-chuy-0601": (74.5, 42.8, "2024-06-01", 5.0),
    "t-chuy-0701": (74.6, 42.8, "2024-07-01", 60.0),
    "t-osh-0601": (72.8, 40.5, "2024-06-01", 10.0),
}


def scene(item_id: str, lon: float, lat: float, day: str, cloud: float) -> pystac.Item:
    box = [lon - 0.2, lat - 0.2, lon + 0.2, lat + 0.2]
    ring = [
        [box[0], box[1]],
        [box[2], box[1]],
        [box[2], box[3]],
        [box[0], box[3]],
        [box[0], box[1]],
    ]
    return pystac.Item(
        id=item_id,
        geometry={"type": "Polygon", "coordinates": [ring]},
        bbox=box,
        datetime=dt.datetime.fromisoformat(f"{day}T06:00:00+00:00"),
        properties={"eo:cloud_cover": cloud, "synthetic": True},
        collection="sentinel-2-l2a",
    )


@pytest.fixture(scope="module")
def http(live_server: LiveServer, loaded: Database) -> Iterator[httpx.Client]:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        bank.ensure_collections(conn)
        for item_id, (lon, lat, day, cloud) in SCENES.items():
            bank.store_item(conn, scene(item_id, lon, lat, day, cloud).to_dict())
    with live_server.client() as client:
        yield client
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for item_id in SCENES:
            bank.delete_item(conn, item_id, "sentinel-2-l2a")


def ids(body: dict[str, Any]) -> set[str]:
    return {f["id"] for f in body["features"]}


def test_landing_conformance_and_collections(http: httpx.Client) -> None:
    landing = http.get("/stac").json()
    assert landing["type"] == "Catalog"
    assert any(link["rel"] == "search" for link in landing["links"])
    assert (
        "https://api.stacspec.org/v1.0.0/item-search"
        in http.get("/stac/conformance").json()["conformsTo"]
    )
    collections = {c["id"] for c in http.get("/stac/collections").json()["collections"]}
    assert {"sentinel-2-l2a", "landsat-c2-l2", "ndvi", "hillshade"} <= collections


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"bbox": "74,42,75,43"}, {"t-chuy-0601", "t-chuy-0701"}),
        ({"datetime": "2024-06-01T00:00:00Z/2024-06-02T00:00:00Z"}, {"t-chuy-0601", "t-osh-0601"}),
        ({"query": '{"eo:cloud_cover": {"lte": 20}}'}, {"t-chuy-0601", "t-osh-0601"}),
        (
            {
                "filter": '{"op": "<", "args": [{"property": "eo:cloud_cover"}, 50]}',
                "filter-lang": "cql2-json",
                "bbox": "74,42,75,43",
            },
            {"t-chuy-0601"},
        ),
        ({"ids": "t-osh-0601,t-chuy-0701"}, {"t-osh-0601", "t-chuy-0701"}),
    ],
)
def test_search_get(http: httpx.Client, params: dict[str, str], expected: set[str]) -> None:
    response = http.get("/stac/search", params={"collections": "sentinel-2-l2a", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    assert ids(response.json()) & set(SCENES) == expected  # the demo season's scenes aside


def test_search_post_pages_with_tokens(http: httpx.Client) -> None:
    body = {"collections": ["sentinel-2-l2a"], "ids": list(SCENES), "limit": 2}
    first = http.post("/stac/search", json=body).json()
    assert first["numberReturned"] == 2
    following = next(link for link in first["links"] if link["rel"] == "next")
    second = http.post("/stac/search", json={**body, **following["body"]}).json()
    assert ids(first) | ids(second) == set(SCENES) and not ids(first) & ids(second)
    page = http.get("/stac/collections/sentinel-2-l2a/items", params={"limit": 1}).json()
    link = next(link for link in page["links"] if link["rel"] == "next")
    assert "token=" in link["href"] and http.get(link["href"]).status_code == 200


def test_item_and_not_found(http: httpx.Client) -> None:
    item = http.get("/stac/collections/sentinel-2-l2a/items/t-osh-0601").json()
    assert item["properties"]["eo:cloud_cover"] == 10.0
    assert pystac.Item.from_dict(item).id == "t-osh-0601"
    missing = http.get("/stac/collections/sentinel-2-l2a/items/nope")
    assert missing.status_code == 404
    assert http.get("/stac/collections/nope").status_code == 404


@pytest.mark.parametrize(
    "params,word",
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"limit": "0"}, "limit"),
        ({"query": "[1]"}, "query"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_search_is_a_problem_with_cors(
    http: httpx.Client, params: dict[str, str], word: str
) -> None:
    response = http.get("/stac/search", params=params, headers={"Origin": "https://a.example"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 400 and word in problem["detail"] and problem.get("requestId")
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_preflight_of_post_search(http: httpx.Client) -> None:
    response = http.options(
        "/stac/search",
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == "*"


def test_searches_run_read_only_on_the_public_role(loaded: Database) -> None:
    spec = server_pools(TileSettings())["stac"]
    assert spec.role == PUBLIC_ROLE and spec.session.read_only
    with psycopg.connect(loaded.public_conninfo, autocommit=True) as conn:
        conn.execute(*spec.session.statement())  # type: ignore[arg-type]
        found = conn.execute('SELECT pgstac.search(\'{"ids": ["t-osh-0601"]}\')').fetchone()
        assert found is not None and found[0]["numberReturned"] == 1
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("SELECT pgstac.delete_item('t-osh-0601', 'sentinel-2-l2a')")
        conn.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM pgstac.items")


def test_records_link_the_image_bank(http: httpx.Client) -> None:
    record = http.get("/collections/catalogue/items/ndvi", params={"f": "json"}).json()
    related = [link["href"] for link in record["links"] if link["rel"] == "related"]
    assert any(href.endswith("/stac/collections/ndvi") for href in related)
    landing = http.get("/stac").json()
    assert any(link["rel"] == "service-desc" for link in landing["links"])
