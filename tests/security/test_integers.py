"""Integers exact to 64 bits through the write path (OGC API Features Part 4)."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from geoportal.db.database import Database

MAX64 = 2**63 - 1


@pytest.fixture(scope="module")
def road_work(client: httpx.Client) -> dict[str, Any]:
    """A road work built from a stored one (its `budget_kgs` is a bigint)."""
    stored = client.get("/collections/road_works/items/1", params={"f": "json"})
    assert stored.status_code == 200, stored.text
    body = stored.json()
    return {"type": "Feature", "properties": body["properties"], "geometry": body["geometry"]}


def test_a_64_bit_integer_round_trips_exactly(
    client: httpx.Client, api_keys: dict[str, str], loaded: Database, road_work: dict[str, Any]
) -> None:
    headers = {"X-API-Key": api_keys["roads.editor"]}
    body = {**road_work, "properties": {**road_work["properties"], "budget_kgs": MAX64}}
    created = client.post("/collections/road_works/items", json=body, headers=headers)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    fid = int(location.rsplit("/", 1)[1])
    with psycopg.connect(loaded.owner_conninfo) as conn:
        stored = conn.execute(
            "SELECT budget_kgs FROM roads.road_works WHERE id = %s", [fid]
        ).fetchone()
    assert stored == (MAX64,)
    read = client.get(location, params={"f": "json"})
    assert read.json()["properties"]["budget_kgs"] == MAX64
    assert str(MAX64) in read.text
    patch = {"type": "Feature", "properties": {"budget_kgs": MAX64 - 2}}
    assert client.patch(location, json=patch, headers=headers).status_code == 204
    assert client.get(location, params={"f": "json"}).json()["properties"]["budget_kgs"] == (
        MAX64 - 2
    )
    assert client.delete(location, headers=headers).status_code == 204


@pytest.mark.parametrize("value", [2**63, 2**64 + 5, -(2**63) - 1, 10**30])
def test_an_integer_beyond_64_bits_is_400_naming_the_field(
    client: httpx.Client, api_keys: dict[str, str], loaded: Database, road_work: dict, value: int
) -> None:
    headers = {"X-API-Key": api_keys["roads.editor"]}
    body = {**road_work, "properties": {**road_work["properties"], "budget_kgs": value}}
    with psycopg.connect(loaded.owner_conninfo) as conn:
        before = conn.execute("SELECT count(*) FROM roads.road_works").fetchone()
    response = client.post("/collections/road_works/items", json=body, headers=headers)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "budget_kgs" in detail and "outside the range" in detail
    assert "geometry" not in detail
    with psycopg.connect(loaded.owner_conninfo) as conn:
        assert conn.execute("SELECT count(*) FROM roads.road_works").fetchone() == before
