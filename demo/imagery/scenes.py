"""Synthetic multispectral scenes over the demo plots (seeded): SYNTHETIC, not observations.

A scene is a grid in UTM 43N (EPSG:32643) over the demo plots. Every pixel has a vegetation
fraction: on a plot it follows the plot's crop calendar (bare before sowing, green-up to a
peak, senescence, stubble after harvest), with a per-plot vigour and a few stressed plots;
off the plots, grassland. Reflectance of each band is a linear mix of soil and vegetation
spectra, plus noise. Clouds are bright blobs with their shadows cast a few hundred metres
away, the scene has a no-data wedge at one corner (a swath edge), and a scene may carry a
fire scar (low NIR, high SWIR). Scenes are written as Sentinel-2 L2A (folder of per-band
files, or one multiband GeoTIFF) or Landsat 8/9 C2 L2 (folder), with the digital numbers,
scaling and quality bands those products have. Every file carries the tag SYNTHETIC=true.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import shapely
from affine import Affine

UTM_43N = 32643
CROP_CALENDAR: dict[str, tuple[int, int, int, float]] = {
    # crop: (green-up or sowing day of year, peak, harvest, peak vegetation fraction)
    "wheat": (60, 130, 190, 0.85),
    "barley": (60, 125, 185, 0.8),
    "maize": (120, 210, 265, 0.9),
    "cotton": (110, 220, 285, 0.75),
    "sugar_beet": (100, 205, 275, 0.85),
    "potato": (105, 180, 235, 0.8),
    "beans": (130, 190, 240, 0.7),
    "alfalfa": (75, 160, 300, 0.8),
    "rice": (130, 215, 265, 0.9),
    "sunflower": (120, 200, 250, 0.7),
    "tobacco": (130, 200, 250, 0.7),
    "orchard": (90, 170, 295, 0.65),
    "vegetables": (100, 170, 230, 0.7),
}
SOIL = {
    "blue": 0.09,
    "green": 0.12,
    "red": 0.16,
    "nir": 0.22,
    "nir08": 0.23,
    "swir16": 0.30,
    "swir22": 0.25,
}
LEAF = {
    "blue": 0.03,
    "green": 0.08,
    "red": 0.03,
    "nir": 0.50,
    "nir08": 0.49,
    "swir16": 0.17,
    "swir22": 0.08,
}
CHAR = {
    "blue": 0.05,
    "green": 0.06,
    "red": 0.07,
    "nir": 0.08,
    "nir08": 0.09,
    "swir16": 0.22,
    "swir22": 0.30,
}
S2_BANDS = {
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "nir": "B08",
    "nir08": "B8A",
    "swir16": "B11",
    "swir22": "B12",
}
LANDSAT_BANDS = {
    "blue": "SR_B2",
    "green": "SR_B3",
    "red": "SR_B4",
    "nir": "SR_B5",
    "swir16": "SR_B6",
    "swir22": "SR_B7",
}


@dataclass(frozen=True)
class Grid:
    """A scene grid in UTM 43N: origin (upper left, metres), pixel size and size in pixels."""

    x0: float
    y0: float
    pixel_m: float
    size: int

    @property
    def transform(self) -> Affine:
        """The grid's affine transform."""
        return Affine(self.pixel_m, 0, self.x0, 0, -self.pixel_m, self.y0)

    def coarser(self, factor: int) -> Grid:
        """The same extent with pixels `factor` times larger (a Landsat grid of an S2 one)."""
        return Grid(self.x0, self.y0, self.pixel_m * factor, self.size // factor)


@dataclass(frozen=True)
class SceneSpec:
    """What one synthetic scene shows."""

    when: dt.datetime
    sensor: str = "sentinel-2"
    layout: str = "folder"
    """`folder` (one file per band) or `multiband` (Sentinel-2 only)."""
    clouds: int = 2
    fire_scar: shapely.Polygon | None = None
    """A burned patch (UTM 43N) on this date."""


@dataclass(frozen=True)
class SceneTruth:
    """The written scene and what was put in it, pixel by pixel."""

    path: Path
    grid: Grid
    cloud: np.ndarray
    shadow: np.ndarray
    nodata: np.ndarray
    vegetation: np.ndarray


def choose_grid(plots: gpd.GeoDataFrame, size: int, pixel_m: float = 10.0) -> Grid:
    """A grid of `size` pixels over the densest cluster of plots (their centroids binned at
    the grid's extent), snapped to whole pixels."""
    centres = plots.to_crs(UTM_43N).geometry.centroid
    extent = size * pixel_m
    x, y = centres.x.to_numpy(), centres.y.to_numpy()
    keys = np.floor(x / extent).astype(int) * 100_000 + np.floor(y / extent).astype(int)
    values, counts = np.unique(keys, return_counts=True)
    best = values[np.argmax(counts)]
    in_best = keys == best
    cx, cy = np.median(x[in_best]), np.median(y[in_best])
    x0 = np.floor((cx - extent / 2) / pixel_m) * pixel_m
    y0 = np.ceil((cy + extent / 2) / pixel_m) * pixel_m
    return Grid(float(x0), float(y0), pixel_m, size)


def crop_of_plots(seasons: gpd.GeoDataFrame | None, when: dt.date) -> dict[int, str]:
    """Each plot's crop on a date: its latest season sown on or before it."""
    if seasons is None or seasons.empty:
        return {}
    frame = seasons[["plot_id", "crop", "sowing_date"]].copy()
    frame["sowing_date"] = frame["sowing_date"].astype("datetime64[ns]")
    frame = frame[frame["sowing_date"] <= np.datetime64(when)]
    latest = frame.sort_values("sowing_date").groupby("plot_id").tail(1)
    return dict(zip(latest["plot_id"].astype(int), latest["crop"], strict=True))


def vegetation_fraction(crop: str | None, doy: int) -> float:
    """The vegetation fraction of a crop on a day of year (grassland without a crop).

    >>> round(vegetation_fraction("maize", 210), 2), round(vegetation_fraction("maize", 300), 2)
    (0.9, 0.15)
    """
    if crop not in CROP_CALENDAR:
        return 0.35 + 0.1 * np.sin((doy - 100) / 365 * 2 * np.pi)
    start, peak, harvest, top = CROP_CALENDAR[crop]
    if doy < start:
        return 0.1
    if doy > harvest:
        return 0.15
    width = (peak - start) / 2 if doy <= peak else (harvest - peak) / 2
    return 0.1 + (top - 0.1) * float(np.exp(-(((doy - peak) / max(width, 1)) ** 2)))


def plot_raster(plots: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """The plot id of each pixel (centre inside), 0 off the plots."""
    extent = grid.size * grid.pixel_m
    box = gpd.GeoSeries([shapely.box(grid.x0, grid.y0 - extent, grid.x0 + extent, grid.y0)])
    west, south, east, north = box.set_crs(UTM_43N).to_crs(plots.crs).total_bounds
    local = plots.cx[west:east, south:north].to_crs(UTM_43N)  # only the plots near the grid
    shapes = ((geom, int(pid)) for geom, pid in zip(local.geometry, local["id"], strict=True))
    return rasterio.features.rasterize(
        shapes, out_shape=(grid.size, grid.size), transform=grid.transform, fill=0, dtype="int32"
    )


def vegetation(ids: np.ndarray, crops: dict[int, str], when: dt.date, seed: int) -> np.ndarray:
    """The vegetation fraction of every pixel on a date: crop calendars times a per-plot
    vigour (1 in 25 plots stressed to half), grassland off the plots."""
    doy = when.timetuple().tm_yday
    unique = np.unique(ids)
    rng = np.random.default_rng(seed)
    vigour = {int(p): rng.normal(1.0, 0.04) for p in unique}
    stressed = {int(p) for p in unique if p and (int(p) * 2654435761 + seed) % 25 == 0}
    lookup = np.array(
        [
            vegetation_fraction(crops.get(int(p)), doy)
            * vigour[int(p)]
            * (0.5 if p in stressed else 1)
            if p
            else vegetation_fraction(None, doy)
            for p in unique
        ]
    )
    return np.clip(lookup[np.searchsorted(unique, ids)], 0.02, 0.98).astype("float32")
