"""Vector files to rows: reading through GDAL, the declared field mapping, geometry checks and
repair, reprojection and feature ids, on small files written for each case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from ingestion.errors import (
    IngestionError,
    InvalidGeometryError,
    InvalidValueError,
    SchemaMismatchError,
    SourceNotFoundError,
)
from ingestion.vector import (
    feature_ids,
    field_values,
    prepare_geometries,
    prepare_layer,
    read_source,
    read_vector,
    source_path,
)
from layers.model import Layer

T = {"ky": "аталыш", "ru": "название", "en": "title"}
SQUARE = Polygon([(74.5, 42.8), (74.6, 42.8), (74.6, 42.9), (74.5, 42.9)])
BOWTIE = Polygon([(74.5, 42.8), (74.6, 42.9), (74.6, 42.8), (74.5, 42.9)])


def make_layer(**changes: Any) -> Layer:
    """A small declaration: sites (multipolygons) with a required name, a kind from a map, a
    population with a default, and a rank from 1 to 3."""
    declaration: dict[str, Any] = {
        "id": "tt_sites",
        "theme": "base",
        "schema": "base",
        "table": "tt_sites",
        "title": T,
        "abstract": T,
        "keywords": {"ky": ["а"], "ru": ["б"], "en": ["c"]},
        "geometry_type": "MultiPolygon",
        "custodian": T,
        "licence": "CC0-1.0",
        "attribution": "tests",
        "zoom": {"min": 0, "max": 14},
        "fields": [
            {"name": "name", "type": "text", "title": T, "required": True, "source": "NAME"},
            {
                "name": "kind",
                "type": "text",
                "title": T,
                "enum": ["park", "square"],
                "source": {"column": "KIND", "map": {"P": "park", "S": "square"}},
            },
            {
                "name": "population",
                "type": "integer",
                "title": T,
                "minimum": 0,
                "source": {"column": "POP", "default": 0},
            },
            {"name": "rank", "type": "integer", "title": T, "minimum": 1, "maximum": 3},
        ],
        "source": {"file": "sites.geojson"},
    }
    declaration.update(changes)
    return Layer.model_validate(declaration)


def write(
    folder: Path, name: str, rows: list[dict[str, Any]], geometry: list[Any], crs: Any = 4326
) -> Path:
    """A vector file written by GDAL (the driver from the extension)."""
    path = folder / name
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geometry, crs=crs)
    pyogrio.write_dataframe(frame, path)
    return path


def site(name: str = "Ала-Тоо", kind: str | None = "P", pop: int | None = 120) -> dict[str, Any]:
    return {"NAME": name, "KIND": kind, "POP": pop}


# reading


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"absent\.gpkg: no such file"):
        read_vector(tmp_path / "absent.gpkg")


@pytest.mark.parametrize("content", ["{ not json", "", "\x00\x01binary"])
def test_an_unreadable_file_is_named(tmp_path: Path, content: str) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text(content)
    with pytest.raises(SourceNotFoundError, match=r"broken\.geojson: cannot be read"):
        read_vector(path)


def test_a_table_without_geometry_is_refused_for_a_spatial_layer(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text("NAME,KIND\nx,P\n")
    with pytest.raises(InvalidGeometryError, match="has no geometry column"):
        read_vector(path)
    assert list(read_vector(path, geometry=False).columns) == ["NAME", "KIND"]


def test_a_file_without_crs_is_refused(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        path = write(tmp_path, "nocrs.gpkg", [site()], [SQUARE], crs=None)
    with pytest.raises(InvalidGeometryError, match="has no coordinate reference system"):
        read_vector(path)


def test_source_path_is_the_declared_file_or_an_error(tmp_path: Path) -> None:
    assert source_path(make_layer(), tmp_path) == tmp_path / "sites.geojson"
    with pytest.raises(SourceNotFoundError, match="is generated"):
        source_path(make_layer(source={"generated": True}), tmp_path)
    with pytest.raises(SourceNotFoundError, match="declares no source"):
        source_path(make_layer(source=None), tmp_path)


def test_a_join_adds_prefixed_columns_and_keeps_unmatched_rows(tmp_path: Path) -> None:
    write(tmp_path, "sites.geojson", [site("a"), site("b")], [SQUARE, SQUARE])
    (tmp_path / "extra.csv").write_text("NAME,LENGTH\na,12\n")
    layer = make_layer(
        source={
            "file": "sites.geojson",
            "joins": [{"file": "extra.csv", "on": "NAME", "prefix": "x_"}],
        }
    )
    frame = read_source(layer, tmp_path)
    assert list(frame["NAME"]) == ["a", "b"]
    assert frame["x_LENGTH"].tolist()[0] == "12" and pd.isna(frame["x_LENGTH"].tolist()[1])


@pytest.mark.parametrize(
    ("csv", "error", "message"),
    [
        ("OTHER,LENGTH\na,12\n", SchemaMismatchError, r"extra\.csv: join column 'NAME' is missing"),
        (
            "NAME,LENGTH\na,12\na,13\n",
            SchemaMismatchError,
            r"extra\.csv: join key 'NAME' = 'a' is there more than once",
        ),
    ],
)
def test_a_bad_join_file_is_refused(
    tmp_path: Path, csv: str, error: type[Exception], message: str
) -> None:
    write(tmp_path, "sites.geojson", [site("a")], [SQUARE])
    (tmp_path / "extra.csv").write_text(csv)
    layer = make_layer(
        source={
            "file": "sites.geojson",
            "joins": [{"file": "extra.csv", "on": "NAME", "prefix": "x_"}],
        }
    )
    with pytest.raises(error, match=message):
        read_source(layer, tmp_path)


# fields


def values_of(layer: Layer, name: str, frame: pd.DataFrame) -> list[Any]:
    return field_values(layer, next(f for f in layer.fields if f.name == name), frame, "f.gpkg")


def test_a_map_translates_and_passes_other_values_through() -> None:
    layer = make_layer()
    frame = pd.DataFrame({"KIND": ["P", "S", "square", None]})
    assert values_of(layer, "kind", frame) == ["park", "square", "square", None]


def test_a_default_replaces_a_missing_value_only() -> None:
    frame = pd.DataFrame({"POP": [5.0, None, float("nan")]})
    assert values_of(make_layer(), "population", frame) == [5, 0, 0]


def test_a_field_without_source_is_null_unless_required() -> None:
    layer = make_layer()
    assert values_of(layer, "rank", pd.DataFrame({"x": [1, 2]})) == [None, None]
    fields = [f.model_dump() for f in layer.fields]
    fields[3]["required"] = True
    with pytest.raises(SchemaMismatchError, match="field 'rank' of layer tt_sites is required"):
        values_of(make_layer(fields=fields), "rank", pd.DataFrame({"x": [1]}))


def test_a_generated_layer_reads_columns_by_field_name() -> None:
    layer = make_layer(source={"generated": True})
    assert values_of(layer, "rank", pd.DataFrame({"rank": [1, 3]})) == [1, 3]


@pytest.mark.parametrize(
    ("name", "column", "message"),
    [
        (
            "name",
            [None],
            r"f\.gpkg, feature 1, field 'name' \(from column 'NAME'\): a value is required",
        ),
        (
            "population",
            ["many"],
            r"feature 1, field 'population' .*not a whole number.*\(expected integer\)",
        ),
        ("population", [3, -1], r"feature 2, field 'population' .*-1 is below the minimum 0"),
        ("kind", ["X"], r"feature 1, field 'kind' .*'X' is not one of \['park', 'square'\]"),
    ],
)
def test_a_bad_value_names_the_file_feature_and_field(
    name: str, column: list[Any], message: str
) -> None:
    source = {"name": "NAME", "population": "POP", "kind": "KIND"}[name]
    with pytest.raises(InvalidValueError, match=message):
        values_of(make_layer(), name, pd.DataFrame({source: column}))


def test_a_missing_column_lists_the_columns_there_are() -> None:
    with pytest.raises(SchemaMismatchError, match=r"column 'NAME' .* columns: \['name'\]"):
        values_of(make_layer(), "name", pd.DataFrame({"name": ["x"]}))


# ids


@pytest.mark.parametrize(
    ("ids", "expected"),
    [(None, [1, 2, 3]), ([7, 3, 10], [7, 3, 10]), ([7.0, 3.0, 10.0], [7, 3, 10])],
)
def test_feature_ids_come_from_the_id_column_or_count_from_1(
    ids: list[Any] | None, expected: list[int]
) -> None:
    frame = pd.DataFrame({"x": [0, 0, 0]} | ({"id": ids} if ids is not None else {}))
    assert feature_ids(frame, "f.gpkg") == expected


@pytest.mark.parametrize("ids", [[1, 1, 2], [1, 2.5, 3], [1, None, 3], ["a", "b", "c"]])
def test_ids_must_be_unique_whole_numbers(ids: list[Any]) -> None:
    with pytest.raises(InvalidValueError, match="column 'id' must hold unique whole numbers"):
        feature_ids(pd.DataFrame({"id": ids}), "f.gpkg")


# geometries


def geometries(layer: Layer, geoms: list[Any], crs: Any = 4326) -> tuple[list[str], int]:
    return prepare_geometries(layer, gpd.GeoDataFrame(geometry=geoms, crs=crs), "f.gpkg")


def test_single_parts_are_promoted_and_written_as_ewkb_with_srid() -> None:
    hexes, repaired = geometries(make_layer(), [SQUARE])
    geom = shapely.from_wkb(hexes[0])
    assert repaired == 0 and isinstance(geom, MultiPolygon)
    assert shapely.get_srid(geom) == 4326 and geom.equals(MultiPolygon([SQUARE]))


def test_geometries_are_reprojected_to_the_storage_crs() -> None:
    utm = gpd.GeoSeries([SQUARE], crs=4326).to_crs(32643)
    hexes, _ = geometries(make_layer(), list(utm), crs=32643)
    back = shapely.from_wkb(hexes[0])
    assert shapely.get_srid(back) == 4326
    assert back.symmetric_difference(SQUARE).area < 1e-9


def test_an_invalid_geometry_is_refused_unless_repair_is_declared() -> None:
    with pytest.raises(
        InvalidGeometryError, match=r"feature 2: invalid geometry \(Self-intersection"
    ):
        geometries(make_layer(), [SQUARE, BOWTIE])
    layer = make_layer(source={"file": "sites.geojson", "repair_invalid": True})
    hexes, repaired = geometries(layer, [SQUARE, BOWTIE])
    assert repaired == 1
    assert all(shapely.is_valid(shapely.from_wkb(h)) for h in hexes)


@pytest.mark.parametrize(
    ("geom", "message"),
    [
        (None, "feature 1: geometry is missing or empty"),
        (Polygon(), "feature 1: geometry is missing or empty"),
        (Point(74.5, 42.8), "feature 1: Point where layer tt_sites holds MultiPolygon"),
    ],
)
def test_missing_and_wrong_geometries_are_refused(geom: Any, message: str) -> None:
    with pytest.raises(InvalidGeometryError, match=message):
        geometries(make_layer(), [geom])


# the whole file


def test_a_file_becomes_rows_in_declaration_order_with_its_bbox(tmp_path: Path) -> None:
    path = write(tmp_path, "sites.geojson", [site("a"), site("b", None, None)], [SQUARE, SQUARE])
    prepared = prepare_layer(make_layer(), tmp_path)
    assert prepared.columns == ("id", "name", "kind", "population", "rank", "geom")
    assert [row[:5] for row in prepared.rows] == [
        (1, "a", "park", 120, None),
        (2, "b", None, 0, None),
    ]
    assert prepared.bbox_4326 == pytest.approx((74.5, 42.8, 74.6, 42.9))
    assert prepared.source_file == path.name and prepared.repaired == 0


def test_a_table_layer_has_no_geometry_and_no_bbox(tmp_path: Path) -> None:
    (tmp_path / "sites.csv").write_text("NAME,KIND,POP\nx,S,3\n")
    layer = make_layer(geometry_type=None, source={"file": "sites.csv"})
    prepared = prepare_layer(layer, tmp_path)
    assert prepared.columns[-1] == "rank" and prepared.bbox_4326 is None
    assert prepared.rows == [(1, "x", "square", 3, None)]


def test_an_explicit_path_wins_over_the_declared_file(tmp_path: Path) -> None:
    other = write(tmp_path, "upload.gpkg", [site("u")], [SQUARE])
    prepared = prepare_layer(make_layer(), tmp_path, other)
    assert prepared.source_file == "upload.gpkg" and prepared.rows[0][1] == "u"


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(
        IngestionError, match=r"sites\.geojson: holds no features for layer tt_sites"
    ):
        prepare_layer(make_layer(), tmp_path)
