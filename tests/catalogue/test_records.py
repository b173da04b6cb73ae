"""The dataset catalogue as an OGC API - Records collection, over real HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from owslib.ogcapi.records import Records

from demo.loader import demo_data_dir, load_demo
from geoportal.catalogue.records import CATALOGUE_ID, list_datasets, sync_datasets
from geoportal.db.database import Database
from layers.catalogue import Catalogue
from tests.support.server import LiveServer

ITEMS = f"/collections/{CATALOGUE_ID}/items"


@pytest.fixture(scope="module")
def synced(loaded: Database, catalogue: Catalogue) -> Database:
    """The loaded database with the declarations' metadata in catalog.datasets."""
    with psycopg.connect(loaded.owner_conninfo) as conn:
        sync_datasets(conn, catalogue)
    return loaded


@pytest.fixture(scope="module")
def server(synced: Database, live_server: LiveServer) -> LiveServer:
    """The session's server: `create_app` serves the catalogue with every layer."""
    return live_server


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def _items(client: httpx.Client, **params: object) -> dict:
    response = client.get(ITEMS, params={"f": "json", "limit": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _ids(body: dict) -> list[str]:
    return [record["id"] for record in body["features"]]


def test_one_record_per_declared_dataset(client: httpx.Client, catalogue: Catalogue) -> None:
    body = _items(client)
    expected = [*catalogue.ids, *(raster.id for raster in catalogue.rasters)]
    assert _ids(body) == expected
    assert body["numberMatched"] == body["numberReturned"] == len(expected)


def test_collection_is_a_record_catalogue(client: httpx.Client) -> None:
    meta = client.get(f"/collections/{CATALOGUE_ID}", params={"f": "json"}).json()
    assert meta["itemType"] == "record"
    conformance = client.get("/conformance", params={"f": "json"}).json()["conformsTo"]
    assert any(c.endswith("ogcapi-records-1/1.0/conf/core") for c in conformance)
    queryables = client.get(f"/collections/{CATALOGUE_ID}/queryables", params={"f": "json"}).json()[
        "properties"
    ]
    assert {"theme", "title", "type", "updated", "featureCount"} <= set(queryables)


def test_record_shape(client: httpx.Client, synced: Database) -> None:
    record = client.get(f"{ITEMS}/oblasts", params={"f": "json"}).json()
    assert record["id"] == "oblasts" and record["type"] == "Feature"
    assert record["geometry"]["type"] == "Polygon"
    west, south = record["geometry"]["coordinates"][0][0]
    assert 69 <= west <= 81 and 39 <= south <= 44
    props = record["properties"]
    assert props["type"] == "dataset"
    assert props["title"] == "Oblasts and the city of Bishkek"
    assert props["description"].startswith("First-level administrative units")
    assert "oblast" in props["keywords"]
    assert props["themes"][0]["concepts"][0]["id"] == "base"
    assert props["language"]["code"] == "en"
    assert props["contacts"] == [
        {"organization": "State Cartography and Geodesy Service", "roles": ["custodian"]}
    ]
    assert props["license"] == "other" and props["rights"] == "Made with Natural Earth."
    assert {"name": "GeoJSON", "mediaType": "application/geo+json"} in props["formats"]
    assert props["frequency"] == "asNeeded" and props["lineage"].startswith("Natural Earth")
    assert props["featureCount"] == 8
    with psycopg.connect(synced.public_conninfo) as conn:
        row = conn.execute(
            "SELECT loaded_at FROM catalog.layer_stats WHERE layer_id = 'oblasts'"
        ).fetchone()
    assert row is not None and props["updated"] == row[0].isoformat().replace("+00:00", "Z")
    assert props["created"] <= props["updated"]


def test_record_links_resolve(client: httpx.Client, server: LiveServer) -> None:
    record = client.get(f"{ITEMS}/oblasts", params={"f": "json"}).json()
    links = {(link["rel"], link["type"]): link["href"] for link in record["links"]}
    base = f"{server.url}/collections/oblasts"
    assert links[("describes", "application/json")] == base
    assert links[("items", "application/geo+json")] == f"{base}/items"
    queryables = f"{base}/queryables"
    assert (
        links[("http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json")]
        == queryables
    )
    assert ("license", "text/html") in links
    assert client.get(base, params={"f": "json"}).json()["id"] == "oblasts"
    items = client.get(f"{base}/items", params={"f": "json"}).json()
    assert items["numberMatched"] == 8
    assert "name_en" in client.get(queryables, params={"f": "json"}).json()["properties"]


def test_raster_record(client: httpx.Client) -> None:
    record = client.get(f"{ITEMS}/elevation", params={"f": "json"}).json()
    assert record["properties"]["title"] == "Elevation (GEBCO 2023)"
    assert record["properties"]["formats"][0]["name"] == "GeoTIFF"
    assert record["geometry"]["coordinates"][0][0] == [69.2, 39.1]  # Kyrgyzstan's bbox


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Облустар", "oblasts"),
        ("области", "oblasts"),
        ("oblasts", "oblasts"),
        ("OBLASTS", "oblasts"),
        ("мөңгүлөр", "glaciers"),
        ("озера", "lakes"),
        ("GEBCO", "elevation"),
        ("административное деление", "country"),
    ],
)
def test_q_in_three_languages(client: httpx.Client, q: str, expected: str) -> None:
    body = _items(client, q=q)
    assert _ids(body)[0] == expected
    assert body["numberMatched"] == len(body["features"])


