"""Roads upserted by their natural key, the road number and the chainage of the segment's
start (`key: [road_number, km_start]`), from a GeoPackage as a roads agency sends one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely

from demo.generate import layer_file
from geoportal.db.database import Database
from geoportal.settings import Settings
from ingestion.errors import IngestionError, LoadRefusedError
from ingestion.pipeline import LoadRequest, load_file
from layers.catalogue import Catalogue

FIELDS = [
    "road_number", "name", "road_class", "surface", "width_m", "lanes", "iri_m_per_km",
    "condition", "aadt", "last_survey", "oblast", "rayon", "length_km", "km_start",
]  # fmt: skip


def _segments(database: Database, where: str, params: list) -> gpd.GeoDataFrame:
    columns = ", ".join(FIELDS)
    with psycopg.connect(database.owner_conninfo) as conn:
        cur = conn.execute(
            f"SELECT {columns}, ST_AsBinary(geom) FROM roads.roads WHERE {where} "
            "ORDER BY road_number, km_start",
            params,
        )
        rows = cur.fetchall()
    data = {name: [row[i] for row in rows] for i, name in enumerate(FIELDS)}
    geometry = shapely.from_wkb([bytes(row[-1]) for row in rows])
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


def _gpkg(frame: gpd.GeoDataFrame, path: Path) -> Path:
    out = frame.copy()
    out["last_survey"] = out["last_survey"].astype(str)
    out.to_file(path, driver="GPKG", layer="roads")
    return path


def _load(database: Database, catalogue: Catalogue, settings: Settings, path: Path, **kw):
    request = LoadRequest(layer=catalogue.get("roads"), path=path, mode="upsert", **kw)
    return load_file(database.owner_conninfo, request, settings.ingestion)


@pytest.fixture
def restore_roads(
    loaded: Database, catalogue: Catalogue, settings: Settings, generated: Path
) -> Iterator[None]:
    """The demo's roads put back (a replace with the generated file, ids kept)."""
    yield
    request = LoadRequest(layer=catalogue.get("roads"), path=layer_file(generated, "roads"))
    load_file(loaded.owner_conninfo, request, settings.ingestion)


def test_the_demo_roads_carry_their_chainage(loaded: Database) -> None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        missing, repeated = conn.execute(
            "SELECT count(*) FILTER (WHERE km_start IS NULL), count(*) - count(DISTINCT "
            "(road_number, km_start)) FROM roads.roads"
        ).fetchone() or (None, None)
    assert (missing, repeated) == (0, 0)


def test_an_upsert_updates_segments_by_number_and_chainage_and_adds_new_ones(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path, restore_roads
) -> None:
    changed = _segments(loaded, "road_number = %s AND km_start < 3", ["ЭМ-01"])
    assert len(changed) >= 2 and list(changed["km_start"])[0] == 0.0
    changed["iri_m_per_km"], changed["condition"] = 2.0, "good"
    new = changed.iloc[:1].copy()
    new["road_number"], new["km_start"], new["name"] = "ЭЛ-ЧУ-999", 0.0, "Жаңы жол"
    path = _gpkg(gpd.GeoDataFrame(pd.concat([changed, new]), crs=4326), tmp_path / "r.gpkg")
    with psycopg.connect(loaded.owner_conninfo) as conn:
        before = conn.execute("SELECT count(*) FROM roads.roads").fetchone()
    outcome = _load(loaded, catalogue, settings, path)
    assert (outcome.updated, outcome.inserted, outcome.deleted) == (len(changed), 1, 0)
    after = _segments(loaded, "road_number = %s AND km_start < 3", ["ЭМ-01"])
    assert list(after["km_start"]) == list(changed["km_start"])
    assert set(after["iri_m_per_km"]) == {2.0} and set(after["condition"]) == {"good"}
    added = _segments(loaded, "road_number = %s", ["ЭЛ-ЧУ-999"])
    assert list(added["name"]) == ["Жаңы жол"]
    with psycopg.connect(loaded.owner_conninfo) as conn:
        count = conn.execute("SELECT count(*) FROM roads.roads").fetchone()
    assert before is not None and count is not None and count[0] == before[0] + 1


def test_repeated_and_missing_keys_are_reported(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path
) -> None:
    rows = _segments(loaded, "road_number = %s AND km_start < 3", ["ЭМ-02"]).iloc[:2]
    twice = gpd.GeoDataFrame(pd.concat([rows, rows.iloc[:1]]), crs=4326)
    twice.loc[twice.index[1], "km_start"] = None
    path = _gpkg(twice.reset_index(drop=True), tmp_path / "twice.gpkg")
    with pytest.raises(LoadRefusedError) as refused:
        _load(loaded, catalogue, settings, path)
    problems = {p["code"]: p for p in refused.value.report.to_dict()["problems"]}  # type: ignore[attr-defined]
    assert problems["duplicate_key"]["rows"] == [1, 3]
    assert problems["duplicate_key"]["values"][0].startswith("(ЭМ-02,")
    assert problems["missing_key"]["rows"] == [2] and problems["missing_key"]["blocking"]


def test_another_key_must_be_a_unique_field(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path
) -> None:
    path = _gpkg(_segments(loaded, "road_number = %s", ["ЭМ-03"]).iloc[:1], tmp_path / "a.gpkg")
    with pytest.raises(IngestionError, match="unique fields \\['osm_id'\\]"):
        _load(loaded, catalogue, settings, path, key=("name",))
