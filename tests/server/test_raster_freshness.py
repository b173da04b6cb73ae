"""Raster products follow ingestion in a running server: map tiles in the vector tiles' cache
(disk included: a tile survives a restart) dropped when a scene of their collection is
ingested; a product's first scene served as a coverage, a map tileset and a viewer layer
without a restart."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import morecantile
import numpy as np
import psycopg
import pytest
import rasterio
from rasterio.io import MemoryFile
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds

from demo.imagery.scenes import SceneSpec
from geoportal.db.database import Database
from geoportal.settings import Settings
from imagery import bank
from imagery.catalog import asset_path, item_dir, read_item
from imagery.pipeline import IngestResult, ingest_scene
from tests.support.imagery import BEFORE, GRID, make_scene
from tests.support.rasters import write_product
from tests.support.server import free_port, start_server

# the synthetic scene's centre (UTM 43N) is about 74.51 E, 42.89 N
LON, LAT = 74.512, 42.893
TILE = morecantile.tms.get("WebMercatorQuad").tile(LON, LAT, 12)
BBOX_UTM = (GRID.x0 + 200, GRID.y0 - 760, GRID.x0 + 760, GRID.y0 - 200)


def tile_path(collection: str) -> str:
    return f"/collections/{collection}/map/tiles/WebMercatorQuad/12/{TILE.y}/{TILE.x}"


def wait_for(check: Callable[[], Any], seconds: float = 5.0) -> Any:
    """Poll `check()` until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, f"not true within {seconds} s"
        time.sleep(0.05)
    return result


@pytest.fixture
def server_settings(settings: Settings) -> Settings:
    """The session's settings (database, data directory, tile cache) on a port of its own:
    another server process of the same deployment."""
    return settings.model_copy(update={"port": free_port()})


@pytest.fixture
def bank_items(loaded: Database, settings: Settings) -> Iterator[list[tuple[str, str]]]:
    """(collection, item id) of what a test puts in the bank; removed afterwards (folder,
    pgstac row) so the session's other raster tests see the bank as they left it."""
    made: list[tuple[str, str]] = []
    yield made
    for collection, item_id in made:
        shutil.rmtree(item_dir(settings.data_dir, collection, item_id), ignore_errors=True)
    with psycopg.connect(loaded.owner_conninfo) as conn:
        stored = {
            (c, i) for c, i in conn.execute("SELECT collection, id FROM pgstac.items").fetchall()
        }
        for collection, item_id in made:
            if (collection, item_id) in stored:
                bank.delete_item(conn, item_id, collection)


def ingest(
    owner_conninfo: str, data_dir: Path, tmp: Path, made: list[tuple[str, str]]
) -> IngestResult:
    """`geoportal imagery ingest` of a small synthetic Sentinel-2 scene: its COGs and items
    in the bank's folder, then published in pgstac (which tells the servers)."""
    truth = make_scene(tmp / "scene", SceneSpec(BEFORE, "sentinel2", clouds=0))
    result = ingest_scene(truth.path, data_dir)
    written = [result.scene, *result.products.values()]
    made.extend((str(item.collection_id), item.id) for item in written)
    items = [
        read_item(item_dir(data_dir, str(item.collection_id), item.id) / "item.json")
        for item in written
    ]
    with psycopg.connect(owner_conninfo) as conn:
        bank.publish(conn, items)
    return result


def test_a_products_first_scene_is_served_without_restart(
    server_settings: Settings, loaded: Database, tmp_path: Path, bank_items: list
) -> None:
    data_dir = server_settings.data_dir
    with start_server(server_settings) as server, server.client() as http:
        empty = http.get(
            "/collections/ndwi/coverage", params={"f": "GeoTIFF", "bbox": "74.5,42.88,74.52,42.9"}
        )
        assert empty.status_code == 404, empty.text[:300]
        assert empty.headers["content-type"].startswith("application/problem+json")
        assert "no scene ingested yet for ndwi" in empty.json()["detail"]
        assert http.get(tile_path("ndwi")).status_code == 404
        ids = {
            c["id"] for c in http.get("/collections", params={"f": "json"}).json()["collections"]
        }
        assert "ndwi" in ids
        assert "ndwi" not in _viewer_rasters(http)

        result = ingest(loaded.owner_conninfo, data_dir, tmp_path, bank_items)
        cog = asset_path(data_dir, "ndwi", result.products["ndwi"].id)

        bbox = transform_bounds("EPSG:32643", "EPSG:4326", *BBOX_UTM)
        subset = http.get(
            "/collections/ndwi/coverage",
            params={"f": "GeoTIFF", "bbox": ",".join(f"{v:.6f}" for v in bbox)},
        )
        assert subset.status_code == 200, subset.text[:300]
        with (
            MemoryFile(subset.content) as memfile,
            memfile.open() as got,
            rasterio.open(cog) as src,
        ):
            assert got.crs == src.crs and got.count == 1
            box = transform_bounds("EPSG:4326", src.crs, *(round(v, 6) for v in bbox))
            window = from_bounds(*box, transform=src.transform).round_offsets().round_lengths()
            assert got.shape == (int(window.height), int(window.width))
            np.testing.assert_array_equal(got.read(1), src.read(1, window=window))
            assert got.bounds.left == pytest.approx(box[0], abs=10)
        assert http.get(tile_path("ndwi")).status_code == 200
        assert "ndwi" in _viewer_rasters(http)


def _viewer_rasters(http: httpx.Client) -> set[str]:
    layers = http.get("/map/config.json").json()["layers"]
    return {layer["id"] for layer in layers if layer.get("kind") == "raster"}


def test_map_tiles_are_shared_by_the_processes_and_follow_a_new_scene(
    server_settings: Settings, loaded: Database, tmp_path: Path, bank_items: list
) -> None:
    data_dir = server_settings.data_dir
    write_product(data_dir / "imagery", "nbr", "t-nbr-2024", 0.3, "2024-05-01T06:00:00Z")
    bank_items.append(("nbr", "t-nbr-2024"))
    path = tile_path("nbr")
    other = server_settings.model_copy(update={"port": free_port()})
    with (
        start_server(server_settings) as one,
        start_server(other) as two,
        one.client() as a,
        two.client() as b,
    ):
        first = a.get(path)
        assert first.status_code == 200 and first.headers["x-tile-cache"] == "rendered"
        assert first.headers["cache-control"] == "public, max-age=60"
        assert a.get(path).headers["x-tile-cache"] == "memory"
        stored = list((data_dir / "tiles" / "map" / "nbr").rglob("*.png"))
        assert len(stored) == 1
        shared = b.get(path)  # another process: from the disk cache
        assert shared.headers["x-tile-cache"] == "disk"
        assert shared.headers["etag"] == first.headers["etag"]
        assert shared.content == first.content
        assert b.get(path, headers={"If-None-Match": first.headers["etag"]}).status_code == 304

        result = ingest(loaded.owner_conninfo, data_dir, tmp_path, bank_items)
        wait_for(lambda: not stored[0].exists())  # a listener dropped the collection's tiles
        for http in (a, b):
            fresh = http.get(path)
            assert fresh.status_code == 200 and fresh.headers["x-tile-cache"] != "memory"
            assert fresh.headers["x-scene"] == result.products["nbr"].id
            assert fresh.headers["etag"] != first.headers["etag"]
