"""`load_file`: every input format, the modes, dry runs, the audit change set, scopes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import shapely

from demo.generate import layer_file
from geoportal.db.database import Database
from geoportal.settings import Settings
from ingestion.errors import (
    LoadRefusedError,
    LoadScopeError,
    LoadTimeoutError,
    NoNaturalKeyError,
)
from ingestion.pipeline import LoadRequest, LoadScope, load_file, parse_mapping
from ingestion.settings import IngestionSettings
from ingestion.sources import SourceOptions
from layers.catalogue import Catalogue
from tests.ingestion.loadfiles import LAYER, sensors, write

FORMATS = ["gpkg", "shp.zip", "geojson", "kml", "csv-wkt", "csv-lonlat", "fgb"]


@pytest.fixture
def restore(
    loaded: Database, catalogue: Catalogue, settings: Settings, generated: Path
) -> Iterator[None]:
    """Put the demo's sensors back after the test (a replace with the generated file)."""
    yield
    request = LoadRequest(layer=catalogue.get(LAYER), path=layer_file(generated, LAYER))
    load_file(loaded.owner_conninfo, request, settings.ingestion)


def _rows(database: Database) -> dict[str, tuple]:
    with psycopg.connect(database.owner_conninfo) as conn:
        found = conn.execute(
            "SELECT sensor_code, city, parameter, unit, installed, operator, status, "
            "last_value, ST_AsBinary(geom) FROM city.environment_sensors"
        ).fetchall()
    return {r[0]: r for r in found}


def _load(database: Database, catalogue: Catalogue, settings: Settings, path: Path, **kw):
    request = LoadRequest(layer=catalogue.get(LAYER), path=path, **kw)
    return load_file(database.owner_conninfo, request, settings.ingestion)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_loads_what_the_file_holds(
    fmt: str, loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path, restore
) -> None:
    source = sensors()
    path = write(source, tmp_path, fmt)
    mapping = parse_mapping({"sensor_code": "sensor_cod"}) if fmt == "shp.zip" else None
    options = SourceOptions(crs="EPSG:4326" if fmt.startswith("csv") else None)
    outcome = _load(loaded, catalogue, settings, path, mapping=mapping, source=options)
    assert (outcome.inserted, outcome.report.blocking) == (3, [])
    rows = _rows(loaded)
    assert sorted(rows) == ["T-1", "T-2", "T-3"]
    for i, code in enumerate(source["sensor_code"]):
        row = rows[code]
        expected = source.iloc[i]
        assert row[1:4] == (expected.city, expected.parameter, expected.unit)
        assert row[4] == dt.date.fromisoformat(expected.installed)
        assert row[5] == "Бишкек шаарынын мэриясы" and row[6] == "active"
        assert row[7] == pytest.approx(expected.last_value)
        assert shapely.equals_exact(shapely.from_wkb(row[8]), expected.geometry, 1e-9)


def test_append_upsert_and_replace_count_what_they_did(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path, restore
) -> None:
    first = write(sensors(), tmp_path / "a", "geojson")
    assert _load(loaded, catalogue, settings, first).inserted == 3
    more = write(sensors(("T-4",)), tmp_path / "b", "geojson")
    outcome = _load(loaded, catalogue, settings, more, mode="append")
    assert (outcome.inserted, outcome.updated, outcome.deleted) == (1, 0, 0)
    changed = sensors(("T-2", "T-5"), status=["offline", "active"])
    outcome = _load(
        loaded, catalogue, settings, write(changed, tmp_path / "c", "geojson"), mode="upsert"
    )
    assert (outcome.inserted, outcome.updated, outcome.deleted) == (1, 1, 0)
    rows = _rows(loaded)
    assert sorted(rows) == ["T-1", "T-2", "T-3", "T-4", "T-5"] and rows["T-2"][6] == "offline"
    outcome = _load(loaded, catalogue, settings, first)
    assert (outcome.inserted, outcome.deleted) == (3, 5)
    with psycopg.connect(loaded.owner_conninfo) as conn:
        stats = conn.execute(
            "SELECT feature_count, bbox_4326 FROM catalog.layer_stats WHERE layer_id = %s", [LAYER]
        ).fetchone()
    assert stats is not None and stats[0] == 3
    assert stats[1] == pytest.approx([74.58, 42.87, 74.60, 42.874])


def test_a_dry_run_reports_and_changes_nothing(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path
) -> None:
    before = _rows(loaded)
    outcome = _load(loaded, catalogue, settings, write(sensors(), tmp_path, "gpkg"), dry_run=True)
    assert not outcome.loaded and outcome.inserted == 0 and outcome.report.rows_read == 3
    assert _rows(loaded) == before


