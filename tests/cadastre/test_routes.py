"""The `/cadastre/...` routes over real HTTP: split and merge with lineage and history (as of
before and after), Part 4 writes of parcels (retire, concurrent edits), plans read back with
pypdf (QR decoded from the PDF's image), verification (valid, tampered, forged, superseded),
and who reads rights."""

from __future__ import annotations

import io
import threading
from typing import Any

import httpx
import psycopg
import pytest
import shapely
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from pypdf import PdfReader

from cadastre.signing import sign_facts
from geoportal.db.database import Database
from tests.cadastre.conftest import PIN, Block, box
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("routes_block")


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Any:
    with live_server.client() as client:
        yield client


def auth(keys: dict[str, str], name: str = "cadastre.editor") -> dict[str, str]:
    return {"X-API-Key": keys[name]}


def feature_id(loaded: Database, code: str) -> int:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        row = conn.execute(
            "SELECT id FROM cadastre.cadastre_parcels WHERE cadastral_code = %s", [code]
        ).fetchone()
    assert row is not None, code
    return int(row[0])


def line(block: Block, x: float) -> dict[str, Any]:
    """A north-south line at local x, across the whole block."""
    geom = box(x, -10, x + 0.001, 210, block.origin).exterior
    start, end = geom.coords[0], geom.coords[2]
    return {"type": "LineString", "coordinates": [list(start), list(end)]}


