"""Raster map tiles from tiny COGs: decoded, coloured, nodata transparent, cache dropped on
replace, scenes chosen by datetime."""

from __future__ import annotations

import io
from pathlib import Path

import morecantile
import pytest
from PIL import Image
from rio_tiler.colormap import cmap

from tests.support.rasters import write_product
from tiles.cache import TileCache
from tiles.errors import InvalidTileRequestError, SceneNotFoundError, TilesetNotFoundError
from tiles.raster import RasterRequest, RasterTiles, parse_datetime
from tiles.types import TileCoord

Z = 8
TILE = morecantile.tms.get("WebMercatorQuad").tile(
    74.3, 42.8, Z
)  # north-west part of the COG: has the nodata hole


def request(collection: str = "ndvi", **options: object) -> RasterRequest:
    return RasterRequest(
        collection,
        "WebMercatorQuad",
        TileCoord(Z, TILE.x, TILE.y),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    write_product(tmp_path, "ndvi", "s2-0601", 0.9, "2024-06-01T06:00:00Z")
    write_product(tmp_path, "ndvi", "s2-0701", -0.2, "2024-07-01T06:00:00Z")
    return tmp_path


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGBA")


@pytest.mark.parametrize("fmt,kind", [("png", "PNG"), ("webp", "WEBP")])
def test_tile_decodes_with_colour_and_transparent_nodata(bank: Path, fmt: str, kind: str) -> None:
    tiles = RasterTiles(bank, TileCache(1 << 24))
    rendered = tiles.render(request(fmt=fmt, datetime="2024-06-01"))
    image = Image.open(io.BytesIO(rendered.tile.data))
    assert image.format == kind and image.size == (256, 256)
    rgba = decode(rendered.tile.data)
    alpha = rgba.getchannel("A")
    assert alpha.getextrema() == (0, 255)  # both nodata (transparent) and data in the tile
    top = tuple(int(v) for v in cmap.get("rdylgn")[255][:3])  # 0.9 is the top of the NDVI ramp
    opaque = [p[:3] for p in rgba.getdata() if p[3] == 255]
    if fmt == "png":
        assert set(opaque) == {top}
    else:  # lossy
        assert all(
            abs(a - b) <= 12 for pixel in opaque[:50] for a, b in zip(pixel, top, strict=True)
        )
    left_column = [rgba.getpixel((0, row))[3] for row in range(0, 256, 32)]
    assert 0 in left_column  # the western nodata strip is transparent


def test_latest_scene_by_default_and_datetime_chooses(bank: Path) -> None:
    tiles = RasterTiles(bank, TileCache(1 << 24))
    assert tiles.render(request()).scene.item_id == "s2-0701"
    assert tiles.render(request(datetime="2024-06-01")).scene.item_id == "s2-0601"
    assert tiles.render(request(datetime="../2024-06-30")).scene.item_id == "s2-0601"
    with pytest.raises(SceneNotFoundError, match="2024-06-01, 2024-07-01"):
        tiles.render(request(datetime="2025-01-01"))


def test_cache_hit_then_dropped_when_the_scene_is_replaced(bank: Path) -> None:
    tiles = RasterTiles(bank, TileCache(1 << 24))
    first = tiles.render(request())
    cached = tiles.find_cached(request())
    assert cached is not None and cached.tile.etag == first.tile.etag
    write_product(bank, "ndvi", "s2-0701", 0.5, "2024-07-01T06:00:00Z")  # replaced
    tiles.replaced("ndvi")
    assert tiles.find_cached(request()) is None
    again = tiles.render(request())
    assert again.tile.etag != first.tile.etag


def test_outside_the_scene_is_empty(bank: Path) -> None:
    tiles = RasterTiles(bank, TileCache(1 << 24))
    far = RasterRequest("ndvi", "WebMercatorQuad", TileCoord(Z, 0, 0))
    assert tiles.render(far).tile.is_empty


def test_bad_requests_are_named(bank: Path) -> None:
    tiles = RasterTiles(bank, TileCache(1 << 24))
    with pytest.raises(TilesetNotFoundError, match="roads"):
        tiles.render(request("roads"))
    with pytest.raises(InvalidTileRequestError, match="colormap"):
        tiles.render(request(colormap="nope"))
    with pytest.raises(InvalidTileRequestError, match="datetime"):
        parse_datetime("June")
