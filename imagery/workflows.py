"""The pipelines beyond one scene: the terrain model of a DEM, change between two ingested
scenes, NDVI statistics per plot written to the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import psycopg
import pystac
import rasterio
import shapely.geometry

from imagery import catalog, db
from imagery.blocks import DEFAULT_CHUNK, read_band
from imagery.change import (
    DNBR_BURNED,
    MIN_BURNED_HA,
    MIN_CHANGE_HA,
    NBR_AFTER_MAX,
    NDVI_DROP,
    ChangePolygon,
    changed_polygons,
    difference,
)
from imagery.cog import write_cog
from imagery.errors import SceneFormatError
from imagery.pipeline import Progress, footprint, quiet
from imagery.terrain import terrain_product
from imagery.zonal import zonal_statistics

TERRAIN_PRODUCTS = ("slope", "aspect", "hillshade")


@dataclass(frozen=True)
class ChangeSettings:
    """Thresholds of the two-date change: dNBR for burned, NDVI drop for vegetation loss,
    and the least area of a patch of each (hectares)."""

    dnbr_min: float = DNBR_BURNED
    nbr_after_max: float = NBR_AFTER_MAX
    burned_min_ha: float = MIN_BURNED_HA
    ndvi_drop: float = NDVI_DROP
    change_min_ha: float = MIN_CHANGE_HA


@dataclass(frozen=True)
class ChangeResult:
    """Burned patches and vegetation losses between two scenes ((item id, date) each)."""

    before: tuple[str, dt.date]
    after: tuple[str, dt.date]
    burned: list[ChangePolygon]
    vegetation_loss: list[ChangePolygon]


def _elevation(dem: Path, chunk: int) -> tuple[da.Array, rasterio.crs.CRS, rasterio.Affine]:
    with rasterio.open(dem) as src:
        if src.crs is None:
            raise SceneFormatError(f"{dem.name}: the DEM has no coordinate reference system")
        nodata, crs, transform = src.nodata, src.crs, src.transform
    values = read_band(str(dem), 1, chunk).astype("float32")
    if nodata is not None and not np.isnan(nodata):
        values = da.where(values == nodata, np.float32("nan"), values)
    return values, crs, transform


def ingest_terrain(
    dem: Path,
    data_dir: Path,
    *,
    when: dt.datetime | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress = quiet,
) -> dict[str, pystac.Item]:
    """The DEM as an `elevation` COG (float32 metres, NaN nodata) and its `slope`, `aspect`
    (degrees) and `hillshade` (uint8, sun at 315°/45°) COGs, each registered as an item
    (id: the DEM's file name without suffix; datetime: `when`, default the file's time)."""
    values, crs, transform = _elevation(dem, chunk)
    when = when or dt.datetime.fromtimestamp(dem.stat().st_mtime, dt.UTC)
    item_id = dem.name.split(".")[0]
    outline = footprint(~da.isnan(values), crs, transform)
    items = {}
    arrays = {"elevation": values}
    for name in TERRAIN_PRODUCTS:
        arrays[name] = terrain_product(values, transform, name, crs.is_geographic)
    for position, (name, array) in enumerate(arrays.items()):

        def rows(row: int, total: int, position: int = position, name: str = name) -> None:
            progress(100.0 * (position + row / total) / len(arrays), f"{item_id}: {name}")

        write_cog(array, catalog.asset_path(data_dir, name, item_id), crs=crs,
                  transform=transform, on_rows=rows)  # fmt: skip
        item = catalog.new_item(
            item_id, name, footprint=outline,
            bbox=list(_bounds(outline)), when=when, epsg=crs.to_epsg(),
            shape=values.shape, transform=list(transform)[:6],
            properties={"product": name, "source_dem": dem.name},
        )  # fmt: skip
        units = "metres" if name == "elevation" else "0-255" if name == "hillshade" else "degrees"
        catalog.add_cog(item, catalog.DATA_ASSET, f"{name} ({units})")
        catalog.register(item, data_dir)
        items[name] = item
    progress(100, f"{item_id}: done")
    return items


def _bounds(geojson: dict) -> tuple[float, float, float, float]:
    return shapely.geometry.shape(geojson).bounds


def find_scene(data_dir: Path, item_id: str) -> pystac.Item:
    """The scene item of that id in either scene collection.

    Raises:
        SceneFormatError: no scene of that id has been ingested.
    """
    for collection in catalog.SCENE_COLLECTIONS:
        item = catalog.get_item(data_dir, collection, item_id)
        if item is not None:
            return item
    raise SceneFormatError(f"no ingested scene {item_id!r} in {catalog.imagery_dir(data_dir)}")


def _date(item: pystac.Item) -> dt.date:
    assert item.datetime is not None
    return item.datetime.date()


def detect_change(
    data_dir: Path,
    before_id: str,
    after_id: str,
    settings: ChangeSettings | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> ChangeResult:
    """Burned areas (dNBR) and vegetation loss (NDVI drop) between two ingested scenes of
    one grid."""
    settings = settings or ChangeSettings()
    before, after = find_scene(data_dir, before_id), find_scene(data_dir, after_id)

    def product(name: str, item: pystac.Item) -> str:
        return str(catalog.asset_path(data_dir, name, item.id))

    dnbr, crs, transform = difference(product("nbr", before), product("nbr", after), chunk)
    # a harvest also lowers NBR; only a charred surface leaves it clearly negative
    nbr_after = read_band(product("nbr", after), 1, chunk)
    dnbr = da.where(nbr_after <= settings.nbr_after_max, dnbr, np.float32("nan"))
    burned = changed_polygons(dnbr, settings.dnbr_min, settings.burned_min_ha, crs, transform)
    drop, crs, transform = difference(product("ndvi", before), product("ndvi", after), chunk)
    loss = changed_polygons(drop, settings.ndvi_drop, settings.change_min_ha, crs, transform)
    return ChangeResult((before.id, _date(before)), (after.id, _date(after)), burned, loss)


def write_change(conn: psycopg.Connection, result: ChangeResult) -> tuple[int, int]:
    """Store a change result: (burned areas, landscape changes) written."""
    burned = db.write_burned_areas(conn, result.burned, result.before, result.after)
    changes = db.write_landscape_changes(conn, result.vegetation_loss, result.before, result.after)
    return burned, changes


def plot_ndvi(
    conn: psycopg.Connection,
    data_dir: Path,
    scene: pystac.Item,
    on_done: Callable[[int], None] | None = None,
) -> int:
    """NDVI statistics of every plot the scene covers, written to `agri_plot_ndvi` with the
    crop, z-scores and anomalies of the scene's date. Returns the plots written."""
    assert scene.bbox is not None
    plots = db.read_plots(conn, tuple(scene.bbox))  # type: ignore[arg-type]
    ndvi = str(catalog.asset_path(data_dir, "ndvi", scene.id))
    stats = zonal_statistics(ndvi, plots, "id")
    sensor = "landsat" if scene.collection_id == "landsat-c2-l2" else "sentinel-2"
    count = db.write_plot_ndvi(
        conn, stats, scene_id=scene.id, sensor=sensor, observed_on=_date(scene)
    )
    if on_done:
        on_done(count)
    return count
