"""What every demo-data generator shares: the scale, a seeded random source per theme, and
the real geography of Kyrgyzstan (boundaries, settlements, water, urban areas, elevation)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
from affine import Affine
from pyproj import CRS

from demo.base import demo_data_dir

ScaleName = Literal["small", "national"]

UTM_43N = 32643
"""Metric CRS for geometry work over Kyrgyzstan (the country spans UTM 42N-44N; 43N is
central). Generators build geometry in metres here and return EPSG:4326."""


@dataclass(frozen=True)
class Scale:
    """How much of each thing to generate. `small` for `make run` and tests, `national` for
    benchmarks (at least 300,000 plots, 50,000 road segments, 200,000 buildings)."""

    name: ScaleName
    plots: int
    road_segments: int
    buildings: int
    factor: float
    """Multiplier for everything else (sensors, facilities, structures, ...)."""


SCALES: dict[str, Scale] = {
    "small": Scale("small", plots=20_000, road_segments=5_000, buildings=20_000, factor=1.0),
    "national": Scale(
        "national", plots=300_000, road_segments=50_000, buildings=200_000, factor=10.0
    ),
}


@dataclass
class Context:
    """Inputs of the generators. Geometries are EPSG:4326 unless a name says `_m` (UTM 43N)."""

    scale: Scale
    seed: int
    data_dir: Path = field(default_factory=demo_data_dir)
    outputs: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Layers generated so far, by layer id, for generators that build on others."""

    def rng(self, theme: str) -> np.random.Generator:
        """A random source for one theme: the same seed and theme give the same numbers,
        whatever other themes were generated before."""
        digest = hashlib.sha256(f"{self.seed}:{theme}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def _read(self, name: str) -> gpd.GeoDataFrame:
        return pyogrio.read_dataframe(self.data_dir / name)

    @cached_property
    def country(self) -> gpd.GeoDataFrame:
        """Outline of Kyrgyzstan (one polygon, with the enclaves as holes)."""
        return self._read("kg_admin0.geojson")

    @cached_property
    def oblasts(self) -> gpd.GeoDataFrame:
        """The 7 oblasts and Bishkek city (`adm1_code`, `name_en`, ...)."""
        return self._read("kg_admin1.geojson")

    @cached_property
    def rayons(self) -> gpd.GeoDataFrame:
        """The 40 rayons and Tokmok city (`shapeName`, `adm1_code`)."""
        return self._read("kg_admin2.geojson")

    @cached_property
    def settlements(self) -> gpd.GeoDataFrame:
        """The 111 GeoNames places with population >= 500 (`name`, `population`, ...)."""
        return self._read("kg_places_geonames.geojson")

    @cached_property
    def rivers(self) -> gpd.GeoDataFrame:
        """Natural Earth rivers (only the Naryn and the Toxkan): see `streams` for the rest."""
        return self._read("kg_rivers.geojson")

    @cached_property
    def lakes(self) -> gpd.GeoDataFrame:
        """Issyk-Kul and the Toktogul reservoir."""
        return self._read("kg_lakes.geojson")

    @cached_property
    def urban_areas(self) -> gpd.GeoDataFrame:
        """Urban-area polygons: Bishkek and the Osh/Kara-Suu area among them."""
        return self._read("kg_urban_areas.geojson")

    @cached_property
    def bishkek_boundary(self) -> gpd.GeoDataFrame:
        """Bishkek's administrative boundary from OpenStreetMap."""
        return self._read("bishkek_boundary_osm.geojson")

    @cached_property
    def dem(self) -> tuple[np.ndarray, Affine, CRS]:
        """GEBCO 2023 elevation (m, int16 -> float32), its transform and CRS (EPSG:4326,
        30 arc-second pixels, about 700 m x 925 m here)."""
        with rasterio.open(self.data_dir / "kg_dem_gebco2023_30s.tif") as src:
            return src.read(1).astype("float32"), src.transform, CRS(src.crs)

    def elevation_at(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """DEM elevation (m) at points (nearest pixel; outside the grid: NaN)."""
        values, transform, _ = self.dem
        cols, rows = ~transform * (np.asarray(lon), np.asarray(lat))
        rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
        inside = (rows >= 0) & (rows < values.shape[0]) & (cols >= 0) & (cols < values.shape[1])
        out = np.full(rows.shape, np.nan, dtype="float32")
        out[inside] = values[rows[inside], cols[inside]]
        return out

    @cached_property
    def streams(self) -> gpd.GeoDataFrame:
        """The stream network derived from the DEM (see `hydrology.derive_streams`)."""
        from demo.base.hydrology import derive_streams

        values, transform, crs = self.dem
        land = self.country.geometry.iloc[0].difference(self.lakes.geometry.union_all())
        return derive_streams(values, transform, crs, land)

    def to_metric(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The frame in UTM 43N (metres)."""
        return frame.to_crs(UTM_43N)
