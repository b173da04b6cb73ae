"""`geoportal layers load` with its options, as an operator runs it."""

from __future__ import annotations

import json
from pathlib import Path

from geoportal.db.database import Database
from geoportal.settings import Settings
from tests.cli.test_cli import geoportal
from tests.ingestion.loadfiles import sensors, zipped_shapefile

BAD = Path(__file__).parents[1] / "data" / "bad"


def test_a_dry_run_with_a_mapping_and_an_html_report(
    loaded: Database, settings: Settings, tmp_path: Path
) -> None:
    path = zipped_shapefile(sensors(), tmp_path / "sensors.zip", encoding="cp1251", drop=(".cpg",))
    mapping = tmp_path / "map.yaml"
    mapping.write_text("sensor_code: sensor_cod\nstatus: {column: status, default: active}\n")
    report = tmp_path / "report.html"
    result = geoportal(
        "layers", "load", "environment_sensors", str(path), "--mode", "upsert",
        "--mapping", str(mapping), "--encoding", "CP1251", "--dry-run",
        "--report", str(report), settings=settings,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "would load environment_sensors (upsert)" in result.stdout
    assert report.read_text("utf-8").startswith("<!doctype html>")


def test_a_refused_file_lists_every_problem_and_exits_1(
    loaded: Database, settings: Settings, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    result = geoportal(
        "layers", "load", "environment_sensors", str(BAD / "bad_values.geojson"),
        "--report", str(report), settings=settings,
    )  # fmt: skip
    assert result.returncode == 1 and "error:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for code in ("type", "enum", "required", "duplicate_key"):
        assert code in result.stdout
    codes = {p["code"] for p in json.loads(report.read_text("utf-8"))["problems"]}
    assert codes == {"type", "enum", "required", "duplicate_key"}


def test_a_zip_whose_directory_understates_its_size_is_refused(
    loaded: Database, settings: Settings
) -> None:
    result = geoportal(
        "layers", "load", "environment_sensors", str(BAD / "lying_sizes.zip"), settings=settings
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    assert "expands more than 100 times" in result.stderr
    assert "declares 1000" in result.stderr
