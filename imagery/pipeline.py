"""The pipelines: a scene into reflectance COGs, index products and their STAC items; a DEM
into the terrain products; two dates into change polygons.

Each step is a Dask graph over rasterio windows, computed one row of chunks at a time on the
scheduler in force (`imagery.blocks.scheduler`). `progress(percent, message)` is called
between steps and after every row of chunks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import pystac
import rasterio
import rasterio.features
import shapely
from rasterio.warp import transform_geom

from imagery import catalog
from imagery.blocks import DEFAULT_CHUNK
from imagery.cog import write_cog
from imagery.indices import INDICES, normalized_difference
from imagery.scene import Scene, open_scene
from imagery.sensors import LANDSAT, SENSORS

Progress = Callable[[float, str], None]
QA_NODATA = {"SCL": 0, "QA_PIXEL": 1}
"""The quality value of a pixel outside the image (SCL class 0; QA_PIXEL fill bit alone)."""


@dataclass(frozen=True)
class IngestResult:
    """What ingesting a scene produced: the scene's item and one item per index."""

    scene: pystac.Item
    products: dict[str, pystac.Item]


def quiet(percent: float, message: str) -> None:
    """The default progress callback: says nothing."""


def _nodata(scene: Scene, chunk: int) -> da.Array:
    qa = scene.dn(scene.sensor.qa, chunk)
    if scene.sensor is LANDSAT:
        return (qa & 1) == 1
    return qa == 0


def cloud_cover(scene: Scene, chunk: int = DEFAULT_CHUNK) -> float:
    """Percentage of the imaged pixels (not no data) masked as cloud, shadow or cirrus."""
    nodata = _nodata(scene, chunk)
    cloudy = scene.invalid(chunk) & ~nodata
    imaged, masked = da.compute((~nodata).sum(), cloudy.sum())
    return round(100.0 * float(masked) / float(imaged), 2) if imaged else 100.0


def footprint(valid: da.Array, crs: rasterio.crs.CRS, transform: rasterio.Affine) -> dict:
    """The outline (GeoJSON, CRS84) of the valid pixels, traced on a grid of at most about
    256 x 256 cells (any valid pixel makes its cell valid)."""
    factor = max(1, int(np.ceil(max(valid.shape) / 256)))
    coarse = da.coarsen(np.any, valid, {0: factor, 1: factor}, trim_excess=False).compute()
    coarse_transform = transform * rasterio.Affine.scale(factor)
    shapes = rasterio.features.shapes(
        coarse.astype("uint8"), mask=coarse, transform=coarse_transform
    )
    outline = shapely.union_all([shapely.geometry.shape(g) for g, _ in shapes])
    if outline.is_empty:
        raise ValueError("the raster has no valid pixel: no footprint")
    outline = outline.simplify(abs(coarse_transform.a) / 2)
    return transform_geom(crs, "OGC:CRS84", shapely.geometry.mapping(outline))


def _item(scene: Scene, collection: str, item_id: str, geometry: dict, extra: dict) -> pystac.Item:
    bbox = list(shapely.geometry.shape(geometry).bounds)
    return catalog.new_item(
        item_id,
        collection,
        footprint=geometry,
        bbox=bbox,
        when=scene.datetime,
        epsg=scene.crs.to_epsg(),
        shape=(scene.height, scene.width),
        transform=list(scene.transform)[:6],
        properties={**scene.properties, **extra},
    )


