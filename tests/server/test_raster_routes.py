"""Map tiles of the raster collections and coverages over real HTTP."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import httpx
import morecantile
import pytest
from PIL import Image
from rasterio.io import MemoryFile

from tests.support.rasters import write_product
from tests.support.server import LiveServer

Z = 8
TILE = morecantile.tms.get("WebMercatorQuad").tile(74.3, 42.8, Z)
TILE_PATH = f"/collections/ndvi/map/tiles/WebMercatorQuad/{Z}/{TILE.y}/{TILE.x}"


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    bank = live_server.settings.data_dir / "imagery"
    write_product(bank, "ndvi", "t-s2-0601", 0.9, "2024-06-01T06:00:00Z")
    write_product(bank, "ndvi", "t-s2-0701", 0.1, "2024-07-01T06:00:00Z")
    with live_server.client() as client:
        yield client


def served_from_memory(http: httpx.Client, params: dict[str, str], seconds: float = 15) -> bool:
    """Whether the tile comes from the memory cache again, within `seconds`: the cache is
    used only while this process' change listener receives, and an earlier test of the
    session may have cut it off (it reconnects and catches up) or published a change."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if http.get(TILE_PATH, params=params).headers["x-tile-cache"] == "memory":
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("fmt,media", [("png", "image/png"), ("webp", "image/webp")])
def test_map_tile_is_an_image(http: httpx.Client, fmt: str, media: str) -> None:
    response = http.get(TILE_PATH, params={"f": fmt, "datetime": "2024-06-01"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media
    assert response.headers["x-scene"] == "t-s2-0601"
    image = Image.open(io.BytesIO(response.content)).convert("RGBA")
    assert image.size == (256, 256)
    assert image.getchannel("A").getextrema() == (0, 255)  # data and transparent nodata
    assert served_from_memory(http, {"f": fmt, "datetime": "2024-06-01"})
    unchanged = http.get(
        TILE_PATH,
        params={"f": fmt, "datetime": "2024-06-01"},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert unchanged.status_code == 304


def test_latest_scene_by_default_and_unknown_date_is_a_problem(http: httpx.Client) -> None:
    assert http.get(TILE_PATH).headers["x-scene"] == "t-s2-0701"
    missing = http.get(TILE_PATH, params={"datetime": "2020-01-01"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "2024-06-01" in missing.json()["detail"]
    bad = http.get(TILE_PATH, params={"rescale": "1"})
    assert bad.status_code == 400 and "rescale" in bad.json()["detail"]


def test_outside_the_scene_is_204_and_tilesets_list_the_dates(http: httpx.Client) -> None:
    assert http.get("/collections/ndvi/map/tiles/WebMercatorQuad/8/0/0").status_code == 204
    sets = http.get("/collections/ndvi/map/tiles").json()
    assert {"2024-06-01T06:00:00+00:00", "2024-07-01T06:00:00+00:00"} <= set(sets["datetimes"])
    assert sets["legend"]["colormap"] == "rdylgn"
    assert http.get("/collections/roads/map/tiles").status_code == 404


def test_coverage_subset_reads_back_with_gdal(http: httpx.Client) -> None:
    response = http.get(
        "/collections/elevation/coverage", params={"bbox": "74,42,75,43", "f": "GeoTIFF"}
    )
    assert response.status_code == 200, response.text[:500]
    with MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert dataset.crs.to_epsg() == 4326
        left, bottom, right, top = dataset.bounds
        assert left == pytest.approx(74, abs=0.02) and top == pytest.approx(43, abs=0.02)
        assert right == pytest.approx(75, abs=0.02) and bottom == pytest.approx(42, abs=0.02)
        heights = dataset.read(1)
        assert dataset.shape == (120, 120)  # whole 30" cells
        assert 500 < heights.min() and heights.max() < 7005  # real GEBCO heights, no fill


def test_openapi_lists_the_raster_and_stac_routes(live_server: LiveServer) -> None:
    paths = httpx.get(f"{live_server.url}/openapi", params={"f": "json"}, timeout=60).json()[
        "paths"
    ]
    for path in (
        "/collections/{collectionId}/map/tiles",
        "/collections/{collectionId}/map/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        "/stac",
        "/stac/search",
        "/stac/collections/{collectionId}/items/{itemId}",
        "/collections/elevation/coverage",
    ):
        assert path in paths, path
    assert "post" in paths["/stac/search"]
