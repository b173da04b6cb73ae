"""Canal network below the main canals: inter-farm distributors and on-farm canals (UTM 43N).

Irrigated plots are grouped into service units (2 km squares). Each unit takes water from the
nearest main canal whose design level is above it; units fed from the same 3 km of a main
canal share one inter-farm distributor, which leaves the main canal at an offtake and runs
down through the units, highest first. In every unit one to four on-farm canals leave the
distributor along the contour, tilted downhill so that the water flows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from demo.agriculture.canals import (
    COMMAND_DISTANCE_M,
    COMMAND_MARGIN_M,
    MainCanal,
    smooth_line,
)
from demo.agriculture.land import Terrain

UNIT_M = 2_000.0
SEGMENT_VERTICES = 12
"""Units whose source vertices lie in the same 12 vertices (3 km) of a main canal share a
distributor."""
ON_FARM_HA = 60.0
TILTS = np.radians([12.0, 30.0, 55.0])


@dataclass(frozen=True)
class Branch:
    """A canal below a main canal: UTM line, the main canal (index) it belongs to, the canal
    it leaves (index into the branches, -1 for the main canal), its order and served area."""

    line: shapely.LineString
    main: int
    parent: int
    order: str
    served_ha: float


def service_units(x: np.ndarray, y: np.ndarray, area_ha: np.ndarray) -> tuple[np.ndarray, ...]:
    """Unit of every irrigated plot, and per unit its mean point and irrigated area."""
    key = np.floor(x / UNIT_M).astype(np.int64) * 100_000 + np.floor(y / UNIT_M).astype(np.int64)
    _, unit = np.unique(key, return_inverse=True)
    count = np.bincount(unit)
    ux = np.bincount(unit, x) / count
    uy = np.bincount(unit, y) / count
    return unit, ux, uy, np.bincount(unit, area_ha)


def _sources(
    mains: list[MainCanal], ux: np.ndarray, uy: np.ndarray, uz: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Main canal and vertex that feeds each unit: the nearest vertex above it (-1: none)."""
    vertices = np.concatenate([m.coords for m in mains])
    levels = np.concatenate([m.level_m for m in mains])
    owner = np.repeat(np.arange(len(mains)), [len(m.coords) for m in mains])
    first = np.cumsum([0] + [len(m.coords) for m in mains])[:-1]
    distance, index = cKDTree(vertices).query(
        np.column_stack([ux, uy]), k=64, distance_upper_bound=COMMAND_DISTANCE_M
    )
    found = np.isfinite(distance)
    safe = np.minimum(index, len(vertices) - 1)
    usable = found & (levels[safe] > uz[:, None] + COMMAND_MARGIN_M)
    best = np.argmax(usable, axis=1)
    has = usable[np.arange(len(ux)), best]
    chosen = safe[np.arange(len(ux)), best]
    main = np.where(has, owner[chosen], -1)
    vertex = np.where(has, chosen - first[owner[chosen]], -1)
    return main, vertex


