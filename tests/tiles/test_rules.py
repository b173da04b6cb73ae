"""Per-zoom tile rules and the tilesets built from the catalogue."""

from __future__ import annotations

import pytest

from layers.catalogue import Catalogue
from layers.model import Layer
from tests.tiles.conftest import PARCELS, PLACES, declare_layer
from tiles.errors import TilesConfigError
from tiles.rules import all_tile_fields, zoom_rules
from tiles.tilesets import BASEMAP_LAYERS, build_registry


def test_default_rules_use_public_fields_and_generalise_below_max_zoom() -> None:
    layer = declare_layer(
        "plain",
        "MultiPolygon",
        [
            {"name": "a", "type": "text", "title": {"ky": "a", "ru": "a", "en": "a"}},
            {
                "name": "secret",
                "type": "text",
                "public": False,
                "title": {"ky": "s", "ru": "s", "en": "s"},
            },
        ],
        zoom={"min": 5, "max": 12},
    )
    low, top = zoom_rules(layer, 5, 100), zoom_rules(layer, 12, 100)
    assert low.field_names == top.field_names == ("a",)
    assert low.simplify_px > 0 and low.min_size_px > 0
    assert top.simplify_px == 0 and top.min_size_px == 0
    assert low.max_features == 100


def test_bands_choose_fields_cap_and_priority() -> None:
    assert zoom_rules(PARCELS, 8, 100).field_names == ("name",)
    assert zoom_rules(PARCELS, 12, 100).field_names == ("name", "kind", "area_ha", "surveyed")
    assert zoom_rules(PLACES, 4, 100).max_features == 3
    assert zoom_rules(PLACES, 4, 100).priority == "population"
    assert [f.name for f in all_tile_fields(PARCELS)] == ["name", "kind", "area_ha", "surveyed"]


@pytest.mark.parametrize(
    "band",
    [
        {"min_zoom": 4, "fields": ["phone"]},
        {"min_zoom": 4, "priority": "phone"},
        {"min_zoom": 4, "fields": ["nope"]},
    ],
)
def test_rules_naming_restricted_or_unknown_fields_are_refused(band: dict) -> None:
    bad = PLACES.model_copy(
        update={
            "tiles": PLACES.tiles.model_copy(  # type: ignore[union-attr]
                update={"bands": [PLACES.tiles.bands[0].model_copy(update=band)]}
            )
        }
    )  # type: ignore[union-attr]
    with pytest.raises(TilesConfigError, match="phone|nope"):
        build_registry([bad])


def test_declared_catalogue_builds_a_basemap(catalogue: Catalogue) -> None:
    registry = build_registry(catalogue)
    basemap = registry.get_basemap()
    names = [item.name for item in basemap.layers]
    assert names == [name for name in BASEMAP_LAYERS if name in catalogue.ids]
    assert {"country", "oblasts", "rayons", "lakes", "rivers", "settlements"} <= set(names)
    assert registry.keys_for_table("base", "lakes") == {"collections/lakes", "basemap"}
    assert registry.keys_for_table("base", "peaks") == {"collections/peaks"}


def test_layers_without_geometry_have_no_tiles() -> None:
    table = Layer.model_validate(
        {
            **PLACES.model_dump(by_alias=True),
            "id": "readings",
            "table": "readings",
            "geometry_type": None,
            "tiles": None,
        }
    )
    assert build_registry([table]).collections == {}
