"""PMTiles exports: planning, oblast names, and archives read back with the `pmtiles` reader
and decoded with mapbox-vector-tile."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType
from psycopg import AsyncConnection

from geoportal.db.database import Database
from geoportal.db.pools import async_pool, tiles_spec
from geoportal.regions import RegionNotFoundError, get_oblast
from geoportal.tile_exports import ExportRequest, prepare_export
from layers.catalogue import Catalogue
from tests.tiles.conftest import PARCELS, PLACES
from tiles.cache import TileCache
from tiles.errors import InvalidTileRequestError, TilesetNotFoundError
from tiles.export import (
    ExportEmptyError,
    ExportResult,
    ExportTooLargeError,
    export_tileset,
    plan_export,
    service_renderer,
    write_pmtiles,
)
from tiles.service import TileService
from tiles.settings import TileSettings
from tiles.tilesets import build_registry
from tiles.types import BBox

SETTINGS = TileSettings()
BOUNDS = BBox(*SETTINGS.bounds_4326)
AROUND_BISHKEK = BBox(74.45, 42.78, 74.75, 42.95)


async def _export(
    database: Database,
    catalogue: Catalogue,
    request: ExportRequest,
    path: Path,
    max_tiles: int = 10_000,
) -> ExportResult:
    spec = tiles_spec(SETTINGS.model_copy(update={"statement_timeout_ms": 10_000}), max_size=4)
    async with async_pool(spec, database.public_conninfo) as pool:
        registry = build_registry(catalogue)
        service = TileService(pool, registry, TileCache(0, None), SETTINGS)
        async with pool.connection() as conn:
            prepared = await prepare_export(conn, catalogue, registry, SETTINGS, request, max_tiles)
        return await write_pmtiles(
            prepared.plan,
            service_renderer(service, prepared.plan.tileset),
            path,
            prepared.metadata,
            concurrency=3,
        )


def export(database: Database, catalogue: Catalogue, path: Path, **asked: Any) -> ExportResult:
    return asyncio.run(_export(database, catalogue, ExportRequest(**asked), path))


def read_archive(
    path: Path,
) -> tuple[dict[str, Any], dict[str, Any], dict[tuple[int, int, int], dict[str, Any]]]:
    """Header, metadata and every tile decoded, as a reader of the archive sees them."""
    with path.open("rb") as f:
        source = MmapSource(f)
        reader = Reader(source)
        header, meta = reader.header(), reader.metadata()
        tiles = {
            zxy: mapbox_vector_tile.decode(gzip.decompress(data)) for zxy, data in all_tiles(source)
        }
    return header, meta, tiles


@pytest.fixture(scope="module")
def parcels_archive(
    tile_catalogue: Catalogue, base_data: Database, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ExportResult, Path]:
    path = tmp_path_factory.mktemp("pmtiles") / "parcels.pmtiles"
    result = export(
        base_data,
        tile_catalogue,
        path,
        layers=("tt_parcels", "tt_places"),
        bbox=AROUND_BISHKEK,
        oblast=None,
        maxzoom=12,
    )
    return result, path


def test_archive_header_says_gzip_mvt_with_bounds_and_zooms(
    parcels_archive: tuple[ExportResult, Path],
) -> None:
    result, path = parcels_archive
    header, meta, tiles = read_archive(path)
    assert header["tile_type"] == TileType.MVT
    assert header["tile_compression"] == Compression.GZIP
    assert header["clustered"]
    assert (header["min_zoom"], header["max_zoom"]) == (4, 12)
    assert header["min_lon_e7"] == round(AROUND_BISHKEK.xmin * 1e7)
    assert header["max_lat_e7"] == round(AROUND_BISHKEK.ymax * 1e7)
    assert header["min_lon_e7"] < header["center_lon_e7"] < header["max_lon_e7"]
    assert len(tiles) == result.tiles == header["addressed_tiles_count"] > 0
    assert result.bytes == path.stat().st_size


def test_archive_metadata_lists_vector_layers(parcels_archive: tuple[ExportResult, Path]) -> None:
    meta = read_archive(parcels_archive[1])[1]
    layers = {layer["id"]: layer for layer in meta["vector_layers"]}
    assert set(layers) == {"tt_parcels", "tt_places"}
    assert set(layers["tt_parcels"]["fields"]) == {"name", "kind", "area_ha", "surveyed"}
    assert meta["bounds"] == list(AROUND_BISHKEK)
    assert (meta["minzoom"], meta["maxzoom"], meta["format"]) == (4, 12, "pbf")
    assert "tiles" not in meta


def test_archive_tiles_follow_the_zoom_rules_and_hold_no_restricted_field(
    parcels_archive: tuple[ExportResult, Path],
) -> None:
    _, _, tiles = read_archive(parcels_archive[1])
    for (z, _, _), layers in tiles.items():
        for name, layer in layers.items():
            keys = set().union(*(f["properties"] for f in layer["features"]))
            assert not keys & {"owner_pin", "phone"}
            if name == "tt_parcels":
                assert z >= 6
                assert keys == ({"name"} if z < 12 else {"name", "kind", "area_ha", "surveyed"})
    z12 = [layers for (z, _, _), layers in tiles.items() if z == 12]
    names = {
        f["properties"]["name"]
        for layers in z12
        for f in layers.get("tt_parcels", {}).get("features", [])
    }
    assert names == {"big", "tiny"}  # not the parcel near Osh, outside the box


def test_oblast_export_covers_only_tiles_touching_the_oblast(
    tile_catalogue: Catalogue, base_data: Database, tmp_path: Path
) -> None:
    path = tmp_path / "chuy.pmtiles"
    result = export(
        base_data,
        tile_catalogue,
        path,
        layers=("oblasts",),
        bbox=None,
        oblast="Чуйская область",
        maxzoom=7,
    )
    header, meta, tiles = read_archive(path)
    assert result.tiles == len(tiles) > 0
    names = {
        f["properties"]["name_en"]
        for (z, _, _), layers in tiles.items()
        if z == 7
        for f in layers["oblasts"]["features"]
    }
    assert "Chuy Region" in names and "Batken Region" not in names  # far from Chuy
    assert 72.0 < header["min_lon_e7"] / 1e7 < 74.0 and header["max_lon_e7"] / 1e7 < 79.5


def test_empty_area_is_an_error_and_leaves_no_file(
    tile_catalogue: Catalogue, base_data: Database, tmp_path: Path
) -> None:
    path = tmp_path / "empty.pmtiles"
    with pytest.raises(ExportEmptyError, match="nothing to export"):
        export(
            base_data,
            tile_catalogue,
            path,
            layers=("tt_parcels",),
            bbox=BBox(76.4, 41.5, 76.6, 41.7),
            oblast=None,
            minzoom=10,
            maxzoom=11,
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "spelling", ["Chuy", "chuy region", "ЧУЙСКАЯ ОБЛАСТЬ", "Чүй облусу", "kg-c", "Чуйская"]
)
def test_oblast_by_any_name(spelling: str, base_data: Database, catalogue: Catalogue) -> None:
    async def find() -> str:
        async with await AsyncConnection.connect(base_data.public_conninfo) as conn:
            return (await get_oblast(conn, catalogue.get("oblasts"), spelling)).label

    assert asyncio.run(find()) == "Chuy Region"


def test_unknown_oblast_lists_the_valid_names(base_data: Database, catalogue: Catalogue) -> None:
    async def find() -> None:
        async with await AsyncConnection.connect(base_data.public_conninfo) as conn:
            await get_oblast(conn, catalogue.get("oblasts"), "Atlantis")

    with pytest.raises(RegionNotFoundError) as caught:
        asyncio.run(find())
    assert "Atlantis" in str(caught.value)
    assert all(
        name in str(caught.value) for name in ("Talas Region", "Нарын облусу", "Ошская область")
    )


def test_plan_refuses_too_many_tiles_and_names_the_zoom_that_fits() -> None:
    tileset = export_tileset(build_registry([PARCELS]), ["tt_parcels"])
    with pytest.raises(ExportTooLargeError, match=r"limit of 1,000; maxzoom \d+ fits"):
        plan_export(tileset, shapely.box(*BOUNDS), None, 16, BOUNDS, 1_000)


def test_plan_orders_tiles_and_caps_zooms() -> None:
    tileset = export_tileset(build_registry([PARCELS, PLACES]), ["tt_parcels", "tt_places"])
    plan = plan_export(tileset, shapely.box(*AROUND_BISHKEK), None, 20, BOUNDS, 100_000)
    assert (plan.minzoom, plan.maxzoom) == (4, 16)  # the layers' own range
    assert [t.z for t in plan.tiles] == sorted(t.z for t in plan.tiles)


@pytest.mark.parametrize(
    ("region", "minzoom", "maxzoom", "message"),
    [
        (shapely.box(10, 10, 11, 11), None, 10, "outside the served area"),
        (shapely.box(74, 42, 75, 43), 12, 10, "minzoom <= maxzoom"),
        (shapely.box(74, 42, 75, 43), 17, 18, "above them"),
        (shapely.box(74, 42, 75, 43), None, 30, "maxzoom <= 24"),
    ],
)
def test_plan_refuses_bad_areas_and_zooms(
    region: Any, minzoom: int | None, maxzoom: int, message: str
) -> None:
    tileset = export_tileset(build_registry([PARCELS]), ["tt_parcels"])
    with pytest.raises(InvalidTileRequestError, match=message):
        plan_export(tileset, region, minzoom, maxzoom, BOUNDS, 100_000)


@pytest.mark.parametrize(
    ("ids", "error"),
    [
        ([], InvalidTileRequestError),
        (["basemap", "tt_parcels"], InvalidTileRequestError),
        (["nope"], TilesetNotFoundError),
    ],
)
def test_layer_lists_that_name_nothing_exportable(ids: list[str], error: type[Exception]) -> None:
    with pytest.raises(error):
        export_tileset(build_registry([PARCELS, PLACES]), ids)
