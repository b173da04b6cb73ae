"""`POST /ingest` over real HTTP: an agency's upload becomes a job a worker runs; refusals
(anonymous, another theme, too large, zip bombs, path traversal, too many entries) are clear
4xx problems and leave no file behind."""

from __future__ import annotations

import io
import json
import socket
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pyogrio
import pytest

from demo.generate import layer_file
from geoportal.db.database import Database
from geoportal.job_kinds import job_kinds
from geoportal.security import keys
from geoportal.settings import Settings
from geoportal.uploads import UploadSettings, upload_root
from ingestion.archive import ArchiveLimits
from ingestion.load import load_layers
from ingestion.vector import prepare_layer
from jobs import JobStatus, queue
from jobs.settings import JobSettings
from jobs.worker import Worker
from layers.catalogue import Catalogue
from tests.support.server import LiveServer, free_port, start_server

LIMIT = 300_000
BAD = Path(__file__).parents[1] / "data" / "bad"
LAYER = "environment_sensors"
USERS = {
    "ingest.city": ("agency", ["city"], ["Bishkek City"]),
    "ingest.cities": ("agency", ["city"], []),  # both city twins
    "ingest.roads": ("agency", ["roads"], []),
}
FAST = JobSettings(heartbeat_s=0.2, stale_after_s=1, poll_s=0.2)
SENSORS = [  # real places in Bishkek (lon, lat)
    ("ING-001", 74.6122, 42.8746, "pm2_5", "µg/m³"),  # Ala-Too square
    ("ING-002", 74.5870, 42.8765, "no2", "µg/m³"),  # Osh bazaar
    ("ING-003", 74.6286, 42.8420, "noise_db", "dB(A)"),  # near the Bishkek-2 station
]


@pytest.fixture(scope="module")
def upload_settings(settings: Settings) -> Settings:
    """The session's settings with a small upload limit and few archive entries."""
    uploads = UploadSettings(max_bytes=LIMIT, archive=ArchiveLimits(max_entries=50))
    return settings.model_copy(update={"port": free_port(), "uploads": uploads})


@pytest.fixture(scope="module")
def server(loaded: Database, upload_settings: Settings) -> Iterator[LiveServer]:
    with start_server(upload_settings) as live:
        yield live


@pytest.fixture(scope="module")
def api_keys(loaded: Database) -> dict[str, str]:
    created = {}
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for name, (role, themes, oblasts) in USERS.items():
            if not conn.execute("SELECT 1 FROM auth.users WHERE name = %s", [name]).fetchone():
                keys.add_user(conn, name, role, themes, oblasts)
            created[name] = keys.create_key(conn, name, note="ingest tests")
    return created


@pytest.fixture(scope="module")
def restore_sensors(loaded: Database, catalogue: Catalogue, generated: Path) -> Iterator[None]:
    """The demo's sensors are put back after the module (uploads replace them)."""
    yield
    layer = catalogue.get(LAYER)
    path = layer_file(generated, LAYER)
    load_layers(loaded.owner_conninfo, [prepare_layer(layer, path.parent, path)])


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def _as(api_keys: dict[str, str], name: str) -> dict[str, str]:
    return {"X-API-Key": api_keys[name]}


