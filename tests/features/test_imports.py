"""The features engine is a domain package: no pygeoapi, no Starlette, no geoportal."""

import subprocess
import sys


def test_engine_imports_no_server_or_pygeoapi() -> None:
    code = (
        "import sys, pkgutil, importlib, features\n"
        "for m in pkgutil.iter_modules(features.__path__): importlib.import_module("
        "'features.' + m.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pygeoapi', 'starlette', 'geoportal', 'fastapi', 'jinja2'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]", result.stdout
