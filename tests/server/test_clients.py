"""Standard OGC clients (GDAL, OWSLib) read every collection."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import psycopg
import pytest
from owslib.ogcapi.features import Features
from psycopg import sql

from geoportal.db.database import Database
from layers.catalogue import load_catalogue
from tests.support.server import LiveServer

LAYERS = [layer.id for layer in load_catalogue()]


def _count(database: Database, layer_id: str) -> int:
    with psycopg.connect(database.public_conninfo) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(*load_catalogue().get(layer_id).qualified_table)
            )
        ).fetchone()
    return int(row[0]) if row else -1


@pytest.mark.parametrize("layer_id", LAYERS)
def test_gdal_reads_the_collection(
    live_server: LiveServer, loaded: Database, layer_id: str
) -> None:
    result = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{live_server.url}", layer_id],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"Feature Count: (\d+)", result.stdout)
    assert match and int(match.group(1)) == _count(loaded, layer_id)


@pytest.mark.parametrize("layer_id", LAYERS)
def test_owslib_reads_the_collection(
    live_server: LiveServer, rows_of: Callable[[str], None], layer_id: str
) -> None:
    rows_of(layer_id)
    api = Features(live_server.url)
    assert layer_id in [c["id"] for c in api.collections()["collections"]]
    items = api.collection_items(layer_id, limit=5)
    assert items["type"] == "FeatureCollection"
    assert 0 < len(items["features"]) <= 5
    queryables = api.collection_queryables(layer_id)
    layer = load_catalogue().get(layer_id)
    assert {f.name for f in layer.public_fields} <= set(queryables["properties"])
