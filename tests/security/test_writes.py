"""OGC API Features Part 4 writes: who may write, what is stored where, ETags, counters."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import psycopg
import pytest
from pyproj import Transformer

from geoportal.db.database import Database
from tests.support.oidc import LocalIssuer

BISHKEK = (74.6059, 42.8746)
OSH = (72.7985, 40.5140)
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def key(api_keys: dict[str, str], user: str) -> dict[str, str]:
    return {"X-API-Key": api_keys[user]}


def facility(lon: float, lat: float, **changes: Any) -> dict[str, Any]:
    properties = {
        "name": "Test stadium",
        "facility_type": "stadium",
        "capacity": 1200,
        "sections": 3,
        "athletes_count": 150,
        "owner_kind": "state",
        "oblast": "Chuy",
        "settlement": "Bishkek",
        "year_built": 1985,
        "condition": "good",
    }
    properties.update(changes)
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


@pytest.fixture(scope="module")
def valid_facility(client: httpx.Client) -> dict[str, Any]:
    """A facility built from a stored one (so every value passes the declaration)."""
    stored = client.get("/collections/sports_facilities/items/1", params={"f": "json"}).json()
    return {
        "type": "Feature",
        "properties": stored["properties"],
        "geometry": {"type": "Point", "coordinates": list(BISHKEK)},
    }


def count(db: Database, layer: str) -> tuple[int, int]:
    with psycopg.connect(db.owner_conninfo) as conn:
        schema_table = {
            "sports_facilities": "sports.sports_facilities",
            "agri_plots": "agriculture.agri_plots",
        }[layer]
        stats = conn.execute(
            "SELECT feature_count FROM catalog.layer_stats WHERE layer_id = %s", [layer]
        ).fetchone()
        real = conn.execute(f"SELECT count(*) FROM {schema_table}").fetchone()
    assert stats and real
    return stats[0], real[0]


def create(
    client: httpx.Client,
    headers: dict[str, str],
    body: dict[str, Any],
    layer: str = "sports_facilities",
    **extra: str,
) -> httpx.Response:
    return client.post(f"/collections/{layer}/items", json=body, headers={**headers, **extra})


def test_anonymous_write_is_401(client: httpx.Client, valid_facility: dict) -> None:
    response = create(client, {}, valid_facility)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["requestId"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "gpk_000000000000_" + "A" * 43},
        {"X-API-Key": "not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
    ],
)
def test_bad_credentials_are_401_even_for_reads(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    response = client.get("/collections/sports_facilities/items", headers=headers)
    assert response.status_code == 401


def test_forged_or_expired_tokens_are_401(
    client: httpx.Client, issuer: LocalIssuer, valid_facility: dict, tmp_path
) -> None:
    other = LocalIssuer(tmp_path)
    for token in (
        issuer.token(themes=["sports"], key=other.key),
        issuer.token(themes=["sports"], lifetime_s=-120),
        issuer.token(themes=["sports"], iss="https://evil.example"),
        issuer.token(themes=["sports"], aud="someone-else"),
        issuer.token(themes=["sports"], role="superuser"),
    ):
        response = create(client, {"Authorization": f"Bearer {token}"}, valid_facility)
        assert response.status_code == 401, response.text


def test_wrong_theme_is_403(
    client: httpx.Client, api_keys: dict, issuer: LocalIssuer, valid_facility: dict
) -> None:
    assert create(client, key(api_keys, "roads.editor"), valid_facility).status_code == 403
    token = issuer.token(themes=["roads"])
    response = create(client, {"Authorization": f"Bearer {token}"}, valid_facility)
    assert response.status_code == 403


def test_base_layers_are_not_editable(client: httpx.Client, api_keys: dict) -> None:
    response = client.delete("/collections/oblasts/items/1", headers=key(api_keys, "chief.admin"))
    assert response.status_code == 405


def test_create_read_replace_delete_keeps_the_count_exact(
    client: httpx.Client, api_keys: dict, loaded: Database, valid_facility: dict
) -> None:
    headers = key(api_keys, "sports.editor")
    before = count(loaded, "sports_facilities")
    assert before[0] == before[1]
    created = create(client, headers, valid_facility)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    fid = location.rsplit("/", 1)[1]
    assert count(loaded, "sports_facilities") == (before[0] + 1, before[0] + 1)
    body = client.get(location, params={"f": "json"}).json()
    assert body["properties"]["name"] == valid_facility["properties"]["name"]
    assert body["geometry"]["coordinates"] == pytest.approx(list(BISHKEK))
    listed = client.get("/collections/sports_facilities/items", params={"f": "json"}).json()
    assert listed["numberMatched"] == before[0] + 1
    replaced = client.put(
        location,
        json={**valid_facility, "properties": {**valid_facility["properties"], "capacity": 5000}},
        headers={**headers, "If-Match": created.headers["etag"]},
    )
    assert replaced.status_code == 204, replaced.text
    assert replaced.headers["etag"] != created.headers["etag"]
    assert client.get(location, params={"f": "json"}).json()["properties"]["capacity"] == 5000
    deleted = client.delete(location, headers={**headers, "If-Match": replaced.headers["etag"]})
    assert deleted.status_code == 204
    assert client.get(location, params={"f": "json"}).status_code == 404
    assert count(loaded, "sports_facilities") == before
    assert (
        client.delete(f"/collections/sports_facilities/items/{fid}", headers=headers).status_code
        == 404
    )


def test_write_in_kyrg06_is_stored_at_the_right_place(
    client: httpx.Client, api_keys: dict, loaded: Database, valid_facility: dict
) -> None:
    to_7694 = Transformer.from_crs(4326, 7694, always_xy=True)
    x, y = to_7694.transform(*BISHKEK)  # EPSG:7694 axis order is easting, northing
    body = {**valid_facility, "geometry": {"type": "Point", "coordinates": [x, y]}}
    response = create(
        client, key(api_keys, "sports.editor"), body, **{"Content-Crs": f"<{EPSG}7694>"}
    )
    assert response.status_code == 201, response.text
    fid = int(response.headers["location"].rsplit("/", 1)[1])
    with psycopg.connect(loaded.owner_conninfo) as conn:
        row = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM "
            "sports.sports_facilities WHERE id = %s",
            [fid],
        ).fetchone()
    assert row is not None
    assert row[0] == pytest.approx(BISHKEK[0], abs=1e-7)
    assert row[1] == pytest.approx(BISHKEK[1], abs=1e-7)
    assert row[2] == 4326
    # EPSG:4326 is latitude first (OGC API Features Part 2)
    lat_first = {
        **valid_facility,
        "geometry": {"type": "Point", "coordinates": [BISHKEK[1], BISHKEK[0]]},
    }
    second = create(
        client, key(api_keys, "sports.editor"), lat_first, **{"Content-Crs": f"<{EPSG}4326>"}
    )
    assert second.status_code == 201
    stored = client.get(second.headers["location"], params={"f": "json"}).json()
    assert stored["geometry"]["coordinates"] == pytest.approx(list(BISHKEK))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"properties": {"no_such_field": 1}}, "no_such_field"),
        ({"properties": {"capacity": "many"}}, "capacity"),
        ({"properties": {"capacity": -5}}, "capacity"),
        ({"properties": {"facility_type": "casino"}}, "facility_type"),
        ({"properties": {"name": None}}, "name"),
        ({"geometry": {"type": "LineString", "coordinates": [[74, 42], [75, 43]]}}, "geometry"),
        ({"geometry": {"type": "Point", "coordinates": "here"}}, "geometry"),
        ({"geometry": None}, "geometry"),
    ],
)
def test_invalid_features_are_400_naming_the_field(
    client: httpx.Client, api_keys: dict, valid_facility: dict, change: dict, field: str
) -> None:
    body = {**valid_facility, **{k: v for k, v in change.items() if k != "properties"}}
    body["properties"] = {**valid_facility["properties"], **change.get("properties", {})}
    response = create(client, key(api_keys, "sports.editor"), body)
    assert response.status_code == 400, response.text
    assert field in response.json()["detail"]
    assert "Traceback" not in response.text and "SELECT" not in response.text


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/geo+json", 400),
        (b"[]", "application/json", 400),
        (b"<xml/>", "application/xml", 415),
    ],
)
def test_malformed_bodies(
    client: httpx.Client, api_keys: dict, content: bytes, content_type: str, status: int
) -> None:
    response = client.post(
        "/collections/sports_facilities/items",
        content=content,
        headers={**key(api_keys, "sports.editor"), "Content-Type": content_type},
    )
    assert response.status_code == status


def test_unsupported_content_crs_is_400(
    client: httpx.Client, api_keys: dict, valid_facility: dict
) -> None:
    response = create(
        client, key(api_keys, "sports.editor"), valid_facility, **{"Content-Crs": f"<{EPSG}2056>"}
    )
    assert response.status_code == 400 and "Content-Crs" in response.json()["detail"]


def test_stale_if_match_is_412(client: httpx.Client, api_keys: dict, valid_facility: dict) -> None:
    headers = key(api_keys, "sports.editor")
    created = create(client, headers, valid_facility)
    location, first = created.headers["location"], created.headers["etag"]
    patch = {"type": "Feature", "properties": {"capacity": 10}}
    assert (
        client.patch(location, json=patch, headers={**headers, "If-Match": first}).status_code
        == 204
    )
    stale = client.patch(
        location,
        json={"type": "Feature", "properties": {"capacity": 20}},
        headers={**headers, "If-Match": first},
    )
    assert stale.status_code == 412
    assert client.get(location, params={"f": "json"}).json()["properties"]["capacity"] == 10


def test_concurrent_conflicting_updates_one_wins_one_412(
    client: httpx.Client, api_keys: dict, live_server, valid_facility: dict
) -> None:
    headers = key(api_keys, "sports.editor")
    created = create(client, headers, valid_facility)
    location, etag = created.headers["location"], created.headers["etag"]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def update(capacity: int) -> None:
        with live_server.client() as own:
            barrier.wait()
            response = own.patch(
                location,
                json={"type": "Feature", "properties": {"capacity": capacity}},
                headers={**headers, "If-Match": etag},
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=update, args=(c,)) for c in (111, 222)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204, 412]


def test_agency_bound_to_an_oblast_writes_only_inside_it(
    client: httpx.Client, api_keys: dict, loaded: Database
) -> None:
    headers = key(api_keys, "agri.chuy")
    stored = client.get(
        "/collections/agri_plots/items",
        params={"f": "json", "filter": "oblast = 'Chuy'", "limit": 1},
    ).json()["features"][0]
    outside = client.get(
        "/collections/agri_plots/items",
        params={"f": "json", "filter": "oblast = 'Osh'", "limit": 1},
    ).json()["features"][0]
    inside = client.patch(
        f"/collections/agri_plots/items/{stored['id']}",
        json={"type": "Feature", "properties": {"soil_type": "chernozem"}},
        headers=headers,
    )
    assert inside.status_code == 204, inside.text
    refused = client.patch(
        f"/collections/agri_plots/items/{outside['id']}",
        json={"type": "Feature", "properties": {"soil_type": "chernozem"}},
        headers=headers,
    )
    assert refused.status_code == 403
    moved = client.patch(
        f"/collections/agri_plots/items/{stored['id']}",
        json={"type": "Feature", "geometry": outside["geometry"]},
        headers=headers,
    )
    assert moved.status_code == 403
    with psycopg.connect(loaded.owner_conninfo) as conn:
        soil = conn.execute(
            "SELECT soil_type FROM agriculture.agri_plots WHERE id = %s", [outside["id"]]
        ).fetchone()
    assert soil == (outside["properties"]["soil_type"],)


def test_oidc_agency_token_writes_its_theme(
    client: httpx.Client, issuer: LocalIssuer, valid_facility: dict
) -> None:
    token = issuer.token(subject="u-42", preferred_username="aigul", themes=["sports"])
    response = create(client, {"Authorization": f"Bearer {token}"}, valid_facility)
    assert response.status_code == 201, response.text


def test_revoked_key_stops_working(
    client: httpx.Client, loaded: Database, valid_facility: dict
) -> None:
    from geoportal.security import keys

    with psycopg.connect(loaded.owner_conninfo) as conn:
        if not conn.execute("SELECT 1 FROM auth.users WHERE name = 'temp.editor'").fetchone():
            keys.add_user(conn, "temp.editor", "agency", ["sports"], [])
        fresh = keys.create_key(conn, "temp.editor")
        revoked = keys.create_key(conn, "temp.editor")
        keys.revoke_key(conn, revoked.split("_")[1])
    assert create(client, {"X-API-Key": fresh}, valid_facility).status_code == 201
    assert create(client, {"X-API-Key": revoked}, valid_facility).status_code == 401


def test_read_etag_is_the_write_etag_and_304s(
    client: httpx.Client, api_keys: dict, valid_facility: dict
) -> None:
    headers = key(api_keys, "sports.editor")
    created = create(client, headers, valid_facility)
    location = created.headers["location"]
    read = client.get(location, params={"f": "json"})
    assert read.headers["etag"] == created.headers["etag"]
    assert (
        client.get(
            location, params={"f": "json"}, headers={"If-None-Match": read.headers["etag"]}
        ).status_code
        == 304
    )
    updated = client.patch(
        location,
        json={"type": "Feature", "properties": {"capacity": 9}},
        headers={**headers, "If-Match": read.headers["etag"]},
    )
    assert updated.status_code == 204
    assert client.get(location, params={"f": "json"}).headers["etag"] == updated.headers["etag"]


def test_item_etag_in_every_representation_from_one_lookup_at_most(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON (the fast path) selects the tag in its own by-id statement: no extra look-up.
    pygeoapi's representations (HTML, JSON-LD) get it from the middleware's one look-up,
    made after the answer is known to be a 200, and the same tag; both answer 304."""
    from geoportal.server import etags

    lookups: list[int] = []
    real_lookup = etags.item_etag

    async def counted(conn: Any, layer: Any, fid: int) -> str | None:
        lookups.append(fid)
        return await real_lookup(conn, layer, fid)

    monkeypatch.setattr(etags, "item_etag", counted)
    location = "/collections/sports_facilities/items/2"
    tags = {}
    for fmt in ("json", "html", "jsonld"):
        response = client.get(location, params={"f": fmt})
        assert response.status_code == 200
        tags[fmt] = response.headers["etag"]
        again = client.get(location, params={"f": fmt}, headers={"If-None-Match": tags[fmt]})
        assert again.status_code == 304 and again.headers["etag"] == tags[fmt]
        assert again.content == b""
    assert len(set(tags.values())) == 1 and tags["json"].startswith('"')
    assert lookups == [2] * 4  # html and jsonld, each twice; json never
    assert client.get("/collections/sports_facilities/items/999999").status_code == 404
    assert lookups == [2] * 4  # a 404 is not looked up
    stale = client.get(location, params={"f": "json"}, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.headers["etag"] == tags["json"]
