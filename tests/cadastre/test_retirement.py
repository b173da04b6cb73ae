"""Nothing in the land register is ever deleted (migration 0024): a Part 4 DELETE, a writer's
or the owner's SQL DELETE retires the parcel (it leaves the collection, its versions close in
valid and record time, its code stays taken, as-of queries still find it, a GET of it is 410
pointing to its history), and a load cannot replace the register."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from geoportal.db.database import Database
from ingestion.errors import RegisterReplaceError
from ingestion.load import load_layers
from ingestion.pipeline import LoadRequest, load_file
from ingestion.settings import IngestionSettings
from ingestion.vector import PreparedLayer
from layers.catalogue import Catalogue
from tests.cadastre.conftest import Block
from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Any:
    with live_server.client() as client:
        yield client


def parcel_id(loaded: Database, code: str) -> int:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        row = conn.execute(
            "SELECT id FROM cadastre.cadastre_parcels WHERE cadastral_code = %s", [code]
        ).fetchone()
    assert row is not None, code
    return int(row[0])


def test_part4_delete_retires_with_history_as_of_and_a_410(
    http: httpx.Client, loaded: Database, routes_block: Block, cadastre_keys: dict[str, str]
) -> None:
    code = f"{routes_block.code}-0001"
    fid = parcel_id(loaded, code)
    before = dt.datetime.now(dt.UTC)
    item = f"/collections/cadastre_parcels/items/{fid}"
    etag = http.get(item).headers["ETag"]
    deleted = http.delete(
        item, headers={"X-API-Key": cadastre_keys["cadastre.editor"], "If-Match": etag}
    )
    assert deleted.status_code == 204, deleted.text

    gone = http.get(item)
    assert gone.status_code == 410, gone.text
    problem = gone.json()
    assert "retired" in problem["detail"] and code in problem["detail"]
    assert problem["history"].endswith(f"/cadastre/parcels/{code}/history")
    assert problem["history"] in problem["detail"]
    assert 'rel="version-history"' in gone.headers["Link"]
    listed = http.get("/collections/cadastre_parcels/items", params={"cadastral_code": code})
    assert listed.status_code == 200 and listed.json()["features"] == []
    assert http.get("/collections/cadastre_parcels/items/999999999999").status_code == 404
    again = http.delete(item, headers={"X-API-Key": cadastre_keys["cadastre.editor"]})
    assert again.status_code == 410, again.text  # a write to a retired parcel: gone, not 404
    assert again.json()["history"] == problem["history"] and "Link" in again.headers

    history = http.get(f"/cadastre/parcels/{code}/history").json()
    assert history["register"]["retired_by"] == "retire"
    retired_at = dt.datetime.fromisoformat(history["register"]["retired_at"])
    assert retired_at >= before
    (closing,) = history["versions"]  # as the register knows it now: one version, closed
    assert closing["change"] == "retire" and closing["recorded_to"] is None
    assert dt.datetime.fromisoformat(closing["valid_to"]) == retired_at
    then = http.get(
        f"/cadastre/parcels/{code}/history", params={"recordedAt": before.isoformat()}
    ).json()["versions"]
    assert [v["valid_to"] for v in then] == [None]  # what the register believed before
    as_of = http.get(f"/cadastre/parcels/{code}/history", params={"at": before.isoformat()})
    assert [v["cadastral_code"] for v in as_of.json()["versions"]] == [code]
    later = (retired_at + dt.timedelta(seconds=1)).isoformat()
    assert http.get(f"/cadastre/parcels/{code}/history", params={"at": later}).status_code == 404
    block = f"/cadastre/blocks/{routes_block.code}/parcels"
    codes_then = [
        f["properties"]["cadastral_code"]
        for f in http.get(block, params={"at": before.isoformat()}).json()["features"]
    ]
    codes_now = [
        f["properties"]["cadastral_code"]
        for f in http.get(block, params={"at": later}).json()["features"]
    ]
    assert code in codes_then and code not in codes_now


def writer(conn: psycopg.Connection) -> None:
    """The session settings of a cadastre agency user (row security, oblast guard)."""
    for name, value in (("geoportal.role", "agency"), ("geoportal.themes", "cadastre")):
        conn.execute("SELECT set_config(%s, %s, true)", [name, value])


def test_a_writers_sql_delete_retires_and_cannot_erase(
    loaded: Database, routes_block: Block
) -> None:
    code = f"{routes_block.code}-0002"
    fid = routes_block.parcels[code]
    with psycopg.connect(loaded.agency_conninfo, autocommit=True) as conn:
        with conn.transaction():
            writer(conn)
            conn.execute("SET LOCAL cadastre.erasing = 'on'")  # the owner's switch only
            conn.execute("DELETE FROM cadastre.cadastre_parcels WHERE id = %s", [fid])
        register = conn.execute(
            "SELECT cadastral_code, retired_by, retired_at IS NOT NULL "
            "FROM cadastre.parcel_register WHERE parcel_id = %s",
            [fid],
        ).fetchone()
        changes = conn.execute(
            "SELECT change, valid_to IS NOT NULL, recorded_to IS NOT NULL "
            "FROM cadastre.parcel_versions WHERE parcel_id = %s ORDER BY version_id",
            [fid],
        ).fetchall()
        for statement in (
            "DELETE FROM cadastre.parcel_versions WHERE parcel_id = %s",
            "DELETE FROM cadastre.parcel_register WHERE parcel_id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                writer(conn)
                conn.execute(statement, [fid])
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            writer(conn)
            conn.execute("TRUNCATE cadastre.cadastre_parcels")
    assert register == (code, "retire", True)
    # the first belief closed in record time, the closing record ends in valid time
    assert changes == [("create", False, True), ("retire", True, False)]


def test_the_owners_delete_retires_too_unless_it_resets_the_demo(
    loaded: Database, routes_block: Block
) -> None:
    fid = routes_block.parcels[f"{routes_block.code}-0002"]  # retired above, or current
    with psycopg.connect(loaded.owner_conninfo) as conn, conn.transaction(force_rollback=True):
        conn.execute(
            "INSERT INTO cadastre.cadastre_parcels (cadastral_code, land_category, "
            "designated_use, area_m2, area_national_m2, registered_on, geom) "
            "SELECT cadastral_code || '-x', land_category, designated_use, area_m2, "
            "area_national_m2, registered_on, geom FROM cadastre.parcel_versions "
            "WHERE parcel_id = %s LIMIT 1",
            [fid],
        )
        conn.execute("DELETE FROM cadastre.cadastre_parcels WHERE cadastral_code LIKE '%-x'")
        kept = conn.execute(
            "SELECT retired_by FROM cadastre.parcel_register WHERE cadastral_code LIKE '%-x'"
        ).fetchall()
        assert kept == [("retire",)]
        conn.execute("SET LOCAL cadastre.erasing = 'on'")
        conn.execute(
            "INSERT INTO cadastre.cadastre_parcels (cadastral_code, land_category, "
            "designated_use, area_m2, area_national_m2, registered_on, geom) "
            "SELECT cadastral_code || '-y', land_category, designated_use, area_m2, "
            "area_national_m2, registered_on, geom FROM cadastre.parcel_versions "
            "WHERE parcel_id = %s LIMIT 1",
            [fid],
        )
        conn.execute("DELETE FROM cadastre.cadastre_parcels WHERE cadastral_code LIKE '%-y'")
        erased = conn.execute(
            "SELECT count(*) FROM cadastre.parcel_register WHERE cadastral_code LIKE '%-y'"
        ).fetchone()
        assert erased == (0,)


def test_a_load_cannot_replace_the_register(
    loaded: Database, catalogue: Catalogue, tmp_path: Path
) -> None:
    layer = catalogue.get("cadastre_parcels")
    with pytest.raises(RegisterReplaceError, match="nothing is ever deleted"):
        load_file(
            loaded.owner_conninfo,
            LoadRequest(layer=layer, path=tmp_path / "parcels.gpkg", mode="replace"),
            IngestionSettings(),
        )
    prepared = PreparedLayer(layer, ("id",), [], None, "parcels.gpkg")
    with pytest.raises(RegisterReplaceError, match="land register"):
        load_layers(loaded.owner_conninfo, [prepared])
    with psycopg.connect(loaded.owner_conninfo) as conn:
        left = conn.execute("SELECT count(*) FROM cadastre.cadastre_parcels").fetchone()
    assert left is not None and left[0] > 0
