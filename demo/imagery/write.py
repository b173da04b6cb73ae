"""Writing synthetic scenes (SYNTHETIC, not observations) in the Sentinel-2 L2A and Landsat
C2 L2 layouts, with clouds, shadows, no-data edges and fire scars (see `scenes.py`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import rasterio
import rasterio.features

from demo.imagery.scenes import (
    CHAR,
    LANDSAT_BANDS,
    LEAF,
    S2_BANDS,
    SOIL,
    UTM_43N,
    Grid,
    SceneSpec,
    SceneTruth,
)

S2_OFFSET = 1000  # DN = reflectance * 10000 + 1000 (processing baseline 04.00 and later)
SCL_SHADOW, SCL_VEGETATION, SCL_BARE, SCL_CLOUD = 3, 4, 5, 9
QA_CLEAR, QA_FILL, QA_CLOUD, QA_SHADOW = 21824, 1, 22280, 23824
"""QA_PIXEL values: clear land; fill; cloud (bits 1 dilated, 3 cloud, high confidence);
cloud shadow (bit 4, with its confidence bits)."""


def clouds(
    size: int, count: int, rng: np.random.Generator, avoid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cloud and shadow masks: `count` ragged blobs (none over `avoid`), each casting a
    shadow shifted down and left by about a tenth of the scene."""
    rows, cols = np.mgrid[0:size, 0:size]
    cloud = np.zeros((size, size), bool)
    for _ in range(count):
        for _attempt in range(20):
            cy, cx = rng.uniform(0.15, 0.85, 2) * size
            radius = rng.uniform(0.05, 0.1) * size
            angle = np.arctan2(rows - cy, cols - cx)
            ragged = radius * (1 + 0.2 * np.sin(3 * angle + rng.uniform(0, 6)))
            blob = np.hypot(rows - cy, cols - cx) < ragged
            if not (blob & avoid).any():
                cloud |= blob
                break
    shift = max(2, size // 10)
    shadow = np.zeros_like(cloud)
    shadow[shift:, : size - shift] = cloud[: size - shift, shift:]
    return cloud, shadow & ~cloud


def nodata_wedge(size: int) -> np.ndarray:
    """A no-data wedge at the upper left corner (the edge of a swath)."""
    rows, cols = np.mgrid[0:size, 0:size]
    return cols + 0.4 * rows < 0.12 * size


def reflectances(
    veg: np.ndarray,
    burned: np.ndarray,
    cloud: np.ndarray,
    shadow: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Surface reflectance of each band (common name)."""
    out = {}
    for band in SOIL:
        value = SOIL[band] * (1 - veg) + LEAF[band] * veg
        value = np.where(burned, CHAR[band], value)
        value = value + rng.normal(0, 0.004, veg.shape)
        value = np.where(shadow, value * 0.35, value)
        out[band] = np.where(cloud, 0.55 + 0.05 * rng.random(veg.shape), value).astype("float32")
    return out


def _write(path: Path, grid: Grid, arrays: list[np.ndarray], names: list[str], tags: dict) -> None:
    profile = {
        "driver": "GTiff", "width": grid.size, "height": grid.size, "count": len(arrays),
        "dtype": str(arrays[0].dtype), "crs": f"EPSG:{UTM_43N}", "transform": grid.transform,
        "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate",
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.update_tags(**tags)
        for index, (array, name) in enumerate(zip(arrays, names, strict=True), start=1):
            dst.write(array, index)
            dst.set_band_description(index, name)


def write_scene(
    out_dir: Path, spec: SceneSpec, grid: Grid, veg: np.ndarray, seed: int
) -> SceneTruth:
    """Write one synthetic scene under `out_dir` and return what it holds.

    `veg` is the vegetation fraction on `grid`; a Landsat scene is written on a grid three
    times coarser (30 m), `veg` averaged.
    """
    rng = np.random.default_rng(seed)
    if spec.sensor == "landsat":
        grid = grid.coarser(3)
        veg = veg[: grid.size * 3, : grid.size * 3].reshape(grid.size, 3, grid.size, 3).mean((1, 3))
    burned = np.zeros(veg.shape, bool)
    if spec.fire_scar is not None:
        burned = rasterio.features.geometry_mask(
            [spec.fire_scar], veg.shape, grid.transform, invert=True
        )
    cloud, shadow = clouds(grid.size, spec.clouds, rng, burned)
    nodata = nodata_wedge(grid.size)
    cloud, shadow = cloud & ~nodata, shadow & ~nodata
    bands = reflectances(veg, burned, cloud, shadow, rng)
    tags = {"SYNTHETIC": "true", "ACQUISITION_DATETIME": spec.when.isoformat()}
    if spec.sensor == "landsat":
        path = _write_landsat(out_dir, spec.when, grid, bands, cloud, shadow, nodata, tags)
    else:
        path = _write_s2(out_dir, spec, grid, bands, (veg, cloud, shadow, nodata), tags)
    return SceneTruth(path, grid, cloud, shadow, nodata, veg)


def _write_s2(
    out_dir: Path, spec: SceneSpec, grid: Grid, bands: dict, masks: tuple, tags: dict
) -> Path:
    veg, cloud, shadow, nodata = masks
    stamp = f"{spec.when:%Y%m%dT%H%M%S}"
    dns = {
        S2_BANDS[b]: np.where(nodata, 0, np.clip(v * 10_000 + S2_OFFSET, 1, 65535)).astype("uint16")
        for b, v in bands.items()
    }
    scl = np.select(
        [nodata, cloud, shadow, veg > 0.3], [0, SCL_CLOUD, SCL_SHADOW, SCL_VEGETATION], SCL_BARE
    ).astype("uint8")
    tags = {**tags, "PROCESSING_BASELINE": "05.11"}
    name = f"S2B_MSIL2A_{stamp}_N0511_R005_T43TEM_SYNTHETIC"
    if spec.layout == "multiband":
        path = out_dir / f"{name}.tif"
        names = [*S2_BANDS.values(), "SCL"]
        _write(
            path, grid, [*(dns[n] for n in S2_BANDS.values()), scl.astype("uint16")], names, tags
        )
        return path
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for band, dn in [*dns.items(), ("SCL", scl)]:
        _write(folder / f"T43TEM_{stamp}_{band}_10m.tif", grid, [dn], [band], tags)
    return folder


def _write_landsat(
    out_dir: Path, when: dt.datetime, grid: Grid, bands: dict, cloud: np.ndarray,
    shadow: np.ndarray, nodata: np.ndarray, tags: dict,
) -> Path:  # fmt: skip
    processed = when + dt.timedelta(days=2)
    folder = out_dir / f"LC09_L2SP_151031_{when:%Y%m%d}_{processed:%Y%m%d}_02_T1_SYNTHETIC"
    folder.mkdir(parents=True, exist_ok=True)
    qa = np.select([nodata, cloud, shadow], [QA_FILL, QA_CLOUD, QA_SHADOW], QA_CLEAR).astype(
        "uint16"
    )
    for common, band in LANDSAT_BANDS.items():
        dn = np.clip((bands[common] + 0.2) / 0.0000275, 1, 65535)
        dn = np.where(nodata, 0, dn).astype("uint16")
        _write(folder / f"{folder.name}_{band}.TIF", grid, [dn], [band], tags)
    _write(folder / f"{folder.name}_QA_PIXEL.TIF", grid, [qa], ["QA_PIXEL"], tags)
    return folder
