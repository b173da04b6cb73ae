"""The analyses through OGC API Processes over real HTTP, run by a real `geoportal worker`:
listed and described, executed synchronously and asynchronously, bad inputs a 400 naming
the input, and a refused acceptance through the features write path a 409."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from owslib.ogcapi.processes import Processes

from analyses import PROCESSES
from geoportal.db.database import Database
from geoportal.settings import Settings
from tests.jobs.conftest import stop_worker, worker_process
from tests.support.oidc import LocalIssuer
from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def worker(loaded: Database, settings: Settings) -> Iterator[None]:
    """One `geoportal worker` process for this module's executions."""
    process = worker_process(settings)
    yield
    stop_worker(process)


def _zone(loaded: Database) -> int:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        row = conn.execute(
            "SELECT id FROM disaster.hazard_zones ORDER BY ST_Area(geom) DESC LIMIT 1"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _wait_done(client: httpx.Client, location: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.get(location).json()
        if status["status"] in ("successful", "failed", "dismissed"):
            return status
        assert time.monotonic() < deadline, f"job still {status['status']}"
        time.sleep(0.1)


def test_processes_are_listed_and_described(client: httpx.Client) -> None:
    listing = client.get("/processes", params={"f": "json"})
    assert listing.status_code == 200
    assert [p["id"] for p in listing.json()["processes"]] == list(PROCESSES)
    for process_id, process in PROCESSES.items():
        described = client.get(f"/processes/{process_id}", params={"f": "json"}).json()
        assert set(described["inputs"]) == set(process.description["inputs"])
        assert set(described["outputs"]) == set(process.description["outputs"])
        assert "async-execute" in described["jobControlOptions"]


def test_conformance_names_processes_without_callbacks(client: httpx.Client) -> None:
    classes = client.get("/conformance", params={"f": "json"}).json()["conformsTo"]
    processes = [c for c in classes if "/ogcapi-processes-1/" in c]
    assert any(c.endswith("/conf/core") for c in processes)
    assert not any(c.endswith("/conf/callback") for c in processes)


def test_every_process_is_in_the_openapi_document(client: httpx.Client) -> None:
    paths = client.get("/openapi", params={"f": "json"}).json()["paths"]
    assert "get" in paths["/processes"]
    for process_id, process in PROCESSES.items():
        assert "get" in paths[f"/processes/{process_id}"]
        execute = paths[f"/processes/{process_id}/execution"]["post"]
        body = execute["requestBody"]["content"]["application/json"]["schema"]
        assert set(body["properties"]["inputs"]["properties"]) == set(process.description["inputs"])
        assert {"200", "201", "400"} <= set(execute["responses"])


def test_a_synchronous_execution_answers_the_results(client: httpx.Client, worker: None) -> None:
    answer = client.post("/processes/road-works-acceptance/execution", json={"inputs": {}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["check"]["checkedWorks"] > 0
    assert answer.headers["Location"].rsplit("/", 2)[-2] == "jobs"


def test_an_asynchronous_execution_is_a_job(
    client: httpx.Client, worker: None, loaded: Database
) -> None:
    answer = client.post(
        "/processes/hazard-exposure/execution",
        json={"inputs": {"hazardZoneId": _zone(loaded)}},
        headers={"Prefer": "respond-async"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["Preference-Applied"] == "respond-async"
    location = answer.headers["Location"]
    assert location.startswith(f"{client.base_url}/jobs/".rstrip("/"))
    assert answer.json()["status"] == "accepted"
    status = _wait_done(client, location)
    assert status["status"] == "successful" and status["processID"] == "hazard-exposure"
    results = client.get(f"{location}/results").json()
    assert results["features"]["type"] == "FeatureCollection"
    assert results["exposure"]["byRayon"]


def test_outputs_can_be_chosen(client: httpx.Client, worker: None, loaded: Database) -> None:
    answer = client.post(
        "/processes/hazard-exposure/execution",
        json={"inputs": {"hazardZoneId": _zone(loaded)}, "outputs": {"exposure": {}}},
    )
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"exposure"}


@pytest.mark.parametrize(
    ("process_id", "inputs", "named"),
    [
        ("hazard-exposure", {"hazardType": "tsunami"}, "hazardType"),
        ("hazard-exposure", {"hazardZoneId": 999_999_999}, "hazardZoneId"),  # found by the worker
        ("road-maintenance-plan", {"budgetKgs": -1}, "budgetKgs"),
        ("road-maintenance-plan", {"budgetKgs": 1e6, "unitCosts": {"x": {}}}, "unitCosts"),
        ("road-works-acceptance", {"workIds": "all"}, "workIds"),
        ("irrigation-demand", {"canalId": 1, "month": "2026-6x", "et0MmPerDay": 5}, "month"),
        (
            "irrigation-demand",
            {"canalId": 999_999_999, "month": "2026-06", "et0MmPerDay": 5},
            "canalId",
        ),
    ],
)
def test_bad_inputs_are_a_400_naming_the_input(
    client: httpx.Client, worker: None, process_id: str, inputs: dict[str, Any], named: str
) -> None:
    answer = client.post(f"/processes/{process_id}/execution", json={"inputs": inputs})
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert named in answer.json()["detail"]


def test_owslib_lists_and_executes(live_server: LiveServer, worker: None) -> None:
    client = Processes(live_server.url)
    assert {p["id"] for p in client.processes()} == set(PROCESSES)
    assert "budgetKgs" in client.process("road-maintenance-plan")["inputs"]
    answer = client.execute("road-works-acceptance", inputs={"workIds": [1, 2, 3]})
    assert answer["outputs"]["check"]["checkedWorks"] <= 3


def test_an_unknown_process_is_a_404(client: httpx.Client) -> None:
    answer = client.post("/processes/nothing/execution", json={"inputs": {}})
    assert answer.status_code == 404


def test_the_api_refuses_an_acceptance_before_the_survey(
    client: httpx.Client, loaded: Database, issuer: LocalIssuer
) -> None:
    end = dt.date(2025, 6, 1)
    with psycopg.connect(loaded.owner_conninfo, autocommit=True) as conn:
        segment, number, survey = conn.execute(
            "SELECT id, road_number, last_survey FROM roads.roads r WHERE NOT EXISTS "
            "(SELECT FROM roads.road_works w WHERE w.road_number = r.road_number) "
            "ORDER BY id LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE roads.roads SET last_survey = %s WHERE id = %s", [end, segment])
        work = conn.execute(
            "INSERT INTO roads.road_works (road_id, road_number, work_type, start_date, "
            "end_date, contractor, budget_kgs, status, length_km, geom) SELECT id, road_number, "
            "'resurfacing', %s, %s, 'test', 1000000, 'completed', length_km, geom "
            "FROM roads.roads WHERE id = %s RETURNING id",
            [end - dt.timedelta(days=30), end + dt.timedelta(days=1), segment],
        ).fetchone()[0]
    try:
        headers = {"Authorization": f"Bearer {issuer.token(themes=['roads'])}"}
        item = f"/collections/road_works/items/{work}"
        etag = client.get(item, params={"f": "json"}).headers["ETag"]
        patch = {"type": "Feature", "properties": {"acceptance_date": "2025-06-10"}}
        refused = client.patch(item, json=patch, headers={**headers, "If-Match": etag})
        assert refused.status_code == 409, refused.text
        assert f"segment {segment}" in refused.json()["detail"]
        with psycopg.connect(loaded.owner_conninfo, autocommit=True) as conn:
            conn.execute(
                "UPDATE roads.roads SET last_survey = %s WHERE id = %s",
                [end + dt.timedelta(days=3), segment],
            )
        etag = client.get(item, params={"f": "json"}).headers["ETag"]
        accepted = client.patch(item, json=patch, headers={**headers, "If-Match": etag})
        assert accepted.status_code in (200, 204), accepted.text
    finally:
        with psycopg.connect(loaded.owner_conninfo, autocommit=True) as conn:
            conn.execute("DELETE FROM roads.road_works WHERE id = %s", [work])
            conn.execute("UPDATE roads.roads SET last_survey = %s WHERE id = %s", [survey, segment])
