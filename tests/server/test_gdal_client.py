"""GDAL as a real OGC API Features client of the running server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pyogrio

from geoportal.db.database import Database
from tests.support.server import LiveServer


def _run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ogrinfo_lists_the_collections(live_server: LiveServer, catalogue) -> None:
    out = _run("ogrinfo", "-ro", "-so", "-q", f"OAPIF:{live_server.url}")
    for layer_id in catalogue.ids:
        assert layer_id in out


def test_ogr2ogr_downloads_the_oblasts(
    live_server: LiveServer, loaded: Database, tmp_path: Path
) -> None:
    target = tmp_path / "oblasts.gpkg"
    _run("ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{live_server.url}", "oblasts")
    with psycopg.connect(loaded.public_conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM base.oblasts").fetchone()
    info = pyogrio.read_info(target)
    assert row is not None and info["features"] == row[0] == 8
    assert info["geometry_type"] in ("MultiPolygon", "Polygon")