def _geojson() -> bytes:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "sensor_code": code,
                "city": "Bishkek",
                "parameter": parameter,
                "unit": unit,
                "installed": "2024-05-01",
                "operator": "Bishkek City Hall",
                "status": "active",
                "last_value": None,
                "last_observed_at": None,
            },
        }
        for code, lon, lat, parameter, unit in SENSORS
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_bomb() -> bytes:
    """One entry of 64 MiB of zeros: about 64 KiB compressed, a ratio of about 1,000."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("sensors.geojson", "w") as entry:
            block = bytes(1 << 20)
            for _ in range(64):
                entry.write(block)
    return buffer.getvalue()


def _symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("sensors.shp")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _post(http: httpx.Client, headers: dict[str, str], name: str, body: bytes, **fields: str):
    data = {"layer": LAYER, **fields}
    return http.post("/ingest", headers=headers, data=data, files={"file": (name, body)})


def _uploads(settings: Settings) -> set[str]:
    root = upload_root(settings.data_dir)
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


OUTSIDE_BISHKEK = (
    "NOT ST_CoveredBy(geom, (SELECT geom FROM base.oblasts WHERE name_en = 'Bishkek City'))"
)


def _count(conn: psycopg.Connection, where: str = "true") -> int:
    row = conn.execute(f"SELECT count(*) FROM city.environment_sensors WHERE {where}").fetchone()
    return int(row[0]) if row else -1


def test_an_agency_upload_becomes_a_job_that_loads_the_layer(
    http, api_keys, upload_settings, loaded, queue_conn, restore_sensors
) -> None:
    before = _uploads(upload_settings)
    elsewhere = _count(queue_conn, OUTSIDE_BISHKEK)
    response = _post(http, _as(api_keys, "ingest.city"), "sensors.geojson", _geojson())
    assert response.status_code == 201, response.text
    info = response.json()
    assert response.headers["location"].endswith(f"/jobs/{info['jobID']}")
    assert info["status"] == "accepted" and info["processID"] == "layers.load"
    job = queue.get_job(queue_conn, uuid.UUID(info["jobID"]))
    assert job.owner == "ingest.city" and job.inputs["mode"] == "replace"
    assert job.inputs["scope"] == {
        "user": "ingest.city",
        "themes": ["city"],
        "oblasts": ["Bishkek City"],
    }
    assert Path(job.inputs["path"]).read_bytes() == _geojson()
    done = Worker(loaded.owner_conninfo, job_kinds(upload_settings), FAST).run_once()
    assert done is not None and done.status == JobStatus.SUCCESSFUL, done and done.message
    polled = http.get(response.headers["location"], headers=_as(api_keys, "ingest.city")).json()
    assert polled["status"] == "successful"
    # replace within the user's oblast: Bishkek's sensors are the file's, Osh's stay
    assert _count(queue_conn, "sensor_code LIKE 'ING-%'") == 3
    assert _count(queue_conn) == 3 + elsewhere > 3
    assert not Path(job.inputs["path"]).exists()  # the upload went with its job
    assert _uploads(upload_settings) == before
    change_set = queue_conn.execute(
        "SELECT user_name, source_file, mode, inserted FROM audit.loads WHERE job_id = %s",
        [info["jobID"]],
    ).fetchall()
    assert change_set == [("ingest.city", "sensors.geojson", "replace", 3)]  # names its job


@pytest.fixture
def restore_districts(loaded: Database, catalogue: Catalogue, generated: Path) -> Iterator[None]:
    yield
    path = layer_file(generated, "city_districts")
    layer = catalogue.get("city_districts")
    load_layers(loaded.owner_conninfo, [prepare_layer(layer, path.parent, path)])


def test_a_zipped_shapefile_loads_the_layer(
    http, api_keys, upload_settings, loaded, generated, queue_conn, tmp_path, restore_districts
) -> None:
    districts = pyogrio.read_dataframe(layer_file(generated, "city_districts"))
    districts["population"] += 1  # a visible change; ids kept (buildings reference them)
    pyogrio.write_dataframe(districts, tmp_path / "districts.shp", encoding="UTF-8")
    parts = {p.name: p.read_bytes() for p in tmp_path.glob("districts.*")}
    response = _post(
        http, _as(api_keys, "ingest.cities"), "districts.zip", _zip(parts), layer="city_districts"
    )
    assert response.status_code == 201, response.text
    done = Worker(loaded.owner_conninfo, job_kinds(upload_settings), FAST).run_once()
    assert done is not None and done.status == JobStatus.SUCCESSFUL, done and done.message
    total = queue_conn.execute("SELECT sum(population) FROM city.city_districts").fetchone()
    assert total is not None and total[0] == districts["population"].sum()


def test_a_zipped_shapefile_is_queued_and_dismissal_removes_it(
    http, api_keys, upload_settings, queue_conn
) -> None:
    body = _zip({"sensors.shp": b"\0" * 100, "sensors.dbf": b"\0" * 50, "sensors.prj": b"x"})
    headers = _as(api_keys, "ingest.city")
    response = _post(http, headers, "sensors.zip", body, mode="append", encoding="cp1251")
    assert response.status_code == 201, response.text
    job = queue.get_job(queue_conn, uuid.UUID(response.json()["jobID"]))
    assert job.inputs["path"].endswith("sensors.zip") and job.inputs["encoding"] == "cp1251"
    assert job.inputs["mode"] == "append"
    folder = Path(job.inputs["path"]).parent
    assert http.delete(response.headers["location"], headers=headers).status_code == 200
    assert folder.exists()  # a dismissed job that never ran: swept at the next upload
    _post(http, _as(api_keys, "ingest.roads"), "x.geojson", _geojson())  # 403, but sweeps
    assert not folder.exists()


def test_anonymous_uploads_are_401(http, upload_settings) -> None:
    before = _uploads(upload_settings)
    response = _post(http, {}, "sensors.geojson", _geojson())
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _uploads(upload_settings) == before


def test_another_theme_s_layer_is_403_naming_why(http, api_keys, upload_settings) -> None:
    before = _uploads(upload_settings)
    response = _post(http, _as(api_keys, "ingest.roads"), "sensors.geojson", _geojson())
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "city theme" in detail and "roads" in detail and LAYER in detail
    assert _uploads(upload_settings) == before


def _raw_post(server: LiveServer, head: str, body_chunks: list[bytes]) -> bytes:
    """Send a request by hand (to control what is sent) and return the answer's bytes."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode())
        for chunk in body_chunks:
            sock.sendall(chunk)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return answer


