"""The demo terrain products of the image bank from the real GEBCO elevation model.

Interim code of the serving branch (issue 12): until the imagery pipeline's terrain
function (`imagery/terrain.py`) is merged, `geoportal demo load` writes the elevation COG
(rio-cogeo, from the shipped GEBCO 2023 30" grid) and a hillshade COG computed here with
numpy, in the image bank layout of the imagery package::

    <data_dir>/imagery/elevation/<ITEM_ID>/data.tif + item.json
    <data_dir>/imagery/hillshade/<ITEM_ID>/data.tif + item.json

Replace `hillshade` below by the imagery package's terrain products at the merge.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from demo.base import demo_data_dir

ITEM_ID = "gebco-2023-30s"
DEM_FILE = "kg_dem_gebco2023_30s.tif"
ITEM_DATETIME = "2023-01-01T00:00:00Z"
METRES_PER_DEGREE = 111_320.0


def hillshade(elevation: np.ndarray, dx_m: np.ndarray, dy_m: float) -> np.ndarray:
    """Hillshade 1-255 (uint8; 0 stays nodata) lit from the north-west at 45 degrees."""
    d_row, d_col = np.gradient(elevation.astype("float64"))
    east, north = d_col / dx_m, -d_row / dy_m
    slope = np.arctan(np.hypot(east, north))
    aspect = np.arctan2(-east, -north)
    zenith, light = np.radians(45.0), np.radians(315.0)
    shade = np.cos(zenith) * np.cos(slope) + np.sin(zenith) * np.sin(slope) * np.cos(light - aspect)
    return np.clip(1 + 254 * np.clip(shade, 0, 1), 1, 255).astype("uint8")


def _item(collection: str, bounds: tuple[float, float, float, float]) -> dict[str, object]:
    west, south, east, north = bounds
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": ITEM_ID,
        "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [west, south, east, north],
        "properties": {"datetime": ITEM_DATETIME, "description": "Derived from GEBCO 2023"},
        "assets": {"data": {"href": "./data.tif", "roles": ["data"]}},
        "links": [],
    }


def _cog(source: Path, target: Path, collection: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.tif")
    cog_translate(source, tmp, cog_profiles.get("deflate"), quiet=True, overview_level=4)
    tmp.replace(target)
    with rasterio.open(target) as src:
        bounds = tuple(src.bounds)
    (target.parent / "item.json").write_text(json.dumps(_item(collection, bounds)), "utf-8")  # type: ignore[arg-type]
    return target


def write_terrain(data_dir: Path, dem: Path | None = None) -> list[Path]:
    """Write the elevation and hillshade COGs (and items) into the image bank."""
    dem = dem or demo_data_dir() / DEM_FILE
    bank = data_dir / "imagery"
    written = [_cog(dem, bank / "elevation" / ITEM_ID / "data.tif", "elevation")]
    with rasterio.open(dem) as src:
        elevation = src.read(1)
        profile = src.profile
        rows = np.arange(src.height)
        lat = src.transform.f + (rows + 0.5) * src.transform.e
        dx = abs(src.transform.a) * METRES_PER_DEGREE * np.cos(np.radians(lat))[:, None]
        shade = hillshade(elevation, dx, abs(src.transform.e) * METRES_PER_DEGREE)
    plain = bank / "hillshade" / f"{ITEM_ID}.plain.tif"
    plain.parent.mkdir(parents=True, exist_ok=True)
    profile.update(dtype="uint8", nodata=0, count=1)
    with rasterio.open(plain, "w", **profile) as out:
        out.write(shade, 1)
    written.append(_cog(plain, bank / "hillshade" / ITEM_ID / "data.tif", "hillshade"))
    plain.unlink()
    return written
