"""Tiny single-band COGs in the image bank's layout, made by the tests that read them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_bounds
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

BOUNDS = (74.0, 42.0, 75.0, 43.0)
"""CRS84 box of the test COGs (over the Chuy valley)."""
NODATA = -9999.0
SIZE = 256


def write_product(
    bank: Path, collection: str, item_id: str, value: float, when: str, *, hole: bool = True
) -> Path:
    """`<bank>/<collection>/<item_id>/data.tif`: `value` everywhere except a nodata western
    half of the north-west quarter when `hole`; and its `item.json` dated `when`."""
    folder = bank / collection / item_id
    folder.mkdir(parents=True, exist_ok=True)
    data = np.full((SIZE, SIZE), value, dtype="float32")
    if hole:
        data[: SIZE // 2, : SIZE // 4] = NODATA
    plain = folder / "plain.tif"
    profile = {
        "driver": "GTiff", "width": SIZE, "height": SIZE, "count": 1, "dtype": "float32",
        "crs": "EPSG:4326", "transform": from_bounds(*BOUNDS, SIZE, SIZE), "nodata": NODATA,
    }  # fmt: skip
    with rasterio.open(plain, "w", **profile) as out:
        out.write(data, 1)
    target = folder / "data.tif"
    tmp = folder / "data.tmp.tif"
    cog_translate(plain, tmp, cog_profiles.get("deflate"), quiet=True)
    tmp.replace(target)
    plain.unlink()
    west, south, east, north = BOUNDS
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    item = {  # a whole STAC item: other tests read every item of the bank with pystac
        "type": "Feature", "stac_version": "1.1.0", "id": item_id, "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": list(BOUNDS),
        "properties": {"datetime": when}, "links": [],
        "assets": {"data": {"href": "./data.tif", "type": "image/tiff", "roles": ["data"]}},
    }  # fmt: skip
    (folder / "item.json").write_text(json.dumps(item), "utf-8")
    return target
