"""The rural road network as a graph on the DEM grid, then as smooth segments in metres.

Roads are added in order of importance (international, national, local). Each road claims
the grid edges (pairs of neighbouring cells) of its least-cost path that no earlier road
holds, so where a local road follows a trunk road the stretch stays the trunk road's, and
roads meet at shared cells. The graph is then cut into pieces between junctions and road
changes, each piece is simplified and smoothed with fixed ends (junctions stay exact), and
cut into segments of the length the scale needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from demo.roads.paths import CostSurface, cells_to_metric, route, straighten
from demo.roads.routes import PLACES, TRUNK_ROADS

MIN_SEGMENT_M = 300.0
MAX_SEGMENT_M = 2000.0
EXISTING_ROAD_DISCOUNT = 0.35
"""Cost factor on cells that already carry a road: new roads join them, not run beside."""


@dataclass(frozen=True)
class Road:
    """A road of the register: its number, name and class (local roads are numbered per
    oblast once the network is complete, so `number` is empty until then)."""

    number: str
    name: str
    road_class: str
    oblast: str = ""


class Network:
    """Roads as owned edges of the grid graph."""

    def __init__(self, surface: CostSurface) -> None:
        self.surface = surface
        self.roads: list[Road] = []
        self.edges: dict[tuple[int, int], int] = {}
        self.on_network = np.zeros(surface.cost.size, bool)
        self.anchors = np.zeros(surface.cost.size, bool)
        """Cells the drawn roads must pass through: settlements and waypoints."""
        self.routes: list[np.ndarray] = []
        """Each road's path of cells as it was routed (its chainage runs along it)."""

    def add(self, road: Road, cells: np.ndarray) -> int:
        """Add a road along a path of cells; return how many new edges it claimed."""
        index = len(self.roads)
        self.roads.append(road)
        self.routes.append(np.asarray(cells))
        claimed = 0
        for a, b in zip(cells[:-1].tolist(), cells[1:].tolist(), strict=True):
            if a != b:
                key = (a, b) if a < b else (b, a)
                if key not in self.edges:
                    self.edges[key] = index
                    claimed += 1
        self.on_network[cells] = True
        return claimed

    def network_cells(self) -> np.ndarray:
        """Flat indices of the cells that carry a road."""
        return np.flatnonzero(self.on_network)

    def pieces(self) -> list[tuple[int, list[int]]]:
        """(road index, cells) of every stretch between junctions, ends and road changes."""
        adjacency: dict[int, list[tuple[int, int]]] = {}
        for (a, b), road in sorted(self.edges.items()):
            adjacency.setdefault(a, []).append((b, road))
            adjacency.setdefault(b, []).append((a, road))
        breaks = {
            node
            for node, links in adjacency.items()
            if len(links) != 2 or links[0][1] != links[1][1]
        }
        seen: set[tuple[int, int]] = set()
        pieces = []
        # Stretches from every junction or end first, then the loops that have neither.
        for from_breaks in (True, False):
            for node in sorted(adjacency):
                if from_breaks and node not in breaks:
                    continue
                for nxt, road in adjacency[node]:
                    if (min(node, nxt), max(node, nxt)) not in seen:
                        pieces.append((road, _walk(adjacency, breaks, seen, node, nxt)))
        return pieces


def piece_positions(
    network: Network, pieces: list[tuple[int, list[int]]]
) -> tuple[np.ndarray, np.ndarray]:
    """Where each piece lies along its road's route (the route index of its first cell
    there) and whether it was walked against the route (its cells run backwards)."""
    orders: dict[int, dict[int, int]] = {}
    positions, backwards = [], []
    for road, cells in pieces:
        if road not in orders:
            order: dict[int, int] = {}
            for i, cell in enumerate(network.routes[road].tolist()):
                order.setdefault(cell, i)
            orders[road] = order
        at = [orders[road].get(cell, 0) for cell in cells]
        positions.append(min(at))
        backwards.append(at[0] > at[-1])
    return np.asarray(positions, dtype=np.int64), np.asarray(backwards, dtype=bool)


def _walk(
    adjacency: dict[int, list[tuple[int, int]]],
    breaks: set[int],
    seen: set[tuple[int, int]],
    start: int,
    nxt: int,
) -> list[int]:
    """Cells from `start` through `nxt` on to the next junction, end or road change (or
    back to `start` on a loop), marking the edges walked as seen."""
    chain, previous, current = [start], start, nxt
    seen.add((min(start, nxt), max(start, nxt)))
    while True:
        chain.append(current)
        if current == start or current in breaks:
            return chain
        following = next(n for n, _ in adjacency[current] if n != previous)
        key = (min(current, following), max(current, following))
        if key in seen:
            return chain
        seen.add(key)
        previous, current = current, following