def test_a_declared_body_over_the_limit_is_413_before_it_is_sent(server, api_keys) -> None:
    head = (
        "POST /ingest HTTP/1.1\r\nHost: x\r\n"
        f"X-API-Key: {api_keys['ingest.city']}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {10 * 1024**3}\r\n\r\n"
    )
    answer = _raw_post(server, head, [])  # not one byte of the 10 GB body is sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_streamed_body_over_the_limit_is_413_and_leaves_nothing(
    server, api_keys, upload_settings
) -> None:
    before = _uploads(upload_settings)
    start = (
        '--b\r\nContent-Disposition: form-data; name="layer"\r\n\r\n'
        f"{LAYER}\r\n"
        '--b\r\nContent-Disposition: form-data; name="file"; filename="big.geojson"\r\n\r\n'
    ).encode()
    chunks = [start, *[b" " * 65536 for _ in range(6)]]  # 384 KiB > 300 KB, no end
    head = (
        "POST /ingest HTTP/1.1\r\nHost: x\r\n"
        f"X-API-Key: {api_keys['ingest.city']}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    framed = [f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks]
    answer = _raw_post(server, head, framed)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert _uploads(upload_settings) == before


@pytest.mark.parametrize(
    ("name", "body", "status", "words"),
    [
        ("bomb.zip", _zip_bomb(), 413, "expands"),
        ("traversal.zip", _zip({"../../evil.geojson": b"{}"}), 400, "climbs out"),
        ("absolute.zip", _zip({"/etc/cron.d/evil": b"x"}), 400, "absolute path"),
        ("link.zip", _symlink_zip(), 400, "symbolic link"),
        ("many.zip", _zip({f"part{i}.txt": b"x" for i in range(60)}), 413, "60 entries"),
        ("hidden_zip.gpkg", _zip_bomb(), 413, "expands"),  # a zip whatever its name
        ("broken.zip", b"PK\x03\x04 not really a zip", 400, "not a readable zip"),
        ("lying_sizes.zip", (BAD / "lying_sizes.zip").read_bytes(), 413, "declares 1000"),
        ("lying_name.zip", (BAD / "lying_name.zip").read_bytes(), 400, "in its local header"),
        ("empty.geojson", b"", 400, "empty"),
        ("program.exe", b"MZ\x90\x00", 415, "not a format"),
    ],
)
def test_bad_files_are_4xx_naming_the_problem(
    http, api_keys, upload_settings, name, body, status, words
) -> None:
    before = _uploads(upload_settings)
    response = _post(http, _as(api_keys, "ingest.city"), name, body)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert _uploads(upload_settings) == before


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"mode": "merge"}, 400, "mode"),
        ({"layer": "no_such_layer"}, 404, "no_such_layer"),
        ({"skipInvalid": "maybe"}, 400, "skipInvalid"),
        ({"mapping": "[1, 2]"}, 400, "mapping"),
        ({"encoding": "klingon"}, 400, "encoding"),
        ({"colour": "red"}, 400, "colour"),
    ],
)
def test_bad_fields_are_4xx_naming_the_field(http, api_keys, fields, status, words) -> None:
    response = _post(http, _as(api_keys, "ingest.city"), "s.geojson", _geojson(), **fields)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


def test_a_body_that_is_not_a_form_is_415(http, api_keys) -> None:
    response = http.post("/ingest", headers=_as(api_keys, "ingest.city"), content=_geojson())
    assert response.status_code == 415
