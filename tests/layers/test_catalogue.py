"""The layer catalogue: the shipped base declarations load and are complete; broken ones fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from layers.catalogue import Catalogue, declarations_dir, load_catalogue
from layers.errors import InvalidDeclarationError
from layers.model import LANGUAGES, Layer

DATA_DIR = Path(__file__).resolve().parents[2] / "demo" / "base" / "data"

BASE_IDS = {
    "country",
    "oblasts",
    "rayons",
    "settlements",
    "rivers",
    "lakes",
    "glaciers",
    "urban_areas",
    "peaks",
}
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
KYRGYZ_LETTERS = re.compile(r"[өүңӨҮҢ]")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _documented(catalogue) -> list:
    """Vector and raster layers: both carry the trilingual metadata."""
    return [*catalogue.layers, *catalogue.rasters]


ALL_IDS = BASE_IDS | {
    "roads",
    "bridges",
    "road_works",
    "agri_plots",
    "agri_plot_seasons",
    "agri_plot_ndvi",
    "agri_plot_ndvi_anomalies",
    "burned_areas",
    "landscape_changes",
    "irrigation_canals",
    "irrigation_structures",
    "water_user_associations",
    "irrigation_sensors",
    "irrigation_readings",
    "sports_facilities",
    "hazard_zones",
    "early_warning_areas",
    "buildings",
    "city_districts",
    "utility_lines",
    "environment_sensors",
    "cadastre_parcels",
    "cadastre_zones",
    "cadastre_blocks",
    "addresses",
}


def test_catalogue_loads_the_expected_ids(catalogue):
    """Every id is one of the agreed collection ids (`ALL_IDS`), declared once."""
    assert BASE_IDS <= set(catalogue.ids) <= ALL_IDS
    assert len(catalogue.ids) == len(set(catalogue.ids))
    assert [r.id for r in catalogue.rasters] == [
        "elevation",
        "slope",
        "hillshade",
        "ndvi",
        "ndwi",
        "nbr",
    ]


def test_base_layers_share_theme_schema_and_table_naming(catalogue):
    for layer in catalogue.by_theme("base"):
        assert layer.schema_name == "base"
        assert layer.table == layer.id
        assert layer.storage_srid == 4326
    assert {layer.id for layer in catalogue.by_theme("base")} == BASE_IDS


@pytest.mark.parametrize("attr", ["title", "abstract", "custodian"])
def test_texts_are_trilingual_and_distinct(catalogue, attr):
    for item in _documented(catalogue):
        text = getattr(item, attr)
        values = [text.get(lang).strip() for lang in LANGUAGES]
        assert all(values), f"{item.id}.{attr} has an empty language"
        assert len(set(values)) == 3, f"{item.id}.{attr} repeats a text across languages"
        assert CYRILLIC.search(text.ky) and CYRILLIC.search(text.ru), f"{item.id}.{attr}"
        assert not CYRILLIC.search(text.en), f"{item.id}.{attr}: Cyrillic in English"


def test_kyrgyz_abstracts_are_kyrgyz(catalogue):
    for item in _documented(catalogue):
        assert KYRGYZ_LETTERS.search(item.abstract.ky), f"{item.id}: abstract.ky is not Kyrgyz"


def test_keywords_per_language(catalogue):
    for item in _documented(catalogue):
        lists = {lang: getattr(item.keywords, lang) for lang in LANGUAGES}
        for lang, words in lists.items():
            assert 3 <= len(words) <= 8, f"{item.id}: {len(words)} {lang} keywords"
            assert all(w.strip() for w in words), f"{item.id}: empty {lang} keyword"
        assert lists["ky"] != lists["ru"] != lists["en"] != lists["ky"], item.id


def test_field_titles_are_trilingual(catalogue):
    for layer in catalogue:
        for field in layer.fields:
            assert all(field.title.get(lang).strip() for lang in LANGUAGES), (layer.id, field.name)
            assert field.title.en != field.title.ru, (layer.id, field.name)


def test_title_and_search_fields_exist(catalogue):
    for layer in catalogue:
        names = {f.name for f in layer.fields}
        if layer.title_field is not None:
            assert layer.title_field in names, layer.id
            assert layer.title_field in layer.search_fields, layer.id
        assert set(layer.search_fields) <= names, layer.id
        if "name_en" in names:
            assert layer.title_field == "name_en", layer.id


def test_source_files_exist(catalogue):
    for layer in catalogue:
        assert layer.source is not None, layer.id
        if layer.source.generated or layer.source.derived or layer.source.pipeline:
            continue  # written by `geoportal demo generate`, derived after a load, or by a pipeline
        assert (DATA_DIR / str(layer.source.file)).is_file(), layer.source.file
        for join in layer.source.joins:
            assert (DATA_DIR / join.file).is_file(), join.file
    for raster in catalogue.rasters:
        assert raster.file is None or (DATA_DIR / raster.file).is_file(), raster.file


def test_oblast_names_map_every_code(catalogue):
    oblasts = catalogue.get("oblasts")
    codes = set(oblasts.field("adm1_code").enum or [])
    assert len(codes) == 8
    for name in ("name_ky", "name_ru", "name_en"):
        source = oblasts.field(name).value_source
        assert source is not None and source.map is not None
        assert set(source.map) == codes, name
    assert oblasts.field("name_ky").value_source.map["KGZ-1122"] == "Ош облусу"
    assert oblasts.field("name_ru").value_source.map["KGZ-1122"] == "Ошская область"


def test_settlement_capital_maps_every_ne_feature_class(catalogue):
    import pyogrio

    frame = pyogrio.read_dataframe(DATA_DIR / "kg_places_ne.geojson", read_geometry=False)
    capital = catalogue.get("settlements").field("capital")
    mapping = capital.value_source.map
    assert set(frame["featurecla"]) == set(mapping)
    assert {v for v in mapping.values() if v is not None} == set(capital.enum)


# --------------------------------------------------------------------- broken declarations


def _base_document() -> dict:
    text = (declarations_dir() / "00_base.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _write(tmp_path: Path, document: dict) -> Path:
    (tmp_path / "broken.yaml").write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return tmp_path


def _peaks(document: dict) -> dict:
    return next(layer for layer in document["layers"] if layer["id"] == "peaks")


def test_base_document_round_trips(tmp_path):
    catalogue = load_catalogue(_write(tmp_path, _base_document()))
    assert set(catalogue.ids) == BASE_IDS


def test_duplicate_id_is_rejected(tmp_path):
    document = _base_document()
    copy = dict(_peaks(document), table="peaks_copy")
    document["layers"].append(copy)
    with pytest.raises(InvalidDeclarationError, match="peaks"):
        load_catalogue(_write(tmp_path, document))


def test_unknown_key_is_rejected(tmp_path):
    document = _base_document()
    _peaks(document)["colour"] = "red"
    with pytest.raises(InvalidDeclarationError, match="peaks") as info:
        load_catalogue(_write(tmp_path, document))
    assert "colour" in str(info.value)


def test_bad_identifier_is_rejected(tmp_path):
    document = _base_document()
    _peaks(document)["fields"][0]["name"] = "Name KY"
    with pytest.raises(InvalidDeclarationError, match="peaks"):
        load_catalogue(_write(tmp_path, document))


def test_zoom_min_above_max_is_rejected(tmp_path):
    document = _base_document()
    _peaks(document)["zoom"] = {"min": 12, "max": 6}
    with pytest.raises(InvalidDeclarationError, match="peaks") as info:
        load_catalogue(_write(tmp_path, document))
    assert "zoom min 12" in str(info.value)


def test_missing_language_is_rejected(tmp_path):
    document = _base_document()
    del _peaks(document)["abstract"]["ky"]
    with pytest.raises(InvalidDeclarationError, match="peaks") as info:
        load_catalogue(_write(tmp_path, document))
    assert "abstract.ky" in str(info.value)


def test_layer_model_accepts_schema_alias():
    document = _peaks(_base_document())
    layer = Layer.model_validate(document)
    assert layer.qualified_table == ("base", "peaks")


def _declaration(tmp_path: Path, **changes: object) -> Path:
    """A copy of the agriculture declarations with the agri_plots layer changed."""
    source = declarations_dir() / "20_agriculture.yaml"
    document = yaml.safe_load(source.read_text("utf-8"))
    document["layers"][0].update(changes)
    (tmp_path / "20_agriculture.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    return tmp_path


def test_restricted_fields_are_refused_as_public_table_columns(tmp_path: Path) -> None:
    document = yaml.safe_load((declarations_dir() / "20_agriculture.yaml").read_text("utf-8"))
    fields = document["layers"][0]["fields"]
    fields.append(
        {
            "name": "owner_pin",
            "type": "text",
            "public": False,
            "title": {"ky": "ПИН", "ru": "ПИН", "en": "PIN"},
        }
    )
    with pytest.raises(InvalidDeclarationError, match="restricted fields live in"):
        load_catalogue(_declaration(tmp_path, fields=fields))


def test_unknown_theme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidDeclarationError, match="not one of"):
        load_catalogue(_declaration(tmp_path, theme="farming"))


def test_restricted_tables_are_declared_apart(catalogue: Catalogue) -> None:
    tables = {r.id: r for r in catalogue.restricted_layers}
    assert set(tables) == {"agri_plot_operators", "cadastre_right_holders"}
    for table in tables.values():
        assert table.schema_name == "restricted" and not table.is_editable
        assert not any(f.public for f in table.fields)
        assert table.id not in catalogue.ids  # never a collection
    for layer in catalogue:
        assert all(f.public for f in layer.fields), layer.id


def test_every_allowed_value_is_labelled_in_three_languages(catalogue):
    for layer in catalogue:
        for layer_field in layer.fields:
            for value in layer_field.enum or []:
                label = layer_field.labels[value]
                assert label.ky and label.ru and label.en, (layer.id, layer_field.name, value)


def test_an_unlabelled_allowed_value_is_rejected(tmp_path):
    document = _base_document()
    peak_type = next(f for f in _peaks(document)["fields"] if f["name"] == "peak_type")
    del peak_type["labels"]["spot_elevation"]
    with pytest.raises(InvalidDeclarationError, match="peaks") as info:
        load_catalogue(_write(tmp_path, document))
    assert "peak_type" in str(info.value) and "spot_elevation" in str(info.value)


def test_a_label_of_a_value_not_allowed_is_rejected(tmp_path):
    document = _base_document()
    peak_type = next(f for f in _peaks(document)["fields"] if f["name"] == "peak_type")
    peak_type["labels"]["volcano"] = {"ky": "вулкан", "ru": "вулкан", "en": "volcano"}
    with pytest.raises(InvalidDeclarationError, match="volcano"):
        load_catalogue(_write(tmp_path, document))
