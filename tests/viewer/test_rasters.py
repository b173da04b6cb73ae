"""Raster layers of the viewer configuration: products with scenes, legend, scene dates."""

from __future__ import annotations

from pathlib import Path

from geoportal.viewer.rasters import add_raster_layers
from layers.catalogue import Catalogue
from tests.support.rasters import write_product


def test_products_with_scenes_join_the_panel(tmp_path: Path, catalogue: Catalogue) -> None:
    write_product(tmp_path, "ndvi", "a", 0.5, "2024-06-01T06:00:00Z")
    write_product(tmp_path, "ndvi", "b", 0.5, "2024-07-01T06:00:00Z")
    write_product(tmp_path, "hillshade", "dem", 200, "2023-01-01T00:00:00Z")
    config = {"base": "http://x", "layers": [], "themes": [{"id": "base", "title": {}}]}
    add_raster_layers(config, catalogue, tmp_path)
    layers = {layer["id"]: layer for layer in config["layers"]}
    assert set(layers) == {"ndvi", "hillshade"}  # no scene of slope, ndwi, ...
    ndvi = layers["ndvi"]
    assert ndvi["raster_tiles"].startswith("http://x/collections/ndvi/map/tiles/WebMercatorQuad/")
    assert ndvi["time"] == {"begin": "2024-06-01", "end": "2024-07-01"}
    assert len(ndvi["legend"]["entries"]) == 5 and ndvi["legend"]["entries"][0]["value"] == "-0.2"
    assert layers["hillshade"]["visible"] and layers["hillshade"]["time"] is None
    assert {"base", "agriculture"} <= {theme["id"] for theme in config["themes"]}
