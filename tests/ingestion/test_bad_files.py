"""The corpus of bad files (`tests/data/bad/`, binary ones generated here): each is refused
with a clear error or listed in the validation report, and the layer stays as it was."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from shapely.geometry import Polygon

from geoportal.db.database import Database
from geoportal.settings import Settings
from ingestion.errors import IngestionError, LoadRefusedError, MissingCrsError
from ingestion.pipeline import LoadRequest, load_file, parse_mapping
from ingestion.sources import SourceOptions
from layers.catalogue import Catalogue
from tests.ingestion.loadfiles import LAYER, sensors, zipped_shapefile

BAD = Path(__file__).parents[1] / "data" / "bad"
SHORT = parse_mapping({"sensor_code": "sensor_cod"})  # Shapefile names are 10 characters


def _count(database: Database) -> int:
    with psycopg.connect(database.owner_conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM city.environment_sensors").fetchone()
    return int(row[0]) if row else -1


def _refused(database: Database, catalogue: Catalogue, settings: Settings, path: Path, **kw):
    before = _count(database)
    request = LoadRequest(layer=catalogue.get(kw.pop("layer", LAYER)), path=path, **kw)
    with pytest.raises(IngestionError) as caught:
        load_file(database.owner_conninfo, request, settings.ingestion)
    assert _count(database) == before
    return caught.value


def _codes(error: IngestionError) -> dict[str, dict]:
    assert isinstance(error, LoadRefusedError), error
    return {p["code"]: p for p in error.report.to_dict()["problems"]}  # type: ignore[attr-defined]


def test_an_empty_file(loaded: Database, catalogue: Catalogue, settings: Settings) -> None:
    error = _refused(loaded, catalogue, settings, BAD / "empty.geojson")
    assert "empty" in str(error)


def test_mixed_geometry_types(loaded: Database, catalogue: Catalogue, settings: Settings) -> None:
    found = _codes(_refused(loaded, catalogue, settings, BAD / "mixed_types.geojson"))
    assert found["geometry_type"]["rows"] == [2, 3]
    assert found["geometry_type"]["values"] == ["LineString", "Polygon"]


def test_a_point_in_another_country(
    loaded: Database, catalogue: Catalogue, settings: Settings
) -> None:
    found = _codes(_refused(loaded, catalogue, settings, BAD / "outside.geojson"))
    assert found["outside_country"]["rows"] == [2]


def refused_report(database: Database, catalogue: Catalogue, settings: Settings) -> dict:
    error = _refused(database, catalogue, settings, BAD / "bad_values.geojson")
    return error.report.to_dict()  # type: ignore[attr-defined]


def test_every_bad_value_is_listed(
    loaded: Database, catalogue: Catalogue, settings: Settings
) -> None:
    found = _codes(_refused(loaded, catalogue, settings, BAD / "bad_values.geojson"))
    problems = refused_report(loaded, catalogue, settings)["problems"]
    types = {p["field"]: p["rows"] for p in problems if p["code"] == "type"}
    assert types == {"installed": [1], "last_value": [5]}
    assert found["enum"]["values"] == ["activ"] and found["enum"]["closest"] == {"activ": "active"}
    assert found["required"]["rows"] == [3] and found["required"]["field"] == "city"
    assert found["duplicate_key"]["rows"] == [1, 4]
    html = _refused(loaded, catalogue, settings, BAD / "bad_values.geojson").report.to_html()  # type: ignore[attr-defined]
    assert "activ" in html and "duplicate_key" in html


def test_skip_invalid_loads_the_rest_and_says_how_many_it_left_out(
    loaded: Database, catalogue: Catalogue, settings: Settings, generated: Path
) -> None:
    request = LoadRequest(
        layer=catalogue.get(LAYER),
        path=BAD / "bad_values.geojson",
        mode="append",
        skip_invalid=True,
    )
    outcome = load_file(loaded.owner_conninfo, request, settings.ingestion)
    assert (outcome.inserted, outcome.report.rows_skipped) == (1, 5)  # row 6 is the good one
    from demo.generate import layer_file

    restore = LoadRequest(layer=catalogue.get(LAYER), path=layer_file(generated, LAYER))
    load_file(loaded.owner_conninfo, restore, settings.ingestion)


def test_a_csv_without_crs_gets_a_suggestion(
    loaded: Database, catalogue: Catalogue, settings: Settings
) -> None:
    error = _refused(loaded, catalogue, settings, BAD / "no_crs.csv")
    assert isinstance(error, MissingCrsError) and "EPSG:4326" in str(error)


def test_a_shapefile_without_prj_in_kyrg06_gets_the_zone(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path
) -> None:
    path = zipped_shapefile(sensors().to_crs(7694), tmp_path / "noprj.zip", drop=(".prj",))
    error = _refused(loaded, catalogue, settings, path, mapping=SHORT)
    assert isinstance(error, MissingCrsError) and "EPSG:7694" in str(error)


def test_a_truncated_shapefile(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path
) -> None:
    frame = sensors(tuple(f"T-{i}" for i in range(200)))
    path = zipped_shapefile(frame, tmp_path / "cut.zip", truncate_shp=True)
    error = _refused(loaded, catalogue, settings, path, mapping=SHORT)
    assert "sensors" in str(error) or "cut.zip" in str(error)


def test_cp1251_attributes_are_noted_then_read_with_encoding(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path, generated: Path
) -> None:
    path = zipped_shapefile(sensors(), tmp_path / "cp1251.zip", encoding="cp1251", drop=(".cpg",))
    request = LoadRequest(layer=catalogue.get(LAYER), path=path, mapping=SHORT, dry_run=True)
    report = load_file(loaded.owner_conninfo, request, settings.ingestion).report.to_dict()
    assert [p["code"] for p in report["problems"]] == ["encoding"]
    fixed = LoadRequest(
        layer=catalogue.get(LAYER),
        path=path,
        mapping=SHORT,
        dry_run=True,
        source=SourceOptions(encoding="CP1251"),
    )
    assert load_file(loaded.owner_conninfo, fixed, settings.ingestion).report.problems == {}


def test_invalid_polygons_are_repaired_or_listed(
    loaded: Database, catalogue: Catalogue, settings: Settings, tmp_path: Path
) -> None:
    import geopandas as gpd

    layer = catalogue.get("cadastre_parcels")
    bowtie = Polygon([(74.60, 42.87), (74.61, 42.88), (74.61, 42.87), (74.60, 42.88)])
    spike = Polygon(
        [(74.60, 42.87), (74.61, 42.87), (74.61, 42.88), (74.61, 42.87), (74.60, 42.87)]
    )
    frame = gpd.GeoDataFrame(
        {
            "cadastral_code": ["1-01-01-0001-0001", "1-01-01-0001-0002"],
            "land_category": ["settlements"] * 2,
            "designated_use": ["individual_housing"] * 2,
            "area_m2": [100.0, 100.0],
            "registered_on": ["2020-01-01"] * 2,
        },
        geometry=[bowtie, spike],
        crs="EPSG:4326",
    )
    path = tmp_path / "parcels.geojson"
    frame.to_file(path)
    # the land register is never replaced (nothing in it is deleted): new parcels are appended
    request = LoadRequest(layer=layer, path=path, mode="append", dry_run=True)
    with pytest.raises(LoadRefusedError) as refused:
        load_file(loaded.owner_conninfo, request, settings.ingestion)
    found = _codes(refused.value)
    assert found["repaired_geometry"]["rows"] == [1] and not found["repaired_geometry"]["blocking"]
    assert found["invalid_geometry"]["rows"] == [2]


def test_a_reference_to_a_missing_feature_is_listed(
    loaded: Database, settings: Settings, generated: Path, tmp_path: Path
) -> None:
    import pyogrio

    from demo.generate import layer_file
    from geoportal.job_kinds import run_layer_load
    from jobs import JobFailedError

    bridges = pyogrio.read_dataframe(layer_file(generated, "bridges"), max_features=2)
    bridges.loc[1, "road_id"] = 999_999_999
    path = tmp_path / "bridges.geojson"
    bridges.drop(columns=["id"]).to_file(path)
    with pytest.raises(JobFailedError) as refused:
        run_layer_load(settings, {"layer": "bridges", "path": str(path), "dryRun": True})
    problems = (refused.value.results or {})["report"]["problems"]
    assert [(p["code"], p["rows"]) for p in problems] == [("reference", [2])]
