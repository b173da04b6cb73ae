"""The demo stays out of the server's path: it imports the domain packages, never the server,
and every theme is a subpackage with a `generate(ctx)`."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import demo
from demo.generate import THEMES

DEMO = Path(demo.__file__).parent
OURS = {"geoportal", "layers", "ingestion", "tiles", "cadastre", "demo"}
ALLOWED = {"layers", "ingestion", "cadastre", "demo"}


def imported_packages(path: Path) -> set[str]:
    """The top-level names a module imports (absolute imports, at any depth in the file)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(DEMO.rglob("*.py")), ids=lambda p: str(p.relative_to(DEMO)))
def test_the_demo_imports_domain_packages_only(path: Path) -> None:
    assert imported_packages(path) & OURS <= ALLOWED


@pytest.mark.parametrize(("theme", "module"), THEMES)
def test_every_theme_is_a_subpackage_with_a_generator(theme: str, module: str) -> None:
    assert module == f"demo.{theme}" and (DEMO / theme / "__init__.py").is_file()
    assert callable(importlib.import_module(module).generate)