def test_q_alternatives_and_no_match(client: httpx.Client) -> None:
    assert {"oblasts", "glaciers"} <= set(_ids(_items(client, q="oblasts,Ледники")))
    assert _ids(_items(client, q="oblasts ледники")) == []  # words of one term: all must occur
    body = _items(client, q="no-such-word-anywhere")
    assert body["numberMatched"] == 0 and body["features"] == []


def _intersects(a: list[float], b: list[float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def test_bbox_search(client: httpx.Client) -> None:
    everything = _items(client)["features"]
    box = [69.3, 39.2, 69.6, 39.5]  # far south-west of Batken oblast
    expected = {
        r["id"]
        for r in everything
        if _intersects(r["properties"]["extent"]["spatial"]["bbox"][0], box)
    }
    assert 0 < len(expected) < len(everything)
    body = _items(client, bbox=",".join(map(str, box)))
    assert set(_ids(body)) == expected and body["numberMatched"] == len(expected)
    assert _items(client, bbox="0,0,1,1")["numberMatched"] == 0


@pytest.mark.parametrize(
    ("params", "themes"),
    [
        ({"theme": "base"}, {"base"}),
        ({"theme": "base,roads"}, {"base", "roads"}),
        ({"filter": "theme='base'"}, {"base"}),
        ({"filter": "theme IN ('base','roads')"}, {"base", "roads"}),
    ],
)
def test_theme_filter(
    client: httpx.Client, catalogue: Catalogue, params: dict, themes: set[str]
) -> None:
    expected = {d.id for d in list_datasets(catalogue) if d.theme in themes}
    body = _items(client, **params)
    assert set(_ids(body)) == expected and body["numberMatched"] == len(expected)


def test_theme_without_datasets_and_bad_filter(client: httpx.Client) -> None:
    assert _items(client, theme="no_such_theme")["numberMatched"] == 0
    response = client.get(ITEMS, params={"f": "json", "filter": "no_such_field = 1"})
    assert response.status_code == 400


def test_cql2_on_counts_and_sortby(client: httpx.Client) -> None:
    body = _items(client, filter="featureCount > 100", sortby="-featureCount")
    counts = [r["properties"]["featureCount"] for r in body["features"]]
    assert counts and all(c > 100 for c in counts) and counts == sorted(counts, reverse=True)


@pytest.mark.parametrize("lang", ["ky", "ru", "en"])
def test_records_in_the_request_language(
    client: httpx.Client, catalogue: Catalogue, lang: str
) -> None:
    response = client.get(ITEMS, params={"f": "json", "lang": lang, "limit": 100})
    assert response.headers["content-language"].startswith(lang)
    titles = {r["id"]: r["properties"]["title"] for r in response.json()["features"]}
    assert titles == {d.id: d.title.get(lang) for d in list_datasets(catalogue)}
    one = client.get(f"{ITEMS}/oblasts", params={"f": "json", "lang": lang}).json()
    assert one["properties"]["title"] == catalogue.get("oblasts").title.get(lang)


def test_unknown_language_falls_back_to_english(client: httpx.Client) -> None:
    record = client.get(f"{ITEMS}/oblasts", params={"f": "json", "lang": "fr"}).json()
    assert record["properties"]["title"] == "Oblasts and the city of Bishkek"


def test_paging_is_exact_and_stable(client: httpx.Client) -> None:
    total = _items(client)["numberMatched"]
    seen: list[str] = []
    for offset in range(0, total, 3):
        page = _items(client, limit=3, offset=offset)
        assert page["numberMatched"] == total
        seen += _ids(page)
    assert len(seen) == len(set(seen)) == total
    assert _items(client, resulttype="hits")["numberMatched"] == total


def test_datetime_matches_temporal_extents(client: httpx.Client) -> None:
    body = _items(client, datetime="2020-01-01T00:00:00Z/..")
    assert body["numberMatched"] == len(body["features"])
    for record in body["features"]:  # only datasets with a temporal extent reaching 2020
        end = record["time"]["interval"][1]
        assert end == ".." or end >= "2020-01-01"


def test_missing_record_is_a_404(client: httpx.Client) -> None:
    assert client.get(f"{ITEMS}/no_such_dataset", params={"f": "json"}).status_code == 404


def test_html_pages_render(client: httpx.Client) -> None:
    for path in (ITEMS, f"{ITEMS}/oblasts"):
        response = client.get(path, params={"f": "html"})
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
        assert client.get(path, params={"f": "jsonld"}).status_code == 200


def test_reload_updates_the_record(
    client: httpx.Client, synced: Database, catalogue: Catalogue, tmp_path: Path
) -> None:
    layer = catalogue.get("peaks")
    before = client.get(f"{ITEMS}/peaks", params={"f": "json"}).json()["properties"]
    source = json.loads((demo_data_dir() / "kg_peaks.geojson").read_text("utf-8"))
    source["features"] = source["features"][:-3]
    (tmp_path / "kg_peaks.geojson").write_text(json.dumps(source), "utf-8")
    try:
        load_demo(synced.owner_conninfo, [layer], data_dir=tmp_path)
        after = client.get(f"{ITEMS}/peaks", params={"f": "json"}).json()["properties"]
        assert after["featureCount"] == before["featureCount"] - 3
        assert after["updated"] > before["updated"]
    finally:
        load_demo(synced.owner_conninfo, [layer])
    restored = client.get(f"{ITEMS}/peaks", params={"f": "json"}).json()["properties"]
    assert restored["featureCount"] == before["featureCount"]
    assert restored["updated"] > after["updated"]


def test_sync_is_idempotent_and_removes_undeclared(synced: Database, catalogue: Catalogue) -> None:
    with psycopg.connect(synced.owner_conninfo) as conn:
        assert sync_datasets(conn, catalogue).is_empty
        smaller = Catalogue(layers=catalogue.layers[1:], rasters=catalogue.rasters)
        result = sync_datasets(conn, smaller)
        assert result.removed == [catalogue.layers[0].id] and not result.added
        conn.rollback()
        count = conn.execute("SELECT count(*) FROM catalog.records").fetchone()
    assert count is not None and count[0] == len(catalogue) + len(catalogue.rasters)


DENIED = (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)
"""Public sessions are read-only (migration 0008) and have no write privilege anyway."""


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("INSERT INTO catalog.datasets (id) VALUES ('intruder')", DENIED),
        ("UPDATE catalog.datasets SET theme = 'x'", DENIED),
        ("DELETE FROM catalog.datasets", DENIED),
        ("UPDATE catalog.layer_stats SET feature_count = 0", DENIED),
        ("SELECT * FROM catalog.datasets", psycopg.errors.InsufficientPrivilege),
        # A view over a join is not updatable for anybody.
        (
            "DELETE FROM catalog.records",
            (psycopg.errors.ObjectNotInPrerequisiteState, psycopg.errors.ReadOnlySqlTransaction),
        ),
    ],
)
def test_public_role_reads_but_cannot_write_the_catalogue(
    synced: Database, statement: str, error: type[Exception] | tuple[type[Exception], ...]
) -> None:
    with psycopg.connect(synced.public_conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM catalog.records").fetchone()
        assert row is not None and row[0] > 0
        with pytest.raises(error):
            conn.execute(statement)


def test_owslib_reads_the_catalogue(server: LiveServer) -> None:
    api = Records(server.url)
    assert api.records() == [CATALOGUE_ID]
    found = api.collection_items(CATALOGUE_ID, q="Облустар")
    assert found["features"][0]["id"] == "oblasts"
    assert api.collection_item(CATALOGUE_ID, "oblasts")["properties"]["type"] == "dataset"


def test_gdal_reads_the_catalogue(server: LiveServer, catalogue: Catalogue) -> None:
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", f"OAPIF:{server.url}", CATALOGUE_ID],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "oblasts" in result.stdout and "Oblasts and the city of Bishkek" in result.stdout
