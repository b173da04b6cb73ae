"""The CLI starts without the demo's heavy libraries: only `geoportal demo ...` (and the
commands that read files) load pandas, geopandas and rasterio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "geopandas", "rasterio", "pyogrio", "scipy", "skimage", "demo")

PROBE = """
import atexit, json, sys
heavy = {heavy!r}
atexit.register(lambda: print(json.dumps(sorted(m for m in heavy if m in sys.modules))))
sys.argv = ["geoportal", *{args!r}]
from geoportal.cli.main import run
run()
"""


def loaded_modules(*args: str) -> list[str]:
    """The heavy modules a `geoportal ARGS` process has imported when it exits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOPORTAL_")}
    root = Path(__file__).parents[2]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY, args=list(args))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout, result.stdout
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["users", "--help"],
        ["db", "up", "--help"],
        ["serve", "--help"],
        ["layers", "--help"],
        ["tiles", "export", "--help"],
        ["demo", "load", "--help"],
    ],
    ids=lambda c: " ".join(c),
)
def test_commands_start_without_the_demo_libraries(command: list[str]) -> None:
    assert loaded_modules(*command) == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The check above is not vacuous: a process that imports the demo is seen doing it."""
    result = subprocess.run(
        [sys.executable, "-c", "import sys, demo.generate; print('pandas' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert result.stdout.strip() == "True", result.stderr
