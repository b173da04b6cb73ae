"""Backup and restore: a restored copy holds every row of every table, roles and privileges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from geoportal.db import backup as backups
from geoportal.db.database import PUBLIC_ROLE, Database

RESTORED = "geoportal_restore_test"


def table_checksums(conninfo: str) -> dict[str, tuple[int, str]]:
    """Every table of the geoportal's schemas: (row count, md5 of its sorted rows as text)."""
    with psycopg.connect(conninfo) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
            "('pg_catalog', 'information_schema', 'public') ORDER BY 1, 2"
        ).fetchall()
        sums = {}
        for schema, table in tables:
            query = sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                "FROM {} AS t"
            ).format(sql.Identifier(schema, table))
            count, digest = conn.execute(query).fetchone()  # type: ignore[misc]
            sums[f"{schema}.{table}"] = (count, digest)
    return sums


@pytest.fixture(scope="module")
def dump(loaded: Database, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backup") / "geoportal.dump"
    return backups.backup(loaded.admin_conninfo(), path, loaded.settings.pg_bin_dir)


@pytest.fixture(scope="module")
def restored(loaded: Database, dump: Path) -> Iterator[str]:
    """The dump restored as another database of the same cluster; dropped at the end."""
    maintenance = loaded.admin_conninfo("postgres")
    result = backups.restore(maintenance, RESTORED, dump, loaded.settings.pg_bin_dir)
    assert result.kept_as is None
    yield RESTORED
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(RESTORED))
        )


def test_every_table_comes_back_row_for_row(loaded: Database, restored: str) -> None:
    original = table_checksums(loaded.admin_conninfo())
    copy = table_checksums(loaded.admin_conninfo(restored))
    assert original.keys() == copy.keys()
    assert original == copy
    layers = [name for name in original if name.split(".")[0] not in ("catalog", "geoportal_meta")]
    assert sum(original[name][0] for name in layers) > 10_000  # the demo data, not empty tables


def test_the_restored_copy_keeps_privileges(loaded: Database, restored: str) -> None:
    cluster = loaded.cluster
    assert cluster is not None
    with psycopg.connect(cluster.conninfo(PUBLIC_ROLE, restored)) as conn:
        assert conn.execute("SELECT count(*) FROM base.oblasts").fetchone()[0] > 0  # type: ignore[index]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM restricted.agri_plot_operators LIMIT 1")


def test_restoring_again_keeps_the_replaced_database(loaded: Database, dump: Path, restored: str):
    maintenance = loaded.admin_conninfo("postgres")
    result = backups.restore(maintenance, restored, dump, loaded.settings.pg_bin_dir)
    assert result.kept_as and result.kept_as.startswith(f"{restored}_before_restore_")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(result.kept_as))
        )


def test_a_bad_file_changes_nothing(loaded: Database, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-dump"
    bad.write_bytes(b"PGDMP but not really")
    maintenance = loaded.admin_conninfo("postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        before = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    with pytest.raises(backups.BackupError, match="not-a-dump"):
        backups.restore(maintenance, loaded.settings.db_name, bad, loaded.settings.pg_bin_dir)
    with pytest.raises(backups.BackupError, match="no backup file"):
        backups.restore(maintenance, loaded.settings.db_name, tmp_path / "missing")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        assert {r[0] for r in conn.execute("SELECT datname FROM pg_database")} == before