def test_a_load_is_one_audit_change_set(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path, restore
) -> None:
    path = write(sensors(), tmp_path, "fgb")
    scope = LoadScope(user="alice", themes=("city",))
    _load(loaded, catalogue, settings, path, scope=scope)
    with psycopg.connect(loaded.owner_conninfo) as conn:
        row = conn.execute(
            "SELECT user_name, user_role, source_file, mode, inserted, updated, deleted "
            "FROM audit.loads WHERE layer_id = %s ORDER BY id DESC LIMIT 1",
            [LAYER],
        ).fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audit.loads")
    assert row is not None and row[:5] == ("alice", "agency", "sensors.fgb", "replace", 3)
    assert row[6] > 0  # the demo's sensors it replaced


def test_an_oblast_bound_user_replaces_within_its_oblasts_only(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path, restore
) -> None:
    before = _rows(loaded)
    scope = LoadScope(user="osh_agency", themes=("city",), oblasts=("Osh Region",))
    with pytest.raises(LoadRefusedError) as refused:
        _load(loaded, catalogue, settings, write(sensors(), tmp_path, "gpkg"), scope=scope)
    codes = [p.code for p in refused.value.report.blocking]  # type: ignore[attr-defined]
    assert codes == ["outside_oblasts"] and _rows(loaded) == before
    scope = LoadScope(user="chuy_agency", themes=("city",), oblasts=("Bishkek City",))
    outcome = _load(
        loaded, catalogue, settings, write(sensors(), tmp_path / "b", "gpkg"), scope=scope
    )
    rows = _rows(loaded)
    assert outcome.inserted == 3 and len(rows) == len(before) - outcome.deleted + 3


def test_scope_and_key_refusals(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path
) -> None:
    path = write(sensors(), tmp_path, "gpkg")
    with pytest.raises(LoadScopeError, match="themes"):
        _load(loaded, catalogue, settings, path, scope=LoadScope(user="a", themes=("roads",)))
    request = LoadRequest(layer=catalogue.get("road_works"), path=path, mode="upsert")
    with pytest.raises(NoNaturalKeyError, match="road_works declares no natural key"):
        load_file(loaded.owner_conninfo, request, settings.ingestion)


def test_a_load_past_its_time_limit_is_rolled_back_with_a_clear_error(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path
) -> None:
    before = _rows(loaded)
    hurried = IngestionSettings(load_timeout_s=0.001)
    request = LoadRequest(layer=catalogue.get(LAYER), path=write(sensors(), tmp_path, "gpkg"))
    with pytest.raises(LoadTimeoutError, match="GEOPORTAL_INGESTION__LOAD_TIMEOUT_S"):
        load_file(loaded.owner_conninfo, request, hurried)
    assert _rows(loaded) == before


def test_an_oblast_bound_upsert_cannot_touch_features_outside_its_oblasts(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path, restore
) -> None:
    _load(loaded, catalogue, settings, write(sensors(), tmp_path / "a", "gpkg"))
    moved = sensors(("T-1",))
    moved.geometry = moved.geometry.translate(-74.58 + 72.80, -42.87 + 40.53)  # to Osh
    path = write(moved, tmp_path / "b", "gpkg")
    scope = LoadScope(user="osh_agency", themes=("city",), oblasts=("Osh Region",))
    with pytest.raises(LoadRefusedError) as refused:
        _load(loaded, catalogue, settings, path, mode="upsert", scope=scope)
    report = refused.value.report.to_dict()  # type: ignore[attr-defined]
    assert [(p["code"], p["rows"]) for p in report["problems"]] == [("outside_oblasts", [1])]
    assert "key names a feature" in report["problems"][0]["message"]


def test_a_load_publishes_one_tile_change_around_its_old_and_new_rows(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path, restore
) -> None:
    frame = sensors()
    path = write(frame, tmp_path, "gpkg")
    extent = (
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
        "ST_Extent(ST_Transform(geom, 4326)) FROM city.environment_sensors) x(e)"
    )
    with psycopg.connect(loaded.owner_conninfo) as conn:
        last = conn.execute("SELECT coalesce(max(seq), 0) FROM catalog.tile_changes").fetchone()
        old = conn.execute(extent).fetchone()
    _load(loaded, catalogue, settings, path)
    with psycopg.connect(loaded.owner_conninfo) as conn:
        changes = conn.execute(
            "SELECT table_name, boxes FROM catalog.tile_changes WHERE seq > %s ORDER BY seq",
            [last[0] if last else 0],
        ).fetchall()
        new = conn.execute(extent).fetchone()
    assert old is not None and new is not None and old != new
    assert [table for table, _ in changes] == ["city.environment_sensors"]  # one, not per row
    (box,) = changes[0][1]
    around = (min(old[0], new[0]), min(old[1], new[1]), max(old[2], new[2]), max(old[3], new[3]))
    assert box == pytest.approx(list(around), abs=1e-6)
