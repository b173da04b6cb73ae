"""`/jobs` over real HTTP: OGC API Processes status info, ownership, results, dismissal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from geoportal.db.database import Database
from geoportal.job_kinds import job_kinds
from geoportal.security import keys
from geoportal.settings import Settings
from jobs import JobStatus, queue
from tests.support.server import LiveServer

OWNERS = {"jobs.alice": "agency", "jobs.bob": "agency", "jobs.admin": "admin"}


@pytest.fixture(scope="module")
def job_keys(loaded: Database) -> dict[str, str]:
    """An API key per user of these tests."""
    created = {}
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for name, role in OWNERS.items():
            if not conn.execute("SELECT 1 FROM auth.users WHERE name = %s", [name]).fetchone():
                keys.add_user(conn, name, role, ["roads"] if role == "agency" else [], [])
            created[name] = keys.create_key(conn, name, note="jobs tests")
    return created


@pytest.fixture
def jobs_of(queue_conn: psycopg.Connection, settings: Settings) -> Iterator[dict[str, str]]:
    """One job of Alice's, one anonymous, one of Alice's finished with results."""
    kind = job_kinds(settings)["layers.load"]
    alice = queue.submit(queue_conn, kind, {"layer": "roads", "path": "/x"}, owner="jobs.alice")
    anonymous = queue.submit(queue_conn, kind, {"layer": "roads", "path": "/y"}, owner=None)
    done = queue.submit(queue_conn, kind, {"layer": "roads", "path": "/z"}, owner="jobs.alice")
    queue_conn.execute(
        "UPDATE jobs.jobs SET status = 'successful', results = '{\"featureCount\": 7}', "
        "finished = now(), progress = 100 WHERE id = %s",
        [done.id],
    )
    yield {"alice": str(alice.id), "anonymous": str(anonymous.id), "done": str(done.id)}


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


def _as(job_keys: dict[str, str], name: str) -> dict[str, str]:
    return {"X-API-Key": job_keys[name]}


def test_status_info_is_ogc_shaped(http: httpx.Client, job_keys, jobs_of) -> None:
    response = http.get(f"/jobs/{jobs_of['alice']}", headers=_as(job_keys, "jobs.alice"))
    assert response.status_code == 200
    info = response.json()
    assert info["jobID"] == jobs_of["alice"] and info["status"] == "accepted"
    assert info["type"] == "process" and info["processID"] == "layers.load"
    assert {link["rel"] for link in info["links"]} >= {"self"}


def test_someone_else_s_job_is_not_found(http: httpx.Client, job_keys, jobs_of) -> None:
    for headers in (_as(job_keys, "jobs.bob"), {}):
        response = http.get(f"/jobs/{jobs_of['alice']}", headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
    assert http.get(f"/jobs/{jobs_of['alice']}", headers=_as(job_keys, "jobs.admin")).is_success


def test_an_anonymous_job_is_reachable_by_its_id(http: httpx.Client, jobs_of) -> None:
    assert http.get(f"/jobs/{jobs_of['anonymous']}").json()["status"] == "accepted"


@pytest.mark.parametrize("bad", ["not-a-uuid", str(uuid.uuid4()), "%00", "1' OR '1'='1"])
def test_unknown_or_malformed_ids_are_404(http: httpx.Client, bad: str) -> None:
    response = http.get(f"/jobs/{bad}")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_listing_is_per_owner_and_needs_credentials(http, job_keys, jobs_of) -> None:
    assert http.get("/jobs").status_code == 401
    mine = http.get("/jobs", headers=_as(job_keys, "jobs.alice")).json()["jobs"]
    assert {job["jobID"] for job in mine} == {jobs_of["alice"], jobs_of["done"]}
    assert http.get("/jobs", headers=_as(job_keys, "jobs.bob")).json()["jobs"] == []
    every = http.get("/jobs", headers=_as(job_keys, "jobs.admin")).json()["jobs"]
    assert {job["jobID"] for job in every} == set(jobs_of.values())


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=abc", "limit=100000", "status=done", "before=x", "colour=red"]
)
def test_bad_list_parameters_are_400(http, job_keys, query: str) -> None:
    response = http.get(f"/jobs?{query}", headers=_as(job_keys, "jobs.admin"))
    assert response.status_code in (400, 404)
    assert response.json()["detail"]


def test_results_of_a_successful_job_and_not_before(http, job_keys, jobs_of) -> None:
    headers = _as(job_keys, "jobs.alice")
    assert http.get(f"/jobs/{jobs_of['done']}/results", headers=headers).json() == {
        "featureCount": 7
    }
    waiting = http.get(f"/jobs/{jobs_of['alice']}/results", headers=headers)
    assert waiting.status_code == 404 and "not ready" in waiting.json()["detail"]
    info = http.get(f"/jobs/{jobs_of['done']}", headers=headers).json()
    assert any(link["href"].endswith("/results") for link in info["links"])


def test_dismiss(http, job_keys, jobs_of, queue_conn) -> None:
    assert (
        http.delete(f"/jobs/{jobs_of['alice']}", headers=_as(job_keys, "jobs.bob")).status_code
        == 404
    )
    response = http.delete(f"/jobs/{jobs_of['alice']}", headers=_as(job_keys, "jobs.alice"))
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    assert queue.get_job(queue_conn, uuid.UUID(jobs_of["alice"])).status == JobStatus.DISMISSED
    again = http.delete(f"/jobs/{jobs_of['alice']}", headers=_as(job_keys, "jobs.alice"))
    assert again.status_code == 410
    gone = http.get(f"/jobs/{jobs_of['alice']}/results", headers=_as(job_keys, "jobs.alice"))
    assert gone.status_code == 410


def test_a_refused_load_s_report_as_json_and_html(
    http, job_keys, queue_conn, settings: Settings, loaded: Database
) -> None:
    from psycopg.types.json import Jsonb

    from geoportal.job_kinds import run_layer_load
    from jobs import JobFailedError

    bad = str(Path(__file__).parents[1] / "data" / "bad" / "mixed_types.geojson")
    with pytest.raises(JobFailedError) as refused:
        run_layer_load(settings, {"layer": "environment_sensors", "path": bad, "dryRun": True})
    kind = job_kinds(settings)["layers.load"]
    job = queue.submit(
        queue_conn, kind, {"layer": "environment_sensors", "path": bad}, owner="jobs.alice"
    )
    queue_conn.execute(
        "UPDATE jobs.jobs SET status = 'failed', results = %s, message = %s, finished = now() "
        "WHERE id = %s",
        [Jsonb(refused.value.results), str(refused.value), job.id],
    )
    headers = _as(job_keys, "jobs.alice")
    answer = http.get(f"/jobs/{job.id}/results", headers=headers)
    assert answer.status_code == 422
    problems = answer.json()["results"]["report"]["problems"]
    assert [p["code"] for p in problems] == ["geometry_type"]
    page = http.get(f"/jobs/{job.id}/results?f=html", headers=headers)
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "geometry_type" in page.text and "LineString" in page.text
