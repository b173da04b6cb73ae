"""The tile provider that makes pygeoapi describe our tiles (links, OpenAPI paths)."""

from __future__ import annotations

from pygeoapi.openapi import get_oas

from geoportal.db.database import Database
from geoportal.providers.tiles import GeoportalTileProvider, tile_provider_config
from geoportal.server.pygeoapi_config import build_config
from layers.catalogue import Catalogue


def test_openapi_lists_the_tile_paths(base_data: Database, catalogue: Catalogue) -> None:
    base = Catalogue(layers=tuple(catalogue.by_theme("base")))
    config = build_config(
        base,
        public_url="http://localhost:5000",
        host="localhost",
        port=5000,
        conninfo=base_data.public_conninfo,
        extents={},
        statement_timeout_ms=5000,
    )
    for layer in base:
        config["resources"][layer.id]["providers"].append(tile_provider_config(layer))
    paths = get_oas(config, fail_on_invalid_collection=True)["paths"]
    assert "/collections/rivers/tiles" in paths
    assert "/collections/rivers/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}" in paths


def test_provider_describes_without_serving(catalogue: Catalogue) -> None:
    provider = GeoportalTileProvider(tile_provider_config(catalogue.get("lakes")))
    assert provider.get_layer() == "lakes" and provider.tile_type == "vector"
    assert [s.tileMatrixSet for s in provider.get_tiling_schemes()] == [
        "WebMercatorQuad",
        "WorldCRS84Quad",
    ]
    links = provider.get_tiles_service(
        servicepath="http://x/collections/lakes/tiles/"
        "{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}?f=mvt"
    )
    assert links["links"][0]["href"].endswith("{tileCol}")
