"""`/downloads/{format}` over real HTTP against the demo data: every format read back with
GDAL (pyarrow for GeoParquet) holding exactly the database's features and every public
field, regional extracts, restricted fields absent, bad parameters as 400s, a client that
leaves cancelling its statement, and a large export as a job polled to its file."""

from __future__ import annotations

import csv
import io
import socket
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pyarrow.parquet as pq
import pyogrio
import pytest

from exports.formats import FORMATS
from exports.settings import ExportSettings
from geoportal.data_exports import APPLICATION_NAME
from geoportal.db.database import Database
from geoportal.job_kinds import job_kinds
from geoportal.settings import Settings
from jobs.worker import Worker
from layers.catalogue import Catalogue
from tests.support.server import LiveServer, free_port, start_server

LAYER = "settlements"


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def owner(loaded: Database) -> Iterator[psycopg.Connection]:
    with psycopg.connect(loaded.admin_conninfo(), autocommit=True) as conn:
        yield conn


def db_count(owner: psycopg.Connection, where: str = "TRUE") -> int:
    row = owner.execute(f"SELECT count(*) FROM base.settlements WHERE {where}").fetchone()
    return int(row[0])


def read_back(fmt: str, content: bytes, folder: Path) -> dict[str, tuple[int, set[str]]]:
    """Layer -> (features, field names) of a downloaded file, read by GDAL or pyarrow."""
    extension = "zip" if fmt == "shapefile" else FORMATS[fmt].extension
    path = folder / f"download.{extension}"
    path.write_bytes(content)
    if fmt == "geoparquet":
        table = pq.read_table(path)
        assert b"geo" in (table.schema.metadata or {})
        return {LAYER: (table.num_rows, set(table.column_names) - {"geometry"})}
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
        return {LAYER: (len(rows) - 1, set(rows[0]))}
    if fmt == "shapefile":
        with zipfile.ZipFile(path) as archive:
            archive.extractall(folder)
            names = archive.namelist()
        assert any(n.endswith(".cpg") for n in names) and any(n.endswith(".prj") for n in names)
        assert any(n.endswith("README.txt") for n in names)
        shp = next(folder.rglob("*.shp"))
        info = pyogrio.read_info(shp)
        return {shp.stem: (info["features"], set(info["fields"]))}
    out = {}
    for name, _ in pyogrio.list_layers(path):
        info = pyogrio.read_info(path, layer=name)
        out[name if fmt == "geopackage" else LAYER] = (info["features"], set(info["fields"]))
    return out


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_holds_the_layer(
    http: httpx.Client, owner, catalogue: Catalogue, fmt: str, tmp_path: Path
) -> None:
    response = http.get(f"/downloads/{fmt}", params={"layers": LAYER})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/zip" if fmt == "shapefile" else FORMATS[fmt].media_type.split(";")[0]
    )
    expected = db_count(owner)
    assert int(response.headers["x-feature-count"]) == expected
    layers = read_back(fmt, response.content, tmp_path)
    count, fields = layers[LAYER if fmt != "shapefile" else next(iter(layers))]
    assert count == expected
    public = {f.name for f in catalogue.get(LAYER).public_fields}
    assert public <= fields
    assert fields - public <= {"id", "lon", "lat"}


@pytest.mark.parametrize("fmt", ["geojson", "geopackage", "csv", "geoparquet"])
def test_a_filter_holds_what_the_database_counts(
    http: httpx.Client, owner, fmt: str, tmp_path: Path
) -> None:
    params = {
        "layers": LAYER,
        "filter": "population > 5000 AND name_en LIKE 'K%'",
        "bbox": "69,39,81,44",
    }
    response = http.get(f"/downloads/{fmt}", params=params)
    assert response.status_code == 200, response.text
    expected = db_count(owner, "population > 5000 AND name_en LIKE 'K%'")
    assert 0 < expected < db_count(owner)
    assert read_back(fmt, response.content, tmp_path)[LAYER][0] == expected


def test_a_projected_crs_is_written(http: httpx.Client, owner, tmp_path: Path) -> None:
    response = http.get("/downloads/geopackage", params={"layers": LAYER, "crs": "EPSG:32643"})
    assert response.status_code == 200, response.text
    path = tmp_path / "utm.gpkg"
    path.write_bytes(response.content)
    info = pyogrio.read_info(path, layer=LAYER)
    assert info["crs"] == "EPSG:32643" and info["features"] == db_count(owner)
    assert 0 < info["total_bounds"][0] < 1_000_000  # metres, not degrees