def distributors(
    mains: list[MainCanal], terrain: Terrain, ux: np.ndarray, uy: np.ndarray, area_ha: np.ndarray
) -> tuple[list[Branch], np.ndarray]:
    """Inter-farm distributors, and the distributor (index) of each unit (-1: none).

    The units fed from the same 3 km of a main canal form a tree rooted at the offtake:
    taken from the highest down, each unit hangs from the nearest unit (or the offtake)
    already placed, so every reach runs downhill. The tree is drawn as canals that follow
    the biggest sub-tree, the other sub-trees branching off as distributors of their own.
    """
    uz = terrain.elevation_at(ux, uy)
    main, vertex = _sources(mains, ux, uy, uz)
    served = np.flatnonzero(main >= 0)
    group_key = main[served] * 10_000 + vertex[served] // SEGMENT_VERTICES
    branches: list[Branch] = []
    unit_branch = np.full(len(ux), -1)
    for key in np.unique(group_key):
        units = served[group_key == key]
        canal = mains[int(key // 10_000)]
        start = canal.coords[int(np.median(vertex[units]))]
        start_z = float(terrain.elevation_at(start[:1], start[1:])[0])
        units = units[uz[units] <= start_z + 5.0]  # the water only flows down
        if len(units) == 0:
            continue
        units = units[np.argsort(-uz[units], kind="stable")]
        nodes = np.vstack([start, np.column_stack([ux[units], uy[units]])])
        base = len(branches)
        for path, parent in _tree_paths(nodes):
            coords = smooth_line(nodes[path])
            if np.hypot(*(coords[-1] - coords[0])) < 100.0:
                coords = np.vstack([coords[0], coords[0] + 250.0 * _downhill(terrain, coords[0])])
            members = units[np.array(path[1:], dtype=int) - 1]
            unit_branch[members] = len(branches)
            branches.append(
                Branch(
                    shapely.LineString(coords),
                    int(key // 10_000),
                    -1 if parent < 0 else base + parent,
                    "inter_farm",
                    float(area_ha[members].sum()),
                )
            )
    return branches, unit_branch


def _tree_paths(nodes: np.ndarray) -> list[tuple[list[int], int]]:
    """Node paths (node 0 is the root; nodes in placing order) of the tree where each node
    hangs from the nearest node placed before it, with the index of the path each one
    leaves (-1 for the root's)."""
    parent = np.full(len(nodes), -1)
    for node in range(1, len(nodes)):
        parent[node] = int(np.argmin(np.hypot(*(nodes[:node] - nodes[node]).T)))
    size = np.ones(len(nodes), dtype=int)
    for node in range(len(nodes) - 1, 0, -1):
        size[parent[node]] += size[node]
    children: list[list[int]] = [[] for _ in nodes]
    for node in range(1, len(nodes)):
        children[parent[node]].append(node)
    paths: list[tuple[list[int], int]] = []
    pending = [(0, -1)]
    while pending:
        node, leaves = pending.pop(0)  # breadth first: a path comes after the one it leaves
        path = [node]
        while children[path[-1]]:
            kids = sorted(children[path[-1]], key=lambda k: (-size[k], k))
            pending.extend((kid, len(paths)) for kid in kids[1:])
            path.append(kids[0])
        if leaves >= 0:
            path = [int(parent[node]), *path]
        paths.append((path, leaves))
    return paths


def _downhill(terrain: Terrain, point: np.ndarray) -> np.ndarray:
    """Unit vector down the slope at a point."""
    angle = float(terrain.lookup(terrain.aspect, point[:1], point[1:])[0])
    return np.array([np.cos(angle), np.sin(angle)])


def on_farm_canals(
    terrain: Terrain,
    branches: list[Branch],
    unit_branch: np.ndarray,
    ux: np.ndarray,
    uy: np.ndarray,
    area_ha: np.ndarray,
    rng: np.random.Generator,
    service_areas: np.ndarray,
) -> list[Branch]:
    """On-farm canals of every served unit, leaving its distributor along the contour and
    ending where the irrigated land (`service_areas`, UTM polygons) ends."""
    units = np.flatnonzero(unit_branch >= 0)
    count = np.clip(np.round(area_ha[units] / ON_FARM_HA), 1, 4).astype(int)
    unit = np.repeat(units, count)
    parent = unit_branch[unit]
    lines = np.array([branches[p].line for p in parent], dtype=object)
    along = shapely.line_locate_point(lines, shapely.points(ux[unit], uy[unit]))
    rank = np.arange(len(unit)) - np.repeat(np.cumsum(count) - count, count)
    offset = np.where(rank % 2 == 0, 1.0, -1.0) * (rank // 2) * 450.0 + rng.uniform(
        -60, 60, len(unit)
    )
    start = shapely.get_coordinates(shapely.line_interpolate_point(lines, along + offset))
    aspect = terrain.lookup(terrain.aspect, start[:, 0], start[:, 1])
    side = np.where(rng.random(len(unit)) < 0.5, 1.0, -1.0)
    length = rng.uniform(500.0, 1_300.0, len(unit))
    start_z = terrain.elevation_at(start[:, 0], start[:, 1])
    end = np.full_like(start, np.nan)
    for tilt in TILTS:  # along the contour, turned downhill until the end lies lower
        angle = aspect + side * (np.pi / 2 - tilt)
        trial = start + length[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        fits = np.isnan(end[:, 0]) & (
            terrain.elevation_at(trial[:, 0], trial[:, 1]) <= start_z - 0.5
        )
        end[fits] = trial[fits]
    straight_down = np.isnan(end[:, 0])
    end[straight_down] = start[straight_down] + length[straight_down, None] * np.column_stack(
        [np.cos(aspect[straight_down]), np.sin(aspect[straight_down])]
    )
    middle = (start + end) / 2 + rng.normal(0.0, 15.0, start.shape)
    short = start + (end - start) * np.minimum(1.0, 300.0 / length)[:, None]
    lines_out = _clip_to_land(
        shapely.linestrings(np.stack([start, middle, end], axis=1)),
        shapely.points(start),
        service_areas,
        shapely.linestrings(np.stack([start, short], axis=1)),
    )
    served = area_ha[unit] / count[np.searchsorted(units, unit)]
    return [
        Branch(line, branches[p].main, int(p), "on_farm", float(ha))
        for line, p, ha in zip(lines_out, parent, served, strict=True)
    ]


def _clip_to_land(
    lines: np.ndarray, starts: np.ndarray, areas: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """Each line cut to the service area holding its start, keeping the piece that starts
    there; lines starting outside every area keep their `fallback` (their first 300 m)."""
    out = fallback.copy()
    line_index, area_index = shapely.STRtree(areas).query(starts, predicate="intersects")
    _, first = np.unique(line_index, return_index=True)
    line_index, area_index = line_index[first], area_index[first]
    pieces = shapely.intersection(lines[line_index], areas[area_index])
    for index, piece in zip(line_index, pieces, strict=True):
        parts = shapely.get_parts(shapely.line_merge(piece)) if not piece.is_empty else []
        parts = [p for p in parts if shapely.get_type_id(p) == 1]
        if parts:
            nearest = min(parts, key=lambda p: p.distance(starts[index]))
            if nearest.length > 100.0:
                out[index] = nearest
    return out
