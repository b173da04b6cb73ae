"""The cadastre rules are domain code: they import `layers` at most, never the server, the
demo or a web framework (the database driver `psycopg` is allowed: the registry and the
search engine run SQL on a connection their caller passes in)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import cadastre

CADASTRE = Path(cadastre.__file__).parent


@pytest.mark.parametrize("path", sorted(CADASTRE.rglob("*.py")), ids=lambda p: p.name)
def test_cadastre_imports_the_standard_library_and_layers_only(path: Path) -> None:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    assert modules - sys.stdlib_module_names - {"cadastre", "layers", "psycopg"} == set()
