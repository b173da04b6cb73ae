"""`geoportal export`: a file of public layers of an area, with a progress bar."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyogrio

from geoportal.db.database import Database
from geoportal.settings import Settings
from tests.cli.test_cli import geoportal


def test_export_writes_a_geopackage(loaded: Database, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "talas.gpkg"
    result = geoportal(
        "export", "--layers", "settlements,roads", "--oblast", "Talas", str(out), settings=settings
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and "exporting" in result.stderr
    with psycopg.connect(loaded.admin_conninfo()) as conn:
        for layer, table in (("settlements", "base.settlements"), ("roads", "roads.roads")):
            row = conn.execute(
                f"SELECT count(*) FROM {table} t, base.oblasts o "
                "WHERE o.name_en ILIKE 'Talas%%' AND ST_Intersects(t.geom, o.geom)"
            ).fetchone()
            assert pyogrio.read_info(out, layer=layer)["features"] == row[0] > 0


def test_export_errors_are_one_clear_line(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "x.gpkg"
    result = geoportal(
        "export", "--layers", "roads", "--oblast", "Atlantis", str(out), settings=settings
    )
    assert result.returncode == 1
    assert "not an oblast" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
