"""The cadastral territories of the demo: the units `T-RR` of the code (territory, rayon)
as polygons that tile the country.

- Bishkek (`1`) and Osh city (`9`): the city twins' polygons, split into their districts
  (`urban.py`);
- the oblasts (`2`-`8`): their rayons, the rest of the country. The geoBoundaries rayons
  neither meet the Natural Earth outline of the country nor each other everywhere (about
  9,800 km² of the country, Issyk-Kul among it, lies in no rayon, and 3,400 km² of rayons
  lie abroad): each rayon is cut to the country less the cities, and every piece of land no
  rayon holds goes to the nearest rayon (Voronoi cells of points 1 km apart on the edges of
  the uncovered land, each point belonging to the rayon nearest to it). `RR` is the rayon's
  rank by name within its oblast, as in the rural codes since the cadastre began.

Polygons are in EPSG:4326, their edges cut to at most `SEGMENT_DEG` (see `cover.py`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from demo.cadastre.cover import (
    cells_to_4326,
    polygonal,
    reproject,
    snapped,
    voronoi_cells,
)
from demo.context import UTM_43N, Context

RAYON_TERRITORY = {
    "KGZ-1116": 2,
    "KGZ-1117": 3,
    "KGZ-1118": 4,
    "KGZ-1121": 5,
    "KGZ-1120": 6,
    "KGZ-1122": 7,
    "KGZ-1119": 8,
}
"""Territory digit of the rayons of each oblast (Natural Earth `adm1_code`)."""
SEGMENT_DEG = 0.005
"""Longest edge of a territory (about 420-560 m, as `cover.SEGMENT_M`)."""
FILL_SPACING_M = 1_000.0


def rayon_territories(ctx: Context, cities: shapely.Geometry) -> gpd.GeoDataFrame:
    """The rural territories: `territory`, `rayon` (rank), `name`, `code` (`T-RR`) and the
    polygon (EPSG:4326); together with `cities` they tile the country.

    Args:
        ctx: the generators' context (country outline, rayons).
        cities: the city territories (EPSG:4326), left out.
    """
    rayons = ctx.rayons.assign(territory=ctx.rayons.adm1_code.map(RAYON_TERRITORY))
    rayons = rayons.sort_values(["territory", "shapeName"], kind="stable").reset_index(drop=True)
    rayons["rayon"] = rayons.groupby("territory").cumcount() + 1
    # edges are cut before the overlays (cutting their results can make them invalid)
    country = snapped(shapely.segmentize(ctx.country.geometry.to_numpy(), SEGMENT_DEG))[0]
    shapes = snapped(shapely.segmentize(rayons.geometry.to_numpy(), SEGMENT_DEG))
    land = shapely.make_valid(shapely.difference(country, cities))
    pieces = _disjoint(polygonal(shapely.intersection(shapes, land)))
    gap = polygonal(np.array([shapely.difference(land, shapely.union_all(pieces))]))[0]
    fill = _nearest_fill(gap, pieces)
    geoms = snapped(shapely.union(pieces, fill))
    return gpd.GeoDataFrame(
        {
            "territory": rayons.territory.to_numpy(),
            "rayon": rayons.rayon.to_numpy(),
            "name": rayons.shapeName.to_numpy(),
            "code": [f"{t}-{r:02d}" for t, r in zip(rayons.territory, rayons.rayon, strict=True)],
        },
        geometry=geoms,
        crs=4326,
    )


def _disjoint(pieces: np.ndarray) -> np.ndarray:
    """Each piece less the earlier pieces it overlaps (the rayons overlap by a few m²)."""
    out = pieces.copy()
    left, right = shapely.STRtree(pieces).query(pieces, predicate="overlaps")
    later = left > right
    for index in np.unique(left[later]):
        earlier = out[right[later & (left == index)]]
        out[index] = shapely.difference(out[index], shapely.union_all(earlier))
    return polygonal(out)


def _edge_points(area_m: shapely.Geometry) -> np.ndarray:
    """Points about `FILL_SPACING_M` apart along every ring of a metric polygon."""
    rings = shapely.get_parts(shapely.boundary(area_m))
    lengths = shapely.length(rings)
    counts = np.maximum(3, np.ceil(lengths / FILL_SPACING_M).astype(int))
    ring = np.repeat(np.arange(len(rings)), counts)
    step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    points = shapely.line_interpolate_point(rings[ring], step / counts[ring], normalized=True)
    xy = shapely.get_coordinates(points)
    return np.unique(np.round(xy, 1), axis=0)


def _nearest_fill(gap: shapely.Geometry, pieces: np.ndarray) -> np.ndarray:
    """The part of `gap` nearer to each piece than to any other (EPSG:4326 in and out;
    distances in UTM 43N)."""
    if shapely.is_empty(gap):
        return np.array([shapely.MultiPolygon()] * len(pieces), dtype=object)
    gap_m = reproject(np.array([gap]), 4326, UTM_43N)[0]
    seeds = _edge_points(gap_m)
    # the piece of the nearest vertex (pieces' vertices lie at most a few hundred metres
    # apart: near enough for land that no rayon claims)
    vertices, piece = shapely.get_coordinates(reproject(pieces, 4326, UTM_43N), return_index=True)
    label = piece[cKDTree(vertices).query(seeds)[1]]
    cells = voronoi_cells(seeds, gap_m)
    regions = (
        pd.Series(list(cells))
        .groupby(label)
        .agg(lambda g: shapely.coverage_union_all(g.to_numpy()))
    )
    out = np.array([shapely.MultiPolygon()] * len(pieces), dtype=object)
    near = cells_to_4326(regions.to_numpy(), UTM_43N)
    out[regions.index.to_numpy()] = polygonal(shapely.intersection(near, gap))
    return out
