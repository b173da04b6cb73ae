"""Versioned migrations, database roles and their privileges."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from geoportal.db.database import Database
from geoportal.db.errors import MigrationError
from geoportal.db.migrate import list_migrations, migrate
from geoportal.db.schema_sync import diff_schema
from layers.catalogue import Catalogue


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in list_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_second_migrate_applies_nothing(database: Database) -> None:
    assert migrate(database.admin_conninfo()) == []


def test_migrated_schema_matches_the_declarations(database: Database, catalogue: Catalogue) -> None:
    with psycopg.connect(database.admin_conninfo()) as conn:
        diff = diff_schema(conn, catalogue)
    assert diff.statements == []
    assert diff.undeclared_columns == []


def test_edited_migration_is_refused(database: Database, tmp_path: Path) -> None:
    for migration in list_migrations():
        text = migration.sql + ("\n-- edited\n" if migration.version == 1 else "")
        (tmp_path / f"{migration.version:04d}_{migration.name}.sql").write_text(text)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(database.admin_conninfo(), tmp_path)


def test_failed_migration_rolls_back(database: Database, tmp_path: Path) -> None:
    last = list_migrations()[-1].version
    for migration in list_migrations():
        (tmp_path / f"{migration.version:04d}_{migration.name}.sql").write_text(migration.sql)
    (tmp_path / f"{last + 1:04d}_broken.sql").write_text(
        "CREATE TABLE base.half_done (id int);\nSELECT no_such_function();\n"
    )
    with pytest.raises(MigrationError, match="broken failed"):
        migrate(database.admin_conninfo(), tmp_path)
    with psycopg.connect(database.admin_conninfo()) as conn:
        assert conn.execute("SELECT to_regclass('base.half_done')").fetchone() == (None,)


def test_gap_in_versions_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="gap or duplicate"):
        list_migrations(tmp_path)


@pytest.mark.parametrize("role", ["geoportal_owner", "geoportal_agency", "geoportal_public"])
def test_roles_exist_and_are_not_superusers(database: Database, role: str) -> None:
    with psycopg.connect(database.admin_conninfo()) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = %s", [role]
        ).fetchone()
    assert row == (False, False)


DENIED = (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)
"""A public session is read-only (migration 0008) and has no write privilege anyway."""


def test_public_role_cannot_write(loaded: Database, catalogue: Catalogue) -> None:
    with psycopg.connect(loaded.public_conninfo) as conn:
        for layer in catalogue:
            schema, table = layer.qualified_table
            with pytest.raises(DENIED), conn.transaction():
                conn.execute(f'DELETE FROM "{schema}"."{table}"')
        with pytest.raises(DENIED), conn.transaction():
            conn.execute("UPDATE catalog.layer_stats SET feature_count = 0")
        with pytest.raises(DENIED), conn.transaction():
            conn.execute("CREATE TABLE base.intruder (id int)")


def test_public_role_reads_every_layer(loaded: Database, catalogue: Catalogue) -> None:
    with psycopg.connect(loaded.public_conninfo) as conn:
        for layer in catalogue:
            schema, table = layer.qualified_table
            count = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
            if layer.source and layer.source.pipeline:
                assert count is not None, layer.id  # readable; filled by its pipeline
                continue
            assert count is not None and count[0] > 0, layer.id


@contextmanager
def migrated_before(database: Database, name: str, version: int, tmp_path: Path) -> Iterator[str]:
    """A new database `name` migrated up to (not including) `version`, with a country
    (the bounds of the geometry checks); dropped afterwards. Yields its conninfo."""
    with psycopg.connect(database.admin_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    conninfo = database.admin_conninfo(name)
    for migration in list_migrations():
        if migration.version < version:
            (tmp_path / f"{migration.version:04d}_{migration.name}.sql").write_text(migration.sql)
    try:
        migrate(conninfo, tmp_path)
        with psycopg.connect(conninfo) as conn:
            conn.execute(
                "INSERT INTO base.country (name_ky, name_ru, name_en, formal_name_ky, "
                "formal_name_ru, formal_name_en, iso_a2, iso_a3, iso_n3, geom) VALUES "
                "('k', 'k', 'k', 'k', 'k', 'k', 'KG', 'KGZ', '417', ST_Multi(ST_GeomFromText("
                "'POLYGON((69 39, 80 39, 80 43.5, 69 43.5, 69 39))', 4326)))"
            )
        yield conninfo
    finally:
        with psycopg.connect(database.admin_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_geometry_bounds_migration_lists_the_rows_it_refuses(
    database: Database, tmp_path: Path
) -> None:
    """Migration 0010 checks existing rows: one road in Paris and one at latitude 91 in a
    database migrated to 0009 make it fail, naming both."""
    with migrated_before(database, "bounds_check", 10, tmp_path) as conninfo:
        with psycopg.connect(conninfo) as conn:
            for number, wkt in enumerate(
                ("LINESTRING(2.3 48.8, 2.4 48.9)", "LINESTRING(74 42, 74 91)")
            ):
                conn.execute(
                    "INSERT INTO roads.roads (road_number, name, road_class, surface, width_m, "
                    "lanes, iri_m_per_km, condition, aadt, last_survey, oblast, length_km, geom) "
                    "VALUES (%s, 'x', 'international', 'asphalt', 7, 2, 3, 'good', 100, "
                    "'2024-01-01', 'Chuy', 1, ST_Multi(ST_GeomFromText(%s, 4326)))",
                    [f"EM-{number}", wkt],
                )
        with pytest.raises(MigrationError) as info:
            migrate(conninfo)
    message = str(info.value)
    assert "roads.roads id 1: geometry lies outside the country" in message
    assert "roads.roads id 2: geometry has coordinates that are not finite" in message


def test_new_layer_tables_get_the_geometry_check(catalogue: Catalogue) -> None:
    from layers.ddl import create_table_sql

    assert 'SELECT catalog.layer_bound(\'"roads"."roads"\', true);' in create_table_sql(
        catalogue.get("roads")
    )
    assert 'layer_bound(\'"base"."country"\', false)' in create_table_sql(catalogue.get("country"))


def test_amended_migration_is_accepted_and_recorded(database: Database) -> None:
    """A database that applied an earlier text of an amended migration (0019) is in step: the
    migrator records the current checksum; readiness does not call it changed."""
    from geoportal.db.migrate import AMENDED
    from geoportal.db.readiness import compare, expected_migrations

    earlier = next(iter(AMENDED[19]))
    current = {m.version: m.checksum for m in list_migrations()}[19]
    with psycopg.connect(database.admin_conninfo(), autocommit=True) as conn:
        conn.execute(
            "UPDATE geoportal_meta.schema_migrations SET checksum = %s WHERE version = 19",
            [earlier],
        )
        applied = dict(
            conn.execute("SELECT version, checksum FROM geoportal_meta.schema_migrations")
        )
        assert compare(expected_migrations(), applied).changed == ()
        assert migrate(database.admin_conninfo()) == []
        recorded = conn.execute(
            "SELECT checksum FROM geoportal_meta.schema_migrations WHERE version = 19"
        ).fetchone()
    assert recorded == (current,)


def test_register_migration_backfills_without_row_triggers(
    database: Database, tmp_path: Path
) -> None:
    """Migration 0019 over parcels loaded before it: each gets its national area, a register
    row and one version, with no per-feature audit records and the tile caches told once;
    the triggers are on again afterwards."""
    with migrated_before(database, "register_backfill", 19, tmp_path) as conninfo:
        with psycopg.connect(conninfo) as conn:
            for number, lon in enumerate((72.8, 74.6, 78.4)):
                square = (
                    f"POLYGON(({lon} 42, {lon + 0.001} 42, {lon + 0.001} 42.001, "
                    f"{lon} 42.001, {lon} 42))"
                )
                conn.execute(
                    "INSERT INTO cadastre.cadastre_parcels (cadastral_code, land_category, "
                    "designated_use, area_m2, registered_on, geom) VALUES (%s, 'agricultural', "
                    "'pasture', 1, '2020-01-01', ST_Multi(ST_GeomFromText(%s, 4326)))",
                    [f"3-01-01-0001-{number:04d}", square],
                )
            last_seq, last_change = conn.execute(
                "SELECT (SELECT coalesce(max(seq), 0) FROM catalog.tile_changes), "
                "(SELECT coalesce(max(id), 0) FROM audit.changes)"
            ).fetchone()
        migrate(conninfo)
        with psycopg.connect(conninfo) as conn:
            areas = conn.execute(
                "SELECT area_national_m2, ST_Area(geom::geography) "
                "FROM cadastre.cadastre_parcels ORDER BY id"
            ).fetchall()
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM cadastre.parcel_register), "
                "(SELECT count(*) FROM cadastre.parcel_versions), "
                "(SELECT count(*) FROM audit.changes WHERE id > %s AND feature_id IS NOT NULL), "
                "(SELECT count(*) FROM catalog.tile_changes WHERE seq > %s AND "
                " table_name = 'cadastre.cadastre_parcels' AND boxes IS NULL), "
                "(SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D' "
                " AND tgrelid IN ('cadastre.cadastre_parcels'::regclass, "
                "                 'cadastre.parcel_versions'::regclass))",
                [last_change, last_seq],
            ).fetchone()
    assert len(areas) == 3
    for national, ellipsoid in areas:
        assert national == pytest.approx(ellipsoid, rel=0.01)
    registered, versions, feature_records, whole_table_changes, disabled = counts
    assert (registered, versions, feature_records, disabled) == (3, 3, 0, 0)
    assert whole_table_changes >= 1
