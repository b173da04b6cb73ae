"""Scene ingest in both band layouts: masks checked pixel by pixel against what the generator
put in, reflectance and indices against values computed by hand from the digital numbers, the
COGs valid with overviews, the STAC items valid (offline) and marked synthetic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS
from rio_cogeo.cogeo import cog_validate

from demo.imagery.scenes import SceneSpec
from imagery import catalog
from imagery.cog import write_cog
from imagery.errors import SceneFormatError, SensorNotDetectedError
from imagery.pipeline import ingest_scene
from imagery.scene import open_scene
from tests.support.imagery import BEFORE, make_scene


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def dn_of(scene_path: Path, band: str) -> np.ndarray:
    scene = open_scene(scene_path)
    ref = scene.bands[band]
    with rasterio.open(ref.path) as src:
        return src.read(ref.index).astype("float64")


@pytest.mark.parametrize(
    ("sensor", "layout", "collection"),
    [
        ("sentinel-2", "folder", "sentinel-2-l2a"),
        ("sentinel-2", "multiband", "sentinel-2-l2a"),
        ("landsat", "folder", "landsat-c2-l2"),
    ],
)
def test_masks_pixel_by_pixel(tmp_path: Path, sensor: str, layout: str, collection: str) -> None:
    truth = make_scene(tmp_path / "src", SceneSpec(BEFORE, sensor, layout, clouds=2))
    result = ingest_scene(truth.path, tmp_path / "data", chunk=64)
    masked = truth.cloud | truth.shadow | truth.nodata
    assert truth.cloud.any() and truth.shadow.any() and truth.nodata.any()
    assert result.scene.collection_id == collection
    for common in ("red", "nir", "swir22"):
        values = read(catalog.asset_path(tmp_path / "data", collection, result.scene.id, common))
        assert np.array_equal(np.isnan(values), masked), common
    ndvi = read(catalog.asset_path(tmp_path / "data", "ndvi", result.scene.id))
    assert np.array_equal(np.isnan(ndvi), masked)
    imaged = ~truth.nodata
    expected_cover = 100 * (truth.cloud | truth.shadow)[imaged].sum() / imaged.sum()
    assert result.scene.properties["eo:cloud_cover"] == pytest.approx(expected_cover, abs=0.01)


def test_sentinel2_reflectance_and_indices_by_hand(tmp_path: Path) -> None:
    truth = make_scene(tmp_path / "src", SceneSpec(BEFORE, clouds=1))
    result = ingest_scene(truth.path, tmp_path / "data", chunk=48)
    item_id = result.scene.id
    red_dn, nir_dn, green_dn, swir_dn = (dn_of(truth.path, b) for b in ("B04", "B08", "B03", "B12"))
    red, nir = (red_dn - 1000) / 10_000, (nir_dn - 1000) / 10_000  # baseline 05.11: offset -1000
    green, swir = (green_dn - 1000) / 10_000, (swir_dn - 1000) / 10_000
    clear = ~(truth.cloud | truth.shadow | truth.nodata)
    for row, col in [(10, 80), (50, 50), (90, 20), (30, 70)]:
        assert clear[row, col]
        got = read(catalog.asset_path(tmp_path / "data", "sentinel-2-l2a", item_id, "red"))
        assert got[row, col] == pytest.approx(red[row, col], abs=1e-6)
        expected = {
            "ndvi": (nir - red) / (nir + red),
            "ndwi": (green - nir) / (green + nir),
            "nbr": (nir - swir) / (nir + swir),
        }
        for name, values in expected.items():
            product = read(catalog.asset_path(tmp_path / "data", name, item_id))
            assert product[row, col] == pytest.approx(values[row, col], abs=1e-5), name


def test_landsat_scaling_by_hand(tmp_path: Path) -> None:
    truth = make_scene(tmp_path / "src", SceneSpec(BEFORE, "landsat", clouds=0))
    result = ingest_scene(truth.path, tmp_path / "data")
    red = dn_of(truth.path, "SR_B4") * 0.0000275 - 0.2
    got = read(catalog.asset_path(tmp_path / "data", "landsat-c2-l2", result.scene.id, "red"))
    clear = ~truth.nodata
    assert np.allclose(got[clear], red[clear], atol=1e-6)


def test_cogs_and_items(tmp_path: Path) -> None:
    truth = make_scene(tmp_path / "src", SceneSpec(BEFORE, clouds=1))
    data = tmp_path / "data"
    result = ingest_scene(truth.path, data, chunk=64)
    for item in [result.scene, *result.products.values()]:
        catalog.validate(item)
        assert item.properties["synthetic"] is True
        assert "synthetic" in item.properties["description"].lower()
        assert item.properties["proj:epsg"] == 32643
        assert item.datetime == BEFORE
        for asset in item.assets.values():
            path = catalog.item_dir(data, str(item.collection_id), item.id) / asset.href[2:]
            valid, errors, _ = cog_validate(str(path), quiet=True)
            assert valid, errors
    stored = list(catalog.items(data))
    assert {i.collection_id for i in stored} == {"sentinel-2-l2a", "ndvi", "ndwi", "nbr"}
    ndvi = catalog.get_item(data, "ndvi", result.scene.id)
    assert ndvi is not None and Path(ndvi.assets["data"].href).is_file()
    with rasterio.open(ndvi.assets["data"].href) as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)


def test_a_large_cog_has_overviews(tmp_path: Path) -> None:
    """Memory-bounded writing: 1,100 x 1,100 pixels in 256-pixel chunks, overviews 2 and 4."""
    array = da.random.default_rng(1).random((1100, 1100), chunks=256).astype("float32")
    rows: list[int] = []
    path = write_cog(
        array, tmp_path / "big.tif", crs=CRS.from_epsg(32643),
        transform=rasterio.Affine(10, 0, 0, 0, -10, 0),
        on_rows=lambda done, total: rows.append(done),
    )  # fmt: skip
    assert rows == [256, 512, 768, 1024, 1100]
    assert cog_validate(str(path), quiet=True)[0]
    with rasterio.open(path) as src:
        assert src.overviews(1) == [2, 4] and src.block_shapes[0] == (512, 512)
        assert src.profile["compress"] == "deflate"
        assert np.allclose(src.read(1), array.compute())


def test_bad_scenes_are_named(tmp_path: Path) -> None:
    truth = make_scene(tmp_path / "src", SceneSpec(BEFORE))
    (next(truth.path.glob("*_B11_*"))).unlink()
    with pytest.raises(SceneFormatError, match="B11"):
        open_scene(truth.path)
    plain = tmp_path / "plain.tif"
    with rasterio.open(
        plain, "w", driver="GTiff", width=8, height=8, count=2, dtype="uint16",
        crs="EPSG:32643", transform=rasterio.Affine(10, 0, 0, 0, -10, 0),
    ) as dst:  # fmt: skip
        dst.write(np.ones((2, 8, 8), "uint16"))
    with pytest.raises(SensorNotDetectedError, match="--sensor"):
        open_scene(plain)
    with pytest.raises(SceneFormatError, match="2 bands"):
        open_scene(plain, "landsat", dt.datetime(2025, 1, 1))
