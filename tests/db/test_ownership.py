"""Every database object a package's SQL names is listed for that package (owner or user) in
the ownership table of `docs/database.md`, and that table matches what the migrations create."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ("catalog", "restricted", "audit", "auth")
REFERENCE = re.compile(rf"(?<![\w.])({'|'.join(SCHEMAS)})\.([a-z_][a-z0-9_]*)\b")
CREATED = re.compile(
    rf"CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNLOGGED\s+)?(?:TABLE|VIEW|FUNCTION|MATERIALIZED\s+VIEW)\s+"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?\"?({'|'.join(SCHEMAS)})\"?\.\"?([a-z_][a-z0-9_]*)\"?",
    re.IGNORECASE,
)
MIGRATIONS = ROOT / "geoportal" / "db" / "migrations"
DOMAIN = ("layers", "ingestion", "tiles", "cadastre", "analyses")


def ownership() -> dict[str, set[str]]:
    """Object name (`catalog.layer_stats`, `restricted.*`) -> the packages listed for it."""
    text = (ROOT / "docs" / "database.md").read_text("utf-8")
    section = text.split("## Which package owns which database objects", 1)[1]
    listed: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        obj = cells[0].strip("`")
        packages = re.findall(r"`([a-z_.]+)`", f"{cells[3]} {cells[4]}")
        listed[obj] = {p for p in packages if not p.endswith((".py", ".sql"))}
    assert listed, "no ownership table in docs/database.md"
    return listed


def package_of(path: Path) -> str:
    """`tiles`, `layers`, ... or `geoportal.<subpackage>` for the server side."""
    parts = path.relative_to(ROOT).parts
    if parts[0] == "geoportal" and len(parts) > 2:
        return f"geoportal.{parts[1]}"
    return parts[0] if parts[0] != "geoportal" else "geoportal"


def references() -> dict[tuple[str, str], list[str]]:
    """(package, object) -> where its code names the object."""
    found: dict[tuple[str, str], list[str]] = {}
    roots = [ROOT / name for name in (*DOMAIN, "geoportal") if (ROOT / name).is_dir()]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix not in (".py", ".sql") or MIGRATIONS in path.parents:
                continue
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                for schema, name in REFERENCE.findall(line):
                    key = (package_of(path), f"{schema}.{name}")
                    found.setdefault(key, []).append(f"{path.relative_to(ROOT)}:{number}")
    return found


def created() -> set[str]:
    """The objects of the owned schemas the migrations create."""
    objects = set()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        for schema, name in CREATED.findall(path.read_text("utf-8")):
            objects.add(f"{schema.lower()}.{name}")
    return objects


def listed_for(obj: str, listed: dict[str, set[str]]) -> set[str]:
    """The packages listed for an object (a `restricted.` table falls under `restricted.*`)."""
    if obj in listed:
        return listed[obj]
    return listed.get(f"{obj.split('.')[0]}.*", set())


def test_the_scan_finds_what_the_domain_packages_rely_on() -> None:
    found = references()
    for expected in (
        ("tiles", "catalog.tiles_size_key"),
        ("tiles", "catalog.tile_changes"),
        ("layers", "catalog.layer_watch"),
        ("ingestion", "catalog.layer_stats"),
    ):
        assert expected in found


@pytest.mark.parametrize("key", sorted(references()), ids=lambda k: f"{k[0]}:{k[1]}")
def test_each_reference_is_listed_for_its_package(key: tuple[str, str]) -> None:
    package, obj = key
    packages = listed_for(obj, ownership())
    assert package in packages, (
        f"{package} names {obj} ({', '.join(references()[key][:3])}) but docs/database.md "
        f"lists it for {sorted(packages) or 'nobody'}"
    )


def test_the_table_and_the_migrations_agree() -> None:
    listed = {obj for obj in ownership() if not obj.endswith(".*")}
    made = {obj for obj in created() if not obj.startswith("restricted.")}
    assert sorted(made - listed) == [], "created by a migration, owned by nobody"
    assert sorted(listed - made) == [], "listed, created by no migration"
    assert any(obj.startswith("restricted.") for obj in created())


def test_each_object_has_one_owner() -> None:
    text = (ROOT / "docs" / "database.md").read_text("utf-8").split("owns which database")[1]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    for row in rows:
        owner = row.split("|")[4]
        packages = [p for p in re.findall(r"`([a-z_.]+)`", owner) if not p.endswith(".py")]
        assert len(packages) == 1, row