def test_a_regional_extract_holds_every_layer_present(
    http: httpx.Client, owner, catalogue: Catalogue, tmp_path: Path
) -> None:
    row = owner.execute("SELECT id FROM base.oblasts WHERE name_en ILIKE 'Talas%'").fetchone()
    expected = {}
    for layer in catalogue:
        if not layer.has_geometry:
            continue
        count = owner.execute(
            f'SELECT count(*) FROM "{layer.schema_name}"."{layer.table}" AS t, base.oblasts o '
            "WHERE o.id = %s AND ST_Intersects(t.geom, o.geom)",
            [row[0]],
        ).fetchone()[0]
        if count:
            expected[layer.id] = count
    response = http.get("/downloads/geopackage", params={"oblast": "Таласская область"})
    assert response.status_code == 200, response.text
    layers = read_back("geopackage", response.content, tmp_path)
    assert {k: v[0] for k, v in layers.items() if k in catalogue.ids} == expected
    meta = pyogrio.read_dataframe(tmp_path / "download.gpkg", layer="layer_metadata")
    assert set(meta["layer_id"]) == set(expected)
    assert meta[["title_ky", "title_ru", "title_en", "licence", "attribution"]].notna().all().all()
    assert "export_info" in layers


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_restricted_fields_are_absent(
    http: httpx.Client, catalogue: Catalogue, fmt: str, tmp_path: Path
) -> None:
    restricted = {
        f.name for layer in catalogue if layer.restricted for f in layer.restricted.fields
    } | {f.name for layer in catalogue for f in layer.fields if not f.public}
    layers = ["agri_plots", "cadastre_parcels"]
    response = http.get(
        f"/downloads/{fmt}", params={"layers": ",".join(layers), "bbox": "74.5,42.7,74.8,42.95"}
    )
    assert response.status_code == 200, response.text
    if FORMATS[fmt].multi_layer:
        found = read_back(fmt, response.content, tmp_path)
        fields = set().union(*(f for _, f in found.values()))
    else:  # several layers of a one-layer format: a zip of one file per layer
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            names = archive.namelist()
            archive.extractall(tmp_path)
        assert {Path(n).stem for n in names} >= set(layers)
        fields = set()
        for name in names:
            path = tmp_path / name
            if path.suffix == ".parquet":
                fields |= set(pq.read_schema(path).names)
            elif path.suffix in (".fgb", ".shp", ".geojson", ".geojsonl", ".csv"):
                fields |= set(pyogrio.read_info(path)["fields"])
    assert fields and not fields & restricted


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("/downloads/geojson", {"layers": "atlantis"}, "unknown layers"),
        ("/downloads/geojson", {"layers": LAYER, "bbox": "74,42,73"}, "bbox"),
        ("/downloads/geojson", {"layers": LAYER, "bbox": "74,42,73,43"}, "bbox"),
        ("/downloads/geojson", {"layers": LAYER, "oblast": "Atlantis"}, "not an oblast"),
        ("/downloads/geojson", {"layers": LAYER, "rayon": "Atlantis"}, "not a rayon"),
        ("/downloads/geojson", {"layers": LAYER, "crs": "EPSG:2154"}, "unsupported crs"),
        ("/downloads/geojson", {"layers": LAYER, "crs": "nonsense"}, "unsupported crs"),
        ("/downloads/geojson", {"layers": LAYER, "filter": "population >"}, "malformed"),
        ("/downloads/geojson", {"layers": LAYER, "filter": "colour = 'red'"}, "colour"),
        ("/downloads/geojson", {"layers": LAYER, "datetime": "yesterday"}, "datetime"),
        ("/downloads/geojson", {"layers": LAYER, "limit": "5"}, "unknown parameters"),
        ("/downloads/xlsx", {"layers": LAYER}, "unknown format"),
        ("/downloads/geojson", {}, "layers is required"),
        ("/downloads/geojson", {"layers": "agri_plot_seasons", "bbox": "74,42,75,43"}, "geometry"),
    ],
)
def test_bad_parameters_are_400(http: httpx.Client, path: str, params: dict, words: str) -> None:
    response = http.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"]


def test_an_extract_of_an_empty_area_is_404(http: httpx.Client) -> None:
    response = http.get("/downloads/geopackage", params={"bbox": "10,10,10.1,10.1"})
    assert response.status_code == 404
    assert "no public layer has features" in response.json()["detail"]


def _backends(owner: psycopg.Connection) -> list[str]:
    rows = owner.execute(
        "SELECT state FROM pg_stat_activity WHERE application_name = %s", [APPLICATION_NAME]
    ).fetchall()
    return [row[0] for row in rows]


def _until(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize(
    "target",
    ["/downloads/geojson?layers=agri_plots", "/downloads/geopackage?bbox=69,39,81,44"],
)
def test_a_client_that_leaves_cancels_its_export(
    live_server: LiveServer, owner, target: str
) -> None:
    assert _until(lambda: not _backends(owner))  # no export left over
    host, port = live_server.url.removeprefix("http://").split(":")
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # it reads nothing anyway
    client.connect((host, int(port)))
    client.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    busy = {"active", "idle in transaction"}
    assert _until(lambda: bool(busy & set(_backends(owner))))  # the export is under way
    client.close()
    assert _until(lambda: not _backends(owner)), _backends(owner)


def test_a_large_export_is_a_job_polled_to_its_file(
    settings: Settings, loaded: Database, owner, queue_conn, tmp_path: Path
) -> None:
    small = settings.model_copy(
        update={"port": free_port(), "downloads": ExportSettings(max_sync_features=10)}
    )
    with start_server(small) as server, server.client() as http:
        response = http.get("/downloads/geopackage", params={"layers": LAYER})
        assert response.status_code == 202, response.text
        assert "10" in response.json()["message"]
        location = response.headers["location"]
        assert http.get(location).json()["status"] == "accepted"
        worker = Worker(loaded.owner_conninfo, job_kinds(small), small.jobs)
        assert worker.run_once() is not None
        assert _until(lambda: http.get(location).json()["status"] == "successful", 60)
        results = http.get(f"{location}/results").json()
        download = http.get(results["href"])
        assert download.status_code == 200
        layers = read_back("geopackage", download.content, tmp_path)
        assert layers[LAYER][0] == results["featureCount"] == db_count(owner)