def add_trunk_roads(network: Network) -> None:
    """Route the international and national roads through their waypoints."""
    surface = network.surface
    for spec in TRUNK_ROADS:
        lon, lat = np.array([PLACES[name] for name in spec.waypoints]).T
        waypoints = surface.cells_at(lon, lat)
        network.anchors[waypoints] = True
        cells = route(
            surface,
            waypoints,
            preferred=network.on_network,
            preferred_factor=EXISTING_ROAD_DISCOUNT,
        )
        network.add(Road(spec.number, spec.name, spec.road_class), cells)


def chaikin(coords: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Corner-cutting smoothing that keeps the first and last vertex.

    >>> chaikin(np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 4.0]]), 1).tolist()
    [[0.0, 0.0], [3.0, 0.0], [4.0, 1.0], [4.0, 4.0]]
    """
    for _ in range(iterations):
        if len(coords) < 3:
            return coords
        a, b = coords[:-1], coords[1:]
        q, r = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        inner = np.empty((2 * len(a), 2))
        inner[0::2], inner[1::2] = q, r
        coords = np.vstack([coords[:1], inner[1:-1], coords[-1:]])
    return coords


def piece_lines(network: Network, pieces: list[tuple[int, list[int]]]) -> np.ndarray:
    """Smooth LineStrings (UTM 43N, metres) of the pieces, ends on the cell centres."""
    lines = []
    for _, cells in pieces:
        kept = straighten(network.surface, np.asarray(cells), keep=network.anchors)
        smooth = chaikin(cells_to_metric(network.surface, kept), 2)
        lines.append(shapely.LineString(smooth))
    return np.asarray(lines, dtype=object)


def cut_line(coords: np.ndarray, cuts_m: np.ndarray) -> list[np.ndarray]:
    """Split a polyline at distances along it (strictly increasing, inside its length).

    >>> [p.tolist() for p in cut_line(np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([4.0]))]
    [[[0.0, 0.0], [4.0, 0.0]], [[4.0, 0.0], [10.0, 0.0]]]
    """
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
    bounds = np.concatenate([[0.0], cuts_m, [along[-1]]])
    parts = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        inside = (along > start) & (along < end)
        ends = np.column_stack(
            [
                np.interp([start, end], along, coords[:, 0]),
                np.interp([start, end], along, coords[:, 1]),
            ]
        )
        parts.append(np.vstack([ends[:1], coords[inside], ends[1:]]))
    return parts


def segment_count(length_m: float, target_m: float) -> int:
    """How many segments of about `target_m` a line of `length_m` is cut into, keeping each
    between 300 m and 2 km where the line is long enough.

    >>> segment_count(5000, 1000), segment_count(250, 1000), segment_count(9000, 3000)
    (5, 1, 6)
    """
    most = max(1, math.floor(length_m / MIN_SEGMENT_M))
    least = min(most, math.ceil(length_m / (MAX_SEGMENT_M * 0.8)))
    return int(np.clip(round(length_m / target_m), least, most))


def split_lines(
    lines: np.ndarray, target_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Cut lines into segments of about `target_m` (lengths jittered by up to ±20 %).

    Returns:
        The segments (LineStrings) and, for each, the index of the line it came from.
    """
    parts, origin = [], []
    for index, line in enumerate(lines):
        coords = shapely.get_coordinates(line)
        length = float(line.length)
        count = segment_count(length, target_m)
        weights = 1.0 + rng.uniform(-0.2, 0.2, count)
        sizes = weights / weights.sum() * length
        if length >= MIN_SEGMENT_M and not (
            (sizes >= MIN_SEGMENT_M).all() and (sizes <= MAX_SEGMENT_M).all()
        ):
            sizes = np.full(count, length / count)
        pieces = cut_line(coords, np.cumsum(sizes)[:-1])
        parts.extend(pieces)
        origin.extend([index] * len(pieces))
    vertices = np.array([len(p) for p in parts], dtype=int)
    segments = shapely.linestrings(
        np.vstack(parts), indices=np.repeat(np.arange(len(parts)), vertices)
    )
    return segments, np.asarray(origin)