def qr_url(pdf: bytes) -> str:
    """The URL in the plan's QR code, decoded from the image inside the PDF."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    for image in page.images:
        found = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)).convert("L"))
        if found:
            return found[0].text
    raise AssertionError("no QR code in the plan")


def test_split_records_lineage_and_history(
    http: httpx.Client, routes_block: Block, cadastre_keys: dict[str, str]
) -> None:
    parent = f"{routes_block.code}-0001"
    answer = http.post(
        f"/cadastre/parcels/{parent}/split",
        json={"line": line(routes_block, 40), "validFrom": "2024-03-01T10:00:00+06:00"},
        headers=auth(cadastre_keys),
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["retired"] == [parent]
    assert body["created"] == [f"{routes_block.code}-0003", f"{routes_block.code}-0004"]
    history = http.get(f"/cadastre/parcels/{parent}/history").json()
    assert history["register"]["retired_by"] == "split"
    assert [c["cadastral_code"] for c in history["children"]] == body["created"]
    before = http.get(f"/cadastre/parcels/{parent}/history", params={"at": "2023-01-01"})
    assert before.status_code == 200 and len(before.json()["versions"]) == 1
    assert before.json()["versions"][0]["area_m2"] == pytest.approx(10000, rel=0.01)
    after = http.get(f"/cadastre/parcels/{parent}/history", params={"at": "2024-06-01"})
    assert after.status_code == 404
    child = http.get(f"/cadastre/parcels/{body['created'][0]}/history").json()
    assert [p["cadastral_code"] for p in child["parents"]] == [parent]
    areas = sorted(
        v["area_national_m2"]
        for v in [
            http.get(f"/cadastre/parcels/{c}/history").json()["versions"][0]
            for c in body["created"]
        ]
    )
    assert areas == pytest.approx([4000, 6000], abs=1)
    # as recorded before the split, the parent was still valid in June 2024
    recorded = http.get(
        f"/cadastre/parcels/{parent}/history",
        params={"at": "2024-06-01", "recordedAt": "2020-01-01T00:00:00+00:00"},
    )
    assert recorded.status_code == 404  # the register did not know the parcel in 2020 either


def test_block_as_of_and_zone_changes(http: httpx.Client, routes_block: Block) -> None:
    old = http.get(f"/cadastre/blocks/{routes_block.code}/parcels", params={"at": "2023-01-01"})
    assert old.status_code == 200
    codes = sorted(f["properties"]["cadastral_code"] for f in old.json()["features"])
    assert codes == [f"{routes_block.code}-0001", f"{routes_block.code}-0002"]
    zone = routes_block.code.rsplit("-", 1)[0]
    changes = http.get(
        f"/cadastre/zones/{zone}/changes",
        params={"since": "2024-01-01", "until": "2025-01-01"},
    ).json()["changes"]
    events = {(c["cadastral_code"], c["event"]) for c in changes}
    assert (f"{routes_block.code}-0001", "ended") in events
    assert (f"{routes_block.code}-0003", "began") in events


def test_block_topology_report(http: httpx.Client, routes_block: Block) -> None:
    report = http.get(f"/cadastre/blocks/{routes_block.code}/topology")
    assert report.status_code == 200
    assert {p["rule"] for p in report.json()["problems"]} <= {"gap"}
    assert http.get("/cadastre/blocks/5-99-99-0001/topology").status_code == 404


def test_merge_of_adjacent_parcels(
    http: httpx.Client, routes_block: Block, cadastre_keys: dict[str, str]
) -> None:
    parents = [f"{routes_block.code}-0003", f"{routes_block.code}-0004"]
    answer = http.post(
        "/cadastre/parcels/merge", json={"parcels": parents}, headers=auth(cadastre_keys)
    )
    assert answer.status_code == 201, answer.text
    (merged,) = answer.json()["created"]
    assert merged == f"{routes_block.code}-0005"  # numbers are never reused
    history = http.get(f"/cadastre/parcels/{merged}/history").json()
    assert sorted(p["cadastral_code"] for p in history["parents"]) == parents
    assert history["versions"][0]["area_national_m2"] == pytest.approx(10000, abs=1)


def test_a_split_that_breaks_rules_is_a_422_naming_each_problem(
    http: httpx.Client, routes_block: Block, cadastre_keys: dict[str, str]
) -> None:
    code = f"{routes_block.code}-0002"
    parts = [  # the second part overlaps the first by 1 m and leaves a 1 m gap at the east
        shapely.geometry.mapping(box(100, 0, 150, 100, routes_block.origin)),
        shapely.geometry.mapping(box(149, 0, 199, 100, routes_block.origin)),
    ]
    answer = http.post(
        f"/cadastre/parcels/{code}/split", json={"parts": parts}, headers=auth(cadastre_keys)
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problems = answer.json()["problems"]
    assert {p["rule"] for p in problems} == {"overlap", "gap"}
    assert all(p["where"]["type"] == "Point" for p in problems)
    assert http.get(f"/cadastre/parcels/{code}/history").json()["register"]["retired_at"] is None


def test_writes_need_the_cadastre_theme(
    http: httpx.Client, routes_block: Block, cadastre_keys: dict[str, str]
) -> None:
    url = f"/cadastre/parcels/{routes_block.code}-0002/split"
    assert http.post(url, json={"line": line(routes_block, 150)}).status_code == 401
    other = http.post(
        url, json={"line": line(routes_block, 150)}, headers=auth(cadastre_keys, "roads.reader")
    )
    assert other.status_code == 403


def test_concurrent_edits_one_wins_one_412(
    http: httpx.Client, loaded: Database, routes_block: Block, cadastre_keys: dict[str, str]
) -> None:
    fid = feature_id(loaded, f"{routes_block.code}-0002")
    url = f"/collections/cadastre_parcels/items/{fid}"
    etag = http.get(url).headers["ETag"]
    statuses: list[int] = []

    def edit(use: str) -> None:
        with httpx.Client(base_url=str(http.base_url), timeout=60) as client:
            answer = client.patch(
                url,
                json={"type": "Feature", "properties": {"designated_use": use}},
                headers={
                    **auth(cadastre_keys),
                    "If-Match": etag,
                    "Content-Type": "application/merge-patch+json",
                },
            )
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=edit, args=(u,)) for u in ("commercial", "mixed_use")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [204, 412]
    versions = http.get(f"/cadastre/parcels/{routes_block.code}-0002/history").json()["versions"]
    assert versions[-1]["designated_use"] in ("commercial", "mixed_use")
    assert versions[0]["designated_use"] == "individual_housing" and versions[0]["valid_to"]


def test_plan_pdf_qr_and_verification(
    http: httpx.Client, routes_block: Block, cadastre_keys: dict[str, str]
) -> None:
    code = f"{routes_block.code}-0002"
    answer = http.get(f"/cadastre/parcels/{code}/plan")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
    assert code in text and "10,000" in text and "EPSG:7693" in text
    assert "not shown" in text and "Асанова" not in text
    url = qr_url(answer.content)
    assert "/cadastre/verify/" in url
    token = url.rsplit("/", 1)[1]
    valid = http.get(f"/cadastre/verify/{token}").json()
    assert valid["status"] == "current" and valid["facts"]["cadastralCode"] == code
    body, signature = token.split(".")
    tampered = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + signature
    assert http.get(f"/cadastre/verify/{tampered}").status_code == 400
    forged = sign_facts(Ed25519PrivateKey.generate(), {"c": code, "p": 1, "v": 1})
    assert http.get(f"/cadastre/verify/{forged}").status_code == 400
    page = http.get(f"/cadastre/parcels/{code}/plan", params={"f": "html"})
    assert page.status_code == 200 and code in page.text and "/cadastre/verify/" in page.text
    # the cadastre agency sees the rights on its plan; a roads agency does not
    own = http.get(f"/cadastre/parcels/{code}/plan", headers=auth(cadastre_keys))
    assert "Асанова" in PdfReader(io.BytesIO(own.content)).pages[0].extract_text()
    roads = http.get(f"/cadastre/parcels/{code}/plan", headers=auth(cadastre_keys, "roads.reader"))
    assert "Асанова" not in PdfReader(io.BytesIO(roads.content)).pages[0].extract_text()
    # split it: the plan's token now says superseded, naming the successors
    split = http.post(
        f"/cadastre/parcels/{code}/split",
        json={"line": line(routes_block, 150)},
        headers=auth(cadastre_keys),
    )
    assert split.status_code == 201, split.text
    later = http.get(f"/cadastre/verify/{token}").json()
    assert later["status"] == "superseded"
    assert later["successors"] == split.json()["created"]
    assert http.get(f"/cadastre/parcels/{code}/plan").status_code == 404


def test_part4_delete_retires_and_codes_are_never_reused(
    http: httpx.Client, loaded: Database, routes_block: Block, cadastre_keys: dict[str, str]
) -> None:
    code = f"{routes_block.code}-0005"
    fid = feature_id(loaded, code)
    assert (
        http.delete(
            f"/collections/cadastre_parcels/items/{fid}", headers=auth(cadastre_keys)
        ).status_code
        == 204
    )
    history = http.get(f"/cadastre/parcels/{code}/history").json()
    assert history["register"]["retired_by"] == "retire" and history["versions"]
    with psycopg.connect(loaded.owner_conninfo) as conn:
        held = conn.execute(
            "SELECT count(*) FROM restricted.cadastre_right_holders WHERE feature_id = %s", [fid]
        ).fetchone()
    assert held == (1,)  # rights stay with the retired parcel
    again = http.post(
        "/collections/cadastre_parcels/items",
        json={
            "type": "Feature",
            "geometry": shapely.geometry.mapping(box(0, 0, 100, 100, routes_block.origin)),
            "properties": {
                "cadastral_code": code,
                "land_category": "settlements",
                "designated_use": "individual_housing",
                "area_m2": 1,
                "registered_on": "2025-01-01",
            },
        },
        headers={**auth(cadastre_keys), "Content-Type": "application/geo+json"},
    )
    assert again.status_code == 409, again.text
    fresh = http.post(
        "/collections/cadastre_parcels/items",
        json={
            "type": "Feature",
            "geometry": shapely.geometry.mapping(box(0, 100, 100, 200, routes_block.origin)),
            "properties": {
                "cadastral_code": f"{routes_block.code}-0100",
                "land_category": "settlements",
                "designated_use": "individual_housing",
                "area_m2": 1,
                "registered_on": "2025-01-01",
            },
        },
        headers={**auth(cadastre_keys), "Content-Type": "application/geo+json"},
    )
    assert fresh.status_code == 201, fresh.text
    (version,) = http.get(f"/cadastre/parcels/{routes_block.code}-0100/history").json()["versions"]
    assert version["area_m2"] == pytest.approx(10_000, rel=0.01)  # computed by the database
    assert version["area_national_m2"] == pytest.approx(10_000, abs=1)
    overlapping = http.post(
        "/collections/cadastre_parcels/items",
        json={
            "type": "Feature",
            "geometry": shapely.geometry.mapping(box(50, 150, 150, 200, routes_block.origin)),
            "properties": {
                "cadastral_code": f"{routes_block.code}-0101",
                "land_category": "settlements",
                "designated_use": "individual_housing",
                "area_m2": 1,
                "registered_on": "2025-01-01",
            },
        },
        headers={**auth(cadastre_keys), "Content-Type": "application/geo+json"},
    )
    assert overlapping.status_code == 422, overlapping.text
    assert [p["other"] for p in overlapping.json()["problems"]] == [f"{routes_block.code}-0100"]


@pytest.mark.parametrize(
    ("themes", "role", "reads"),
    [("roads", "agency", False), ("cadastre", "agency", True), ("", "admin", True)],
)
def test_rights_are_read_by_the_cadastre_theme_only_in_the_database(
    loaded: Database, routes_block: Block, themes: str, role: str, reads: bool
) -> None:
    with psycopg.connect(loaded.agency_conninfo) as conn, conn.transaction():
        for name, value in (("geoportal.role", role), ("geoportal.themes", themes)):
            conn.execute("SELECT set_config(%s, %s, true)", [name, value])
        for table in ("cadastre_right_holders", "cadastre_encumbrances", "cadastre_documents"):
            conn.execute(f"SELECT count(*) FROM restricted.{table}")  # noqa: S608 (fixed names)
        seen = conn.execute(
            "SELECT count(*) FROM restricted.cadastre_right_holders WHERE holder_pin = %s", [PIN]
        ).fetchone()
    assert (seen[0] > 0) is reads


def test_the_as_of_queries_are_in_the_openapi_document(http: httpx.Client) -> None:
    paths = http.get("/openapi", params={"f": "json"}).json()["paths"]
    history = paths["/cadastre/parcels/{code}/history"]["get"]
    assert {p["name"] for p in history["parameters"]} >= {"at", "recordedAt"}
    assert "/cadastre/blocks/{code}/parcels" in paths and "/cadastre/zones/{code}/changes" in paths
