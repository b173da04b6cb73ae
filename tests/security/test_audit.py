"""The audit trail: written by the database for every write, append-only, read by admins."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from demo.generate import layer_file
from geoportal.db.database import Database
from geoportal.settings import Settings
from ingestion.pipeline import LoadRequest, LoadScope, load_file
from layers.catalogue import Catalogue
from tests.ingestion.loadfiles import LAYER, sensors, write


@pytest.fixture(scope="module")
def edited(client: httpx.Client, api_keys: dict[str, str]) -> tuple[int, dt.datetime]:
    """One facility created, patched and deleted by the sports editor."""
    started = dt.datetime.now(dt.UTC)
    headers = {"X-API-Key": api_keys["sports.editor"]}
    stored = client.get("/collections/sports_facilities/items/2", params={"f": "json"}).json()
    created = client.post(
        "/collections/sports_facilities/items",
        headers=headers,
        json={
            "type": "Feature",
            "properties": stored["properties"],
            "geometry": {"type": "Point", "coordinates": [74.59, 42.87]},
        },
    )
    assert created.status_code == 201
    location = created.headers["location"]
    assert (
        client.patch(
            location, headers=headers, json={"type": "Feature", "properties": {"capacity": 77}}
        ).status_code
        == 204
    )
    assert client.delete(location, headers=headers).status_code == 204
    return int(location.rsplit("/", 1)[1]), started


def test_every_write_is_recorded_with_who_and_what(
    client: httpx.Client, api_keys: dict, edited: tuple[int, dt.datetime]
) -> None:
    fid, started = edited
    response = client.get(
        "/audit",
        headers={"X-API-Key": api_keys["chief.admin"]},
        params={
            "layer": "sports_facilities",
            "user": "sports.editor",
            "since": started.isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    records = [r for r in response.json()["records"] if r["feature_id"] == fid]
    assert [r["operation"] for r in records] == ["DELETE", "UPDATE", "INSERT"]
    delete, update, insert = records
    assert {r["user_role"] for r in records} == {"agency"}
    assert {r["db_role"] for r in records} == {"geoportal_agency"}
    assert insert["before"] is None and insert["after"]["id"] == fid
    assert update["after"]["capacity"] == 77 and update["before"]["capacity"] != 77
    assert delete["after"] is None and delete["before"]["capacity"] == 77


@pytest.mark.parametrize(("user", "status"), [(None, 401), ("sports.editor", 403)])
def test_only_admins_read_the_audit(
    client: httpx.Client, api_keys: dict, user: str | None, status: int
) -> None:
    headers = {"X-API-Key": api_keys[user]} if user else {}
    assert client.get("/audit", headers=headers).status_code == status


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"limit": "0"},
        {"limit": "x"},
        {"until": "2026-13-01"},
        {"colour": "red"},
    ],
)
def test_bad_audit_parameters_are_400(
    client: httpx.Client, api_keys: dict, params: dict[str, str]
) -> None:
    response = client.get("/audit", params=params, headers={"X-API-Key": api_keys["chief.admin"]})
    assert response.status_code == 400


def test_audit_paging(
    client: httpx.Client, api_keys: dict, edited: tuple[int, dt.datetime]
) -> None:
    headers = {"X-API-Key": api_keys["chief.admin"]}
    first = client.get("/audit", params={"limit": 2}, headers=headers).json()
    second = client.get(
        "/audit", params={"limit": 2, "before": first["next"]}, headers=headers
    ).json()
    assert first["numberReturned"] == 2
    assert max(r["id"] for r in second["records"]) < min(r["id"] for r in first["records"])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit.changes SET user_name = 'nobody'",
        "DELETE FROM audit.changes",
        "TRUNCATE audit.changes",
    ],
)
def test_the_audit_is_append_only_even_for_its_owner(
    loaded: Database, statement: str, edited: tuple
) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)


def test_records_cannot_be_forged_or_read_by_other_roles(loaded: Database) -> None:
    with psycopg.connect(loaded.agency_conninfo) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute(
                "INSERT INTO audit.changes (user_name, user_role, db_role, layer_id, "
                "operation) VALUES ('x', 'admin', 'x', 'roads', 'DELETE')"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("UPDATE audit.changes SET user_name = 'x'")
    with psycopg.connect(loaded.public_conninfo) as conn:
        for query in (
            "SELECT * FROM audit.changes",
            "SELECT * FROM auth.api_keys",
            "SELECT * FROM auth.api_key_lookup('000000000000')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(query)


def test_loads_are_recorded_per_statement(loaded: Database) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        rows = conn.execute(
            "SELECT DISTINCT operation FROM audit.changes WHERE layer_id = "
            "'agri_plots' AND db_role = 'geoportal_owner'"
        ).fetchall()
    assert {r[0] for r in rows} >= {"DELETE", "INSERT"}


@pytest.fixture(scope="module")
def file_load(
    loaded: Database, catalogue: Catalogue, settings: Settings, generated: Path, tmp_path_factory
) -> Iterator[tuple[str, dt.datetime, int]]:
    """One upload's load (as its job runs it: a job id, an agency user), then the demo's
    sensors put back: (job id, when it started, how many rows it replaced)."""
    started = dt.datetime.now(dt.UTC)
    job_id = str(uuid.uuid4())
    path = write(sensors(), tmp_path_factory.mktemp("audit"), "gpkg")
    request = LoadRequest(
        layer=catalogue.get(LAYER),
        path=path,
        scope=LoadScope(user="alice", themes=("city",)),
        job_id=job_id,
    )
    outcome = load_file(loaded.owner_conninfo, request, settings.ingestion)
    yield job_id, started, outcome.deleted
    demo = LoadRequest(layer=catalogue.get(LAYER), path=layer_file(generated, LAYER))
    load_file(loaded.owner_conninfo, demo, settings.ingestion)


def test_loads_are_listed_with_their_counts_and_job(
    client: httpx.Client, api_keys: dict, file_load: tuple[str, dt.datetime, int]
) -> None:
    job_id, started, deleted = file_load
    headers = {"X-API-Key": api_keys["chief.admin"]}
    params = {"kind": "loads", "layer": LAYER, "since": started.isoformat()}
    response = client.get("/audit", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "loads" and body["numberReturned"] == 1
    (record,) = body["records"]
    assert (record["user_name"], record["user_role"], record["source_file"]) == (
        "alice",
        "agency",
        "sensors.gpkg",
    )
    assert (record["mode"], record["inserted"], record["updated"]) == ("replace", 3, 0)
    assert record["deleted"] == deleted > 0 and record["job_id"] == job_id
    assert {"rel": "monitor", "href": f"/jobs/{job_id}"} in record["links"]
    earlier = {**params, "since": "2000-01-01T00:00:00Z", "until": started.isoformat()}
    before = client.get("/audit", headers=headers, params=earlier).json()["records"]
    assert record["id"] not in [r["id"] for r in before]  # filtered by time
    other = client.get("/audit", headers=headers, params={**params, "layer": "roads"}).json()
    assert other["records"] == []  # filtered by layer


def test_a_load_says_what_it_changed(
    client: httpx.Client, api_keys: dict, file_load: tuple[str, dt.datetime, int]
) -> None:
    job_id, started, deleted = file_load
    headers = {"X-API-Key": api_keys["chief.admin"]}
    params = {"kind": "loads", "layer": LAYER, "since": started.isoformat()}
    (listed,) = client.get("/audit", headers=headers, params=params).json()["records"]
    href = next(link["href"] for link in listed["links"] if link["rel"] == "self")
    response = client.get(href, headers=headers)
    assert response.status_code == 200, response.text
    load = response.json()
    assert (load["id"], load["inserted"], load["deleted"]) == (listed["id"], 3, deleted)
    assert load["job_id"] == job_id
    operations = [s["operation"] for s in load["statements"]]
    assert "DELETE" in operations and "INSERT" in operations  # replace: out, then in
    assert client.get("/audit/loads/999999999", headers=headers).status_code == 404
    assert client.get("/audit/loads/x", headers=headers).status_code == 404


@pytest.mark.parametrize("path", ["/audit?kind=loads", "/audit/loads/1"])
@pytest.mark.parametrize(("user", "status"), [(None, 401), ("sports.editor", 403)])
def test_only_admins_read_the_loads(
    client: httpx.Client, api_keys: dict, path: str, user: str | None, status: int
) -> None:
    headers = {"X-API-Key": api_keys[user]} if user else {}
    assert client.get(path, headers=headers).status_code == status


def test_an_unknown_kind_is_400(client: httpx.Client, api_keys: dict) -> None:
    headers = {"X-API-Key": api_keys["chief.admin"]}
    response = client.get("/audit", params={"kind": "edits"}, headers=headers)
    assert response.status_code == 400 and "kind" in response.json()["detail"]
