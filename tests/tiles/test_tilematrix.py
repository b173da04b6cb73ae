"""Tile matrix sets: existence checks, limits, zoom equivalence."""

from __future__ import annotations

import pytest

from tiles.errors import TileMatrixSetNotFoundError, TileOutOfRangeError
from tiles.tilematrix import get_tile_matrix_set
from tiles.types import BBox, TileCoord

KG = BBox(69.0, 39.0, 80.5, 43.5)


def test_unknown_set_names_the_supported_ones() -> None:
    with pytest.raises(TileMatrixSetNotFoundError, match="WebMercatorQuad, WorldCRS84Quad"):
        get_tile_matrix_set("GoogleCRS84Quad")


@pytest.mark.parametrize(
    ("tms", "tile"),
    [
        ("WebMercatorQuad", TileCoord(25, 0, 0)),
        ("WebMercatorQuad", TileCoord(2, 4, 0)),
        ("WorldCRS84Quad", TileCoord(0, 0, 1)),
        ("WorldCRS84Quad", TileCoord(0, -1, 0)),
    ],
)
def test_tiles_outside_the_matrix_are_refused(tms: str, tile: TileCoord) -> None:
    with pytest.raises(TileOutOfRangeError):
        get_tile_matrix_set(tms).check_tile(tile)


def test_limits_cover_the_country_at_each_zoom() -> None:
    limits = get_tile_matrix_set("WebMercatorQuad").limits(KG, 5, 7)
    assert [item["tileMatrix"] for item in limits] == ["5", "6", "7"]
    z6 = limits[1]
    assert (z6["minTileCol"], z6["maxTileCol"], z6["minTileRow"], z6["maxTileRow"]) == (
        44,
        46,
        23,
        24,
    )


def test_crs84_matrices_map_to_web_mercator_zooms() -> None:
    crs84 = get_tile_matrix_set("WorldCRS84Quad")
    assert [crs84.web_mercator_zoom(z) for z in range(4)] == [1, 2, 3, 4]
    assert crs84.zoom_from_web_mercator(10) == 9
    assert crs84.srid == 4326 and get_tile_matrix_set("WebMercatorQuad").srid == 3857


def test_bounds_intersect() -> None:
    tile = get_tile_matrix_set("WebMercatorQuad").bounds_4326(TileCoord(10, 724, 376))
    assert tile.intersects(BBox(74.6, 42.87, 74.6, 42.87))
    assert not tile.intersects(BBox(72.8, 40.5, 72.8, 40.5))
