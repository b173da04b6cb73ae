"""Which package may import which (STYLE.md section 1, `docs/architecture.md`): imports point
downwards only, the domain packages know nothing of the server or its frameworks, and the
server composes the viewer's routes while the viewer never imports the server."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("pygeoapi", "starlette", "jinja2")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "layers": ("cadastre", "ingestion", "tiles", "geoportal", *FRAMEWORKS),
    "cadastre": ("ingestion", "tiles", "geoportal", *FRAMEWORKS),
    "ingestion": ("tiles", "geoportal", *FRAMEWORKS),
    "tiles": ("ingestion", "geoportal", *FRAMEWORKS),
    "exports": ("ingestion", "tiles", "geoportal", *FRAMEWORKS),
    "imagery": ("ingestion", "tiles", "geoportal", "demo", *FRAMEWORKS),
    "analyses": ("geoportal", "ingestion", "tiles", "demo", *FRAMEWORKS),
    "geoportal/viewer": ("geoportal.server",),
    "geoportal/db": ("geoportal.server", "geoportal.viewer", "geoportal.providers", *FRAMEWORKS),
    "geoportal/errors.py": ("geoportal.server", "geoportal.viewer"),
}
"""Package (folder or module, relative to the repository) -> modules it must not import."""


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at top level or inside functions."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


def files_of(package: str) -> list[Path]:
    """The Python files of a folder (recursively) or the one module."""
    target = ROOT / package
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


def is_within(module: str, prefix: str) -> bool:
    """`module` is `prefix` or one of its submodules."""
    return module == prefix or module.startswith(f"{prefix}.")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    files = files_of(package)
    assert files, f"{package} has no Python files"
    broken = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files
        for module in sorted(imported_modules(path))
        if any(is_within(module, prefix) for prefix in FORBIDDEN[package])
    ]
    assert broken == []


def test_the_viewer_loads_without_the_server() -> None:
    """Not even indirectly: importing every viewer module loads no `geoportal.server` module."""
    modules = [
        f"geoportal.viewer.{path.stem}"
        for path in files_of("geoportal/viewer")
        if path.stem != "__init__"
    ]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.startswith('geoportal.server')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_the_app_composes_the_viewer() -> None:
    """The direction that is allowed is used: the server app mounts the viewer's routes."""
    assert "geoportal.viewer.routes" in imported_modules(ROOT / "geoportal/server/app.py")
