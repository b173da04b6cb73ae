"""The loader: counts match the sources, bad input is refused with a clear message and the
loaded data stays as it was."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pyogrio
import pytest

from demo.generate import layer_file
from demo.loader import demo_data_dir, load_demo
from geoportal.db.database import Database
from ingestion.errors import (
    IngestionError,
    InvalidGeometryError,
    InvalidValueError,
    SchemaMismatchError,
    SourceNotFoundError,
)
from ingestion.load import load_layers
from ingestion.vector import prepare_layer, source_path
from layers.catalogue import Catalogue
from layers.model import Layer


def _count(database: Database, layer_id: str, catalogue: Catalogue) -> int:
    schema, table = catalogue.get(layer_id).qualified_table
    with psycopg.connect(database.owner_conninfo) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
    return int(row[0]) if row else -1


def test_counts_match_the_source_files(
    loaded: Database, catalogue: Catalogue, generated: Path
) -> None:
    for layer in catalogue:
        if layer.source and layer.source.derived:
            continue  # derived in the database (tests/cadastre/test_addresses.py)
        if layer.source and layer.source.pipeline:
            continue  # filled by its pipeline, not by the demo load (tests/imagery)
        if layer.source and layer.source.generated:
            path = layer_file(generated, layer.id)
        else:
            path = source_path(layer, demo_data_dir())
        expected = pyogrio.read_info(path)["features"]
        assert _count(loaded, layer.id, catalogue) == expected, layer.id


def test_layer_stats_are_exact(loaded: Database, catalogue: Catalogue) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        stats = dict(conn.execute("SELECT layer_id, feature_count FROM catalog.layer_stats"))
    for layer in catalogue:
        assert stats[layer.id] == _count(loaded, layer.id, catalogue)


def test_all_loaded_geometries_are_valid(loaded: Database, catalogue: Catalogue) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for layer in (layer for layer in catalogue if layer.has_geometry):
            schema, table = layer.qualified_table
            row = conn.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" '
                "WHERE NOT ST_IsValid(geom) OR ST_SRID(geom) <> 4326"
            ).fetchone()
            assert row == (0,), layer.id


def test_translations_are_filled(loaded: Database) -> None:
    with psycopg.connect(loaded.public_conninfo) as conn:
        rows = conn.execute(
            "SELECT name_en, name_ru, name_ky FROM base.oblasts "
            "WHERE name_en IN ('Chuy Region', 'Osh Region')"
        ).fetchall()
        jalal_abad = conn.execute(
            "SELECT name_en, name_ru FROM base.settlements WHERE geonameid = 1528249"
        ).fetchone()
        capital = conn.execute(
            "SELECT name_en FROM base.settlements WHERE capital = 'national'"
        ).fetchall()
    assert {r[0]: r[2] for r in rows} == {"Chuy Region": "Чүй облусу", "Osh Region": "Ош облусу"}
    assert jalal_abad is not None and jalal_abad[0] == "Jalal-Abad"
    assert capital == [("Bishkek",)]


def _write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _oblast_feature(**properties: object) -> dict:
    base = {
        "adm1_code": "KGZ-1116",
        "name_en": "Chuy",
        "name": "Chuy",
        "name_ru": "Чуй",
        "iso_3166_2": "KG-C",
        "gn_id": 1538652,
        "wikidataid": "Q318283",
    }
    base.update(properties)
    ring = [[74, 42], [75, 42], [75, 43], [74, 43], [74, 42]]
    return {
        "type": "Feature",
        "properties": base,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


BOWTIE = {"type": "Polygon", "coordinates": [[[74, 42], [75, 43], [75, 42], [74, 43], [74, 42]]]}


@pytest.mark.parametrize(
    ("features", "error", "message"),
    [
        ([_oblast_feature(adm1_code=None)], InvalidValueError, "adm1_code"),
        ([_oblast_feature(adm1_code="KGZ-9999")], InvalidValueError, "KGZ-9999"),
        ([{**_oblast_feature(), "geometry": BOWTIE}], InvalidGeometryError, "Self-intersection"),
        (
            [{**_oblast_feature(), "geometry": {"type": "Point", "coordinates": [74, 42]}}],
            InvalidGeometryError,
            "Point where layer oblasts holds MultiPolygon",
        ),
        ([{**_oblast_feature(), "geometry": None}], InvalidGeometryError, "missing or empty"),
        (
            [{"type": "Feature", "properties": {"name": "x"}, "geometry": BOWTIE}],
            SchemaMismatchError,
            "is missing",
        ),
        ([], IngestionError, "no features"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    loaded: Database,
    catalogue: Catalogue,
    tmp_path: Path,
    features: list[dict],
    error: type[Exception],
    message: str,
) -> None:
    """The whole load of a file (what `geoportal layers load` does: prepare, then load) fails
    with the message, and the loaded layer keeps its rows and its statistics."""
    path = _write_geojson(tmp_path / "oblasts.geojson", features)
    before = _oblasts_snapshot(loaded)
    with pytest.raises(error, match=message):
        _load_file(loaded, catalogue.get("oblasts"), path)
    assert _oblasts_snapshot(loaded) == before
    assert len(before[0]) == 8


def _load_file(database: Database, layer: Layer, path: Path) -> None:
    load_layers(database.owner_conninfo, [prepare_layer(layer, path.parent, path)])


def _oblasts_snapshot(database: Database) -> tuple[list[tuple], tuple | None]:
    """The rows of `oblasts` (id, code, geometry) and its `layer_stats` row."""
    with psycopg.connect(database.owner_conninfo) as conn:
        rows = conn.execute(
            "SELECT id, adm1_code, ST_AsEWKB(geom) FROM base.oblasts ORDER BY id"
        ).fetchall()
        stats = conn.execute(
            "SELECT feature_count, version, loaded_at FROM catalog.layer_stats WHERE layer_id = %s",
            ["oblasts"],
        ).fetchone()
    return rows, stats


def test_unreadable_file_is_refused(catalogue: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text("{ not json")
    with pytest.raises(SourceNotFoundError, match="cannot be read"):
        prepare_layer(catalogue.get("oblasts"), tmp_path, path)
    with pytest.raises(SourceNotFoundError, match="no such file"):
        prepare_layer(catalogue.get("oblasts"), tmp_path, tmp_path / "absent.gpkg")


def test_database_refusal_rolls_back_every_layer(
    loaded: Database, catalogue: Catalogue, tmp_path: Path
) -> None:
    """Two valid features with the same unique code pass the file checks, the database
    refuses them, and neither layer of the transaction changes."""
    good_rayons = prepare_layer(catalogue.get("rayons"), demo_data_dir())
    path = _write_geojson(tmp_path / "dup.geojson", [_oblast_feature(), _oblast_feature()])
    duplicate = prepare_layer(catalogue.get("oblasts"), tmp_path, path)
    with psycopg.connect(loaded.owner_conninfo) as conn:
        conn.execute("DELETE FROM base.rayons WHERE id = 1")
    with pytest.raises(IngestionError, match="nothing was changed"):
        load_layers(loaded.owner_conninfo, [good_rayons, duplicate])
    assert _count(loaded, "oblasts", catalogue) == 8
    assert _count(loaded, "rayons", catalogue) == 40  # the reload of rayons was rolled back too
    load_demo(loaded.owner_conninfo, [catalogue.get("rayons")])
    assert _count(loaded, "rayons", catalogue) == 41


def test_reload_replaces_atomically_and_keeps_ids(loaded: Database, catalogue: Catalogue) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        before = conn.execute("SELECT id, name_en FROM base.oblasts ORDER BY id").fetchall()
    load_demo(loaded.owner_conninfo, [catalogue.get("oblasts")])
    with psycopg.connect(loaded.owner_conninfo) as conn:
        after = conn.execute("SELECT id, name_en FROM base.oblasts ORDER BY id").fetchall()
    assert after == before
