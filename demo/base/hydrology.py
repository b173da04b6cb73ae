"""The stream network of Kyrgyzstan derived from the elevation model.

Natural Earth has only the Naryn and the Toxkan here, so canals, flood zones and bridges need
streams derived from GEBCO: depressions filled by morphological reconstruction, D8 flow
direction to the steepest lower neighbour, flow accumulation weighted by true cell area, and
cells draining more than a threshold become streams. The main stems of the big rivers are
named from anchor points on them.
"""

from __future__ import annotations

import heapq

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from pyproj import CRS

EARTH_RADIUS_KM = 6371.0088

RIVER_ANCHORS: dict[str, tuple[float, float]] = {
    "Chu": (75.32, 42.80),  # by Tokmok
    "Talas": (72.24, 42.53),  # by Talas town
    "Naryn": (75.99, 41.43),  # by Naryn town
    "Kara-Darya": (73.05, 40.75),  # by Uzgen
    "Chatkal": (71.60, 41.80),
    "Kökömeren": (74.10, 41.85),
    "Chong-Kemin": (76.00, 42.78),
    "Kyzyl-Suu": (78.85, 42.35),
    "Ak-Buura": (72.80, 40.45),  # through Osh
    "Isfayram-Say": (71.85, 40.10),
}

OFFSETS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def flow_receivers(dem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Receiver (flat index, -1 for outlets on the grid edge) of every cell, and an order in
    which every cell comes before its receiver.

    Priority-flood (Barnes, Lehman & Mulla 2014): flooding inwards from the edge, lowest
    first, each cell drains to the cell it was reached from. Depressions are crossed towards
    their spill point, so every cell drains to the edge and the result is a tree.
    """
    rows, cols = dem.shape
    height = dem.ravel().tolist()
    receiver = np.full(dem.size, -1, dtype=np.int64)
    closed = bytearray(dem.size)
    heap: list[tuple[float, int, int]] = []
    counter = 0
    for r in range(rows):
        for c in range(cols):
            if r in (0, rows - 1) or c in (0, cols - 1):
                cell = r * cols + c
                closed[cell] = 1
                heap.append((height[cell], counter, cell))
                counter += 1
    heapq.heapify(heap)
    popped: list[int] = []
    while heap:
        level, _, cell = heapq.heappop(heap)
        popped.append(cell)
        r, c = divmod(cell, cols)
        for dr, dc in OFFSETS:
            nr, nc = r + dr, c + dc
            if 0 <= nr < rows and 0 <= nc < cols:
                neighbour = nr * cols + nc
                if not closed[neighbour]:
                    closed[neighbour] = 1
                    receiver[neighbour] = cell
                    counter += 1
                    heapq.heappush(heap, (max(height[neighbour], level), counter, neighbour))
    return receiver, np.array(popped[::-1], dtype=np.int64)


def cell_areas_km2(transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """Area of every cell of a geographic grid, in km²."""
    rows, cols = shape
    lat = transform.f + (np.arange(rows) + 0.5) * transform.e
    width = np.radians(abs(transform.a)) * EARTH_RADIUS_KM * np.cos(np.radians(lat))
    height = np.radians(abs(transform.e)) * EARTH_RADIUS_KM
    return np.repeat((width * height)[:, None], cols, axis=1)


def flow_accumulation(receiver: np.ndarray, order: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Upstream area (km²) of every cell, the cell included."""
    accumulation = area.ravel().astype("float64").copy()
    for cell in order.tolist():  # donors first: a cell is complete when it is reached
        target = receiver[cell]
        if target >= 0:
            accumulation[target] += accumulation[cell]
    return accumulation


def _main_stem(
    cell: int,
    receiver: np.ndarray,
    accumulation: np.ndarray,
    donors: dict[int, list[int]],
    threshold: float,
) -> list[int]:
    """Cells of the main stem through `cell`: downstream to the outlet, upstream along the
    largest tributary while it stays a stream."""
    down = [cell]
    while receiver[down[-1]] >= 0:
        down.append(int(receiver[down[-1]]))
    up = [cell]
    while True:
        upstream = [d for d in donors.get(up[-1], []) if accumulation[d] >= threshold]
        if not upstream:
            break
        up.append(max(upstream, key=lambda d: accumulation[d]))
    return up[::-1] + down[1:]


def derive_streams(
    dem: np.ndarray,
    transform: Affine,
    crs: CRS,
    clip_to: shapely.Geometry,
    threshold_km2: float = 150.0,
) -> gpd.GeoDataFrame:
    """Streams draining more than `threshold_km2`, clipped to `clip_to`.

    Returns:
        One row per stream reach (LineString, EPSG:4326) with `name` (main stems of the big
        rivers; None elsewhere) and `upstream_area_km2` at the reach's lower end.
    """
    receiver, order = flow_receivers(dem)
    accumulation = flow_accumulation(receiver, order, cell_areas_km2(transform, dem.shape))
    is_stream = accumulation >= threshold_km2
    cells = np.flatnonzero(is_stream & (receiver >= 0))
    rows, cols = np.divmod(np.arange(dem.size), dem.shape[1])
    x, y = transform * (cols + 0.5, rows + 0.5)

    donors: dict[int, list[int]] = {}
    for cell in cells.tolist():
        donors.setdefault(int(receiver[cell]), []).append(cell)
    names: dict[int, str] = {}
    for name, (lon, lat) in RIVER_ANCHORS.items():
        distance = np.hypot(x[cells] - lon, y[cells] - lat) - 1e-9 * accumulation[cells]
        anchor = int(cells[np.argmin(distance)])
        for cell in _main_stem(anchor, receiver, accumulation, donors, threshold_km2):
            names.setdefault(cell, name)

    starts, ends = cells, receiver[cells]
    segments = shapely.linestrings(
        np.stack(
            [np.stack([x[starts], y[starts]], axis=1), np.stack([x[ends], y[ends]], axis=1)], axis=1
        )
    )
    frame = gpd.GeoDataFrame(
        {
            "name": [names.get(int(c)) for c in starts],
            "upstream_area_km2": accumulation[starts],
        },
        geometry=segments,
        crs=crs,
    )
    reaches = []
    for name, group in frame.groupby(frame["name"].fillna(""), sort=False):
        merged = shapely.line_merge(shapely.union_all(group.geometry.values))
        parts = shapely.get_parts(merged)
        area_at = dict(
            zip(
                group.geometry.apply(lambda g: g.coords[0]), group["upstream_area_km2"], strict=True
            )
        )
        for part in parts:
            area = max(area_at.get(xy, 0.0) for xy in part.coords)
            reaches.append(
                {"name": name or None, "upstream_area_km2": round(area, 1), "geometry": part}
            )
    streams = gpd.GeoDataFrame(reaches, geometry="geometry", crs=crs).to_crs(4326)
    streams["geometry"] = streams.geometry.intersection(clip_to)
    streams = streams[~streams.geometry.is_empty].explode(index_parts=False)
    streams = streams[streams.geometry.geom_type == "LineString"]
    return streams.reset_index(drop=True)