def ingest_scene(
    path: Path,
    data_dir: Path,
    *,
    sensor: str | None = None,
    when: dt.datetime | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress = quiet,
) -> IngestResult:
    """Ingest one scene: masked reflectance COGs of every band, the quality band, NDVI, NDWI
    and NBR COGs, and their STAC items registered in the bank under `data_dir`.

    Raises:
        SceneFormatError, SensorNotDetectedError, GridMismatchError: see `open_scene`.
    """
    scene = open_scene(path, sensor, when)
    steps = len(scene.sensor.bands) + 1 + len(INDICES) + 1
    done = 0

    def step(message: str) -> Callable[[int, int], None]:
        def rows(row: int, total: int) -> None:
            progress(100.0 * (done + row / total) / steps, message)

        progress(100.0 * done / steps, message)
        return rows

    progress(0, f"{scene.id}: measuring clouds")
    cover = cloud_cover(scene, chunk)
    shape = footprint(~_nodata(scene, chunk), scene.crs, scene.transform)
    done += 1
    item = _item(
        scene,
        scene.sensor.collection,
        scene.id,
        shape,
        {
            "eo:cloud_cover": cover,
            "platform": scene.sensor.platforms[0],
            "constellation": scene.sensor.name,
            "gsd": scene.sensor.gsd_m,
        },
    )
    tags = {"SCENE_ID": scene.id, "ACQUISITION_DATETIME": scene.datetime.isoformat()}
    for common, band in scene.sensor.bands.items():
        out = catalog.asset_path(data_dir, scene.sensor.collection, scene.id, common)
        write_cog(
            scene.reflectance(common, chunk), out, crs=scene.crs, transform=scene.transform,
            tags=tags, on_rows=step(f"{scene.id}: {band} reflectance"),
        )  # fmt: skip
        catalog.add_cog(
            item, common, f"{band} surface reflectance (masked)",
            **{"eo:bands": [{"name": band, "common_name": common}]},
        )  # fmt: skip
        done += 1
    qa_key = scene.sensor.qa.lower()
    write_cog(
        scene.dn(scene.sensor.qa, chunk),
        catalog.asset_path(data_dir, scene.sensor.collection, scene.id, qa_key),
        crs=scene.crs, transform=scene.transform, nodata=QA_NODATA[scene.sensor.qa],
        tags=tags, on_rows=step(f"{scene.id}: {scene.sensor.qa}"),
    )  # fmt: skip
    catalog.add_cog(item, qa_key, f"{scene.sensor.qa} quality band (as delivered)")
    done += 1
    catalog.register(item, data_dir)
    products = {}
    for name in INDICES:
        products[name] = write_index(
            scene, name, data_dir, item, chunk, step(f"{scene.id}: {name}")
        )
        done += 1
    progress(100, f"{scene.id}: done")
    return IngestResult(item, products)


def index_array(scene: Scene, name: str, chunk: int = DEFAULT_CHUNK) -> da.Array:
    """An index of a scene (lazy float32, NaN where masked)."""
    a, b = INDICES[name]
    return da.map_blocks(
        normalized_difference, scene.reflectance(a, chunk), scene.reflectance(b, chunk),
        dtype="float32",
    )  # fmt: skip


def write_index(
    scene: Scene,
    name: str,
    data_dir: Path,
    scene_item: pystac.Item,
    chunk: int = DEFAULT_CHUNK,
    on_rows: Callable[[int, int], None] | None = None,
) -> pystac.Item:
    """Write one index COG of a scene and register its item (derived from `scene_item`)."""
    out = catalog.asset_path(data_dir, name, scene.id)
    write_cog(
        index_array(scene, name, chunk), out, crs=scene.crs, transform=scene.transform,
        tags={"SCENE_ID": scene.id, "INDEX": name}, on_rows=on_rows,
    )  # fmt: skip
    product = _item(
        scene,
        name,
        scene.id,
        scene_item.geometry or {},
        {
            "eo:cloud_cover": scene_item.properties["eo:cloud_cover"],
            "product": name,
            "scene_collection": scene.sensor.collection,
        },
    )
    product.add_link(
        pystac.Link(
            "derived_from",
            f"../../{scene.sensor.collection}/{scene.id}/item.json",
            pystac.MediaType.JSON,
        )
    )
    a, b = INDICES[name]
    catalog.add_cog(
        product, catalog.DATA_ASSET, f"{name.upper()} = ({a} - {b}) / ({a} + {b}), NaN = masked"
    )
    catalog.register(product, data_dir)
    return product


def sensor_names() -> list[str]:
    """The names `--sensor` accepts."""
    return list(SENSORS)
