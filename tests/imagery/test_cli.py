"""`geoportal imagery` as a user runs it: a scene ingested with a progress bar, a bad path as
one clear line and exit status 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from demo.imagery.scenes import SceneSpec
from imagery import catalog
from tests.support.imagery import BEFORE, make_scene


def geoportal(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOPORTAL_")}
    env["GEOPORTAL_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "geoportal.cli", "imagery", *args],
        capture_output=True, text=True, env=env, timeout=300, cwd=Path(__file__).parents[2],
    )  # fmt: skip


def test_ingest_from_the_command_line(tmp_path: Path) -> None:
    truth = make_scene(tmp_path / "src", SceneSpec(BEFORE, "landsat", clouds=1))
    result = geoportal(tmp_path / "data", "ingest", str(truth.path), "--no-plots", "--no-publish")
    assert result.returncode == 0, result.stderr
    assert "landsat-c2-l2/" in result.stdout and "ndvi, ndwi, nbr" in result.stdout
    ids = [item.id for item in catalog.items(tmp_path / "data", "nbr")]
    assert ids == [truth.path.name]


def test_a_bad_scene_is_one_clear_line(tmp_path: Path) -> None:
    result = geoportal(tmp_path / "data", "ingest", str(tmp_path / "missing"), "--no-plots")
    assert result.returncode == 1
    assert "error:" in result.stderr and "no scene at" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
