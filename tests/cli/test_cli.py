"""The command line as a user runs it: help texts, clear errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from geoportal.db.database import Database
from geoportal.settings import Settings

COMMANDS = [
    [],
    ["db"],
    ["db", "up"],
    ["db", "down"],
    ["db", "status"],
    ["db", "migrate"],
    ["db", "makemigration"],
    ["demo"],
    ["demo", "load"],
    ["demo", "generate"],
    ["layers"],
    ["layers", "list"],
    ["layers", "load"],
    ["config"],
    ["config", "validate"],
    ["config", "show"],
    ["serve"],
    ["tiles"],
    ["tiles", "export"],
    ["users"],
    ["users", "add"],
    ["users", "list"],
    ["users", "disable"],
    ["keys"],
    ["keys", "create"],
    ["keys", "list"],
    ["keys", "revoke"],
    ["worker"],
    ["jobs"],
    ["jobs", "list"],
    ["jobs", "show"],
    ["jobs", "dismiss"],
    ["imagery"],
    ["imagery", "ingest"],
    ["imagery", "terrain"],
    ["imagery", "change"],
]


def geoportal(*args: str, settings: Settings | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOPORTAL_")}
    env.pop("DATABASE_URL", None)
    if settings is not None:
        env["GEOPORTAL_DATA_DIR"] = str(settings.data_dir)
    return subprocess.run(
        [sys.executable, "-m", "geoportal.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "geoportal")
def test_every_command_explains_itself(command: list[str]) -> None:
    result = geoportal(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    assert len(result.stdout.split()) > 25  # more than a bare usage line


def test_status_reports_the_running_cluster(loaded: Database, settings: Settings) -> None:
    result = geoportal("db", "status", settings=settings)
    assert result.returncode == 0, result.stderr
    assert "yes (pid" in result.stdout
    assert "applied of" in result.stdout


def test_bad_file_is_one_clear_line_and_exit_1(
    loaded: Database, settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "oblasts.geojson"
    bad.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"adm1_code": "nope"},
                        "geometry": {"type": "Point", "coordinates": [74, 42]},
                    }
                ],
            }
        )
    )
    result = geoportal("layers", "load", "oblasts", str(bad), settings=settings)
    assert result.returncode == 1
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unknown_layer_names_the_valid_ones(settings: Settings, tmp_path: Path) -> None:
    result = geoportal("layers", "load", "roadz", str(tmp_path / "x.gpkg"), settings=settings)
    assert result.returncode == 1
    assert "no layer 'roadz'" in result.stderr and "oblasts" in result.stderr


def test_config_validate() -> None:
    result = geoportal("config", "validate")
    assert result.returncode == 0, result.stderr
    assert "pygeoapi configuration valid" in result.stdout


def test_tiles_export_writes_a_pmtiles_archive(
    loaded: Database, settings: Settings, tmp_path: Path
) -> None:
    from pmtiles.reader import MmapSource, Reader

    out = tmp_path / "osh.pmtiles"
    result = geoportal(
        "tiles",
        "export",
        "--layers",
        "basemap",
        "--oblast",
        "ош облусу",
        "--maxzoom",
        "7",
        str(out),
        settings=settings,
    )
    assert result.returncode == 0, result.stderr
    assert "rendering tiles" in result.stderr and "wrote" in result.stderr
    with out.open("rb") as f:
        reader = Reader(MmapSource(f))
        assert reader.header()["max_zoom"] == 7
        assert {"country", "oblasts", "roads"} <= {
            layer["id"] for layer in reader.metadata()["vector_layers"]
        }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--oblast", "Atlantis"], "Jalal-Abad Region"),
        (["--bbox", "72,40,73,41", "--max-tiles", "10"], "more than the limit of 10"),
    ],
)
def test_tiles_export_errors_are_one_clear_line(
    loaded: Database, settings: Settings, tmp_path: Path, args: list[str], message: str
) -> None:
    result = geoportal(
        "tiles",
        "export",
        "--layers",
        "roads",
        *args,
        "--maxzoom",
        "12",
        str(tmp_path / "x.pmtiles"),
        settings=settings,
    )
    assert result.returncode == 1
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.pmtiles").exists()


def test_a_background_load_is_a_job_a_worker_runs(loaded: Database, settings: Settings) -> None:
    from demo.loader import demo_data_dir
    from ingestion.vector import source_path
    from layers.catalogue import load_catalogue

    path = source_path(load_catalogue().get("peaks"), demo_data_dir())
    queued = geoportal("layers", "load", "peaks", str(path), "--background", settings=settings)
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.split("queued job ")[1].split(":")[0]
    ran = geoportal("worker", "--once", settings=settings)
    assert ran.returncode == 0 and "job(s) run" in ran.stdout, ran.stderr
    shown = geoportal("jobs", "show", job_id, settings=settings)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["status"] == "successful" and info["results"]["layer"] == "peaks"
    listed = geoportal("jobs", "list", settings=settings)
    assert job_id[:8] in listed.stdout


def test_a_background_load_of_a_missing_file_is_refused(settings: Settings) -> None:
    result = geoportal(
        "layers", "load", "peaks", "/no/such.geojson", "--background", settings=settings
    )
    assert result.returncode == 1 and "no file /no/such.geojson" in result.stdout


@pytest.mark.parametrize("args", [["jobs", "show", "nope"], ["jobs", "dismiss", "nope"]])
def test_jobs_commands_refuse_bad_ids_clearly(loaded: Database, settings: Settings, args) -> None:
    result = geoportal(*args, settings=settings)
    assert result.returncode == 1
    assert "job ids are UUIDs" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
