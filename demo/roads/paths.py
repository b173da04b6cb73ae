"""Least-cost paths over the real elevation model: the routing machinery of the generators.

A :class:`CostSurface` is a cost per metre on the DEM grid (GEBCO, 30 arc-seconds, EPSG:4326):
cheap on gentle valley floors, dear on steep slopes and at altitude, impassable (inf) on lakes
and outside the allowed area. Paths are found with scikit-image's `MCP_Geometric` (Dijkstra on
the 8-connected grid, diagonal steps weighted by their length in metres). Roads use
:func:`road_cost_surface`; other networks (canals, city mains) can build their own cost with
:func:`terrain_cost` and reuse :func:`route` and :func:`connect_to_network`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio import features
from scipy import ndimage
from skimage.graph import MCP_Geometric

from demo.context import UTM_43N, Context

METRES_PER_DEGREE = 111_320.0
CLOSED_COST = 1e6
"""Finite stand-in for impassable cells where a path must cross one (a village that the
generalised lake outline covers)."""
MAX_ROAD_SLOPE = 0.6
"""Terrain slope (rise over run on the DEM grid) above which no road is built."""


@dataclass(frozen=True)
class CostSurface:
    """A cost per metre of travel on a geographic grid; inf where nothing may pass.

    `cost` has the shape of the DEM; `transform` maps (col, row) to (lon, lat) corners;
    `sampling_m` is the (row, col) cell size in metres at the grid's mean latitude.
    """

    cost: np.ndarray
    transform: Affine
    sampling_m: tuple[float, float]
    nearest_open: np.ndarray
    """Flat index of the nearest passable cell of every cell (itself when passable)."""

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        return self.cost.shape  # type: ignore[return-value]

    def raw_cells_at(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Flat index of the cell containing each point (EPSG:4326 degrees), clipped to the
        grid, passable or not."""
        t = self.transform  # north-up, no rotation
        cols = np.floor((np.asarray(lon, float) - t.c) / t.a).astype(int)
        rows = np.floor((np.asarray(lat, float) - t.f) / t.e).astype(int)
        rows = np.clip(rows, 0, self.shape[0] - 1)
        cols = np.clip(cols, 0, self.shape[1] - 1)
        return rows * self.shape[1] + cols

    def cells_at(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Flat index of the passable cell nearest to each point (EPSG:4326 degrees)."""
        return self.nearest_open[self.raw_cells_at(lon, lat)]

    def lonlat(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre (lon, lat) of flat cell indices."""
        rows, cols = np.divmod(np.asarray(cells), self.shape[1])
        t = self.transform
        return t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e


def slope_grid(dem: np.ndarray, transform: Affine) -> np.ndarray:
    """Slope (rise over run, dimensionless) of a DEM on a geographic grid.

    >>> tilted = np.tile(np.arange(4.0) * 10, (3, 1))          # +10 m per column
    >>> grid = Affine(1 / 111_320, 0, 0, 0, -1 / 111_320, 0)   # ~1 m cells at the equator
    >>> round(float(slope_grid(tilted, grid)[1, 1]), 2)
    10.0
    """
    rows = np.arange(dem.shape[0])
    lat = transform.f + (rows + 0.5) * transform.e
    dx = abs(transform.a) * METRES_PER_DEGREE * np.cos(np.radians(lat))
    dy = abs(transform.e) * METRES_PER_DEGREE
    gy, gx = np.gradient(dem.astype("float64"))
    return np.hypot(gx / dx[:, None], gy / dy).astype("float32")


def terrain_cost(
    dem: np.ndarray,
    slope: np.ndarray,
    *,
    comfortable_grade: float,
    max_grade: float,
    soft_elevation_m: float,
    elevation_scale_m: float,
    hard_elevation_m: float,
) -> np.ndarray:
    """Cost per metre from slope and altitude.

    1 on flat low ground, growing with the cube of the slope over `comfortable_grade` and
    the square of the height above `soft_elevation_m` (per `elevation_scale_m`); twenty
    times dearer above `hard_elevation_m`; impassable (inf) where the slope exceeds
    `max_grade` (cliffs at the DEM's 1 km resolution).
    """
    above = np.clip(dem - soft_elevation_m, 0, None) / elevation_scale_m
    cost = 1.0 + (slope / comfortable_grade) ** 3 + above**2
    cost = np.where(dem > hard_elevation_m, cost * 20.0, cost)
    return np.where(slope > max_grade, np.inf, cost).astype("float64")


def rasterize_mask(
    geoms: Sequence[shapely.Geometry],
    shape: tuple[int, int],
    transform: Affine,
    all_touched: bool = False,
) -> np.ndarray:
    """Boolean grid: True in the cells the geometries (same CRS as `transform`) cover."""
    if len(geoms) == 0:
        return np.zeros(shape, bool)
    return features.rasterize(
        ((g, 1) for g in geoms),
        out_shape=shape,
        transform=transform,
        all_touched=all_touched,
        dtype="uint8",
    ).astype(bool)


def make_surface(cost: np.ndarray, transform: Affine) -> CostSurface:
    """Wrap a cost grid (inf or negative = impassable) as a :class:`CostSurface`."""
    cost = np.where(cost > 0, cost, np.inf)
    blocked = ~np.isfinite(cost)
    _, (near_rows, near_cols) = ndimage.distance_transform_edt(blocked, return_indices=True)
    nearest = (near_rows * cost.shape[1] + near_cols).ravel()
    lat = transform.f + transform.e * cost.shape[0] / 2
    sampling = (
        abs(transform.e) * METRES_PER_DEGREE,
        abs(transform.a) * METRES_PER_DEGREE * float(np.cos(np.radians(lat))),
    )
    return CostSurface(cost, transform, sampling, nearest)


def road_cost_surface(ctx: Context) -> CostSurface:
    """The cost of building a road anywhere in Kyrgyzstan.

    Slopes above about 7 % grow dear (cubic law) and slopes above 60 % (cliffs at this
    resolution) are closed; altitude above 1,800 m grows dear (square law), land above
    3,700 m is twenty times dearer; river beds (the DEM stream network) cost 2.5 times more
    (a bridge) while the terraces beside them cost a quarter less, so roads follow valleys
    and cross rivers where they must. Lakes are impassable; land outside the country costs
    eight times more and is closed beyond 3 km of the border (the Natural Earth outline is
    generalised, and some border villages lie just outside it).
    """
    dem, transform, _ = ctx.dem
    cost = terrain_cost(
        dem,
        slope_grid(dem, transform),
        comfortable_grade=0.07,
        max_grade=MAX_ROAD_SLOPE,
        soft_elevation_m=1800.0,
        elevation_scale_m=500.0,
        hard_elevation_m=3700.0,
    )
    streams = rasterize_mask(list(ctx.streams.geometry), dem.shape, transform, all_touched=False)
    terrace = ndimage.binary_dilation(streams, np.ones((3, 3), bool)) & ~streams
    cost = np.where(streams, cost * 2.5, np.where(terrace, cost * 0.75, cost))
    country_m = ctx.to_metric(ctx.country).geometry.iloc[0]
    near = gpd.GeoSeries([country_m.buffer(3000)], crs=UTM_43N).to_crs(4326).iloc[0]
    inside = rasterize_mask([ctx.country.geometry.iloc[0]], dem.shape, transform)
    allowed = rasterize_mask([near], dem.shape, transform)
    lakes = rasterize_mask(list(ctx.lakes.geometry), dem.shape, transform)
    cost = np.where(inside, cost, cost * 8.0)
    cost[~allowed | lakes] = np.inf
    return make_surface(cost, transform)


def _window(surface: CostSurface, cells: np.ndarray, margin: int) -> tuple[slice, slice]:
    rows, cols = np.divmod(cells, surface.shape[1])
    return (
        slice(max(rows.min() - margin, 0), min(rows.max() + margin + 1, surface.shape[0])),
        slice(max(cols.min() - margin, 0), min(cols.max() + margin + 1, surface.shape[1])),
    )


def route(
    surface: CostSurface,
    waypoints: np.ndarray,
    *,
    preferred: np.ndarray | None = None,
    preferred_factor: float = 1.0,
    margin_cells: int = 40,
) -> np.ndarray:
    """The least-cost path through `waypoints` (flat cells, visited in order).

    Each leg is searched in the bounding box of its two ends widened by `margin_cells` (and
    by half the leg's length), which keeps national routing to milliseconds per leg. Cells
    where the boolean grid `preferred` is set cost `preferred_factor` times less (e.g.
    existing roads, so that a new road joins them rather than running beside them).

    Returns:
        Flat cell indices from the first waypoint to the last (consecutive cells adjacent).
    """
    path: list[np.ndarray] = []
    for start, end in zip(waypoints[:-1], waypoints[1:], strict=True):
        if start == end:
            continue
        r0, c0 = divmod(int(start), surface.shape[1])
        r1, c1 = divmod(int(end), surface.shape[1])
        pad = margin_cells + max(abs(r1 - r0), abs(c1 - c0)) // 2
        rows, cols = _window(surface, np.array([start, end]), pad)
        cost = surface.cost[rows, cols]
        if preferred is not None:
            cost = np.where(
                preferred.reshape(surface.shape)[rows, cols], cost * preferred_factor, cost
            )
        mcp = MCP_Geometric(cost, sampling=surface.sampling_m)
        begin, finish = (r0 - rows.start, c0 - cols.start), (r1 - rows.start, c1 - cols.start)
        cumulative, _ = mcp.find_costs([begin], [finish])
        if not np.isfinite(cumulative[finish]):
            if pad >= max(surface.shape):
                raise ValueError(f"no passable path between cells {start} and {end}")
            leg_path = route(
                surface,
                np.array([start, end]),
                preferred=preferred,
                preferred_factor=preferred_factor,
                margin_cells=max(surface.shape),
            )
            path.append(leg_path if not path else leg_path[1:])
            continue
        leg = np.asarray(mcp.traceback(finish))
        flat = (leg[:, 0] + rows.start) * surface.shape[1] + leg[:, 1] + cols.start
        path.append(flat if not path else flat[1:])
    return np.concatenate(path) if path else np.asarray(waypoints[:1])


def connect_to_network(
    surface: CostSurface, network: np.ndarray, targets: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Least-cost paths from the nearest cell of `network` to each of `targets`.

    One multi-source search over the whole grid: the paths form a tree rooted on the
    network, so paths to neighbouring targets share their common stretch cell for cell.

    Returns:
        For each target, its path (flat cells, network cell first, target last; a single
        cell when the target is on the network), and the accumulated cost of each path.
    """
    mcp = MCP_Geometric(surface.cost, sampling=surface.sampling_m)
    starts = np.column_stack(np.divmod(np.unique(network), surface.shape[1]))
    cumulative, _ = mcp.find_costs(starts.tolist())
    paths, costs = [], []
    for cell in targets.tolist():
        rc = divmod(int(cell), surface.shape[1])
        if not np.isfinite(cumulative[rc]):
            paths.append(np.array([cell]))
            costs.append(np.inf)
            continue
        steps = np.asarray(mcp.traceback(rc))
        paths.append(steps[:, 0] * surface.shape[1] + steps[:, 1])
        costs.append(float(cumulative[rc]))
    return paths, np.asarray(costs)


def straighten(
    surface: CostSurface,
    cells: np.ndarray,
    *,
    keep: np.ndarray | None = None,
    tolerance: float = 1.08,
    max_offset_m: float = 800.0,
    reach: int = 40,
) -> np.ndarray:
    """The cells of a grid path to keep as vertices when it is drawn with any angle.

    Greedy string pulling: from each kept cell, jump to the farthest cell (up to `reach`
    steps on) whose straight line costs at most `tolerance` times the grid path between
    them (cost sampled along the line), passes within `max_offset_m` of every cell it
    skips, and skips no cell flagged in the boolean grid `keep` (settlements, waypoints).
    Grid paths only turn by 45 degrees; the pulled line follows the same valleys without
    the staircase. The first and last cells are always kept.
    """
    cells = np.asarray(cells)
    rows, cols = np.divmod(cells, surface.shape[1])
    y, x = rows * surface.sampling_m[0], cols * surface.sampling_m[1]
    flat_cost = surface.cost.ravel()
    on_path = np.minimum(flat_cost[cells], CLOSED_COST)
    step = np.hypot(np.diff(x), np.diff(y)) * (on_path[:-1] + on_path[1:]) / 2
    along = np.concatenate([[0.0], np.cumsum(step)])
    pinned = np.cumsum(keep.ravel()[cells]) if keep is not None else np.zeros(len(cells), int)
    kept, anchor, n = [0], 0, len(cells)
    while anchor < n - 1:
        ends = np.arange(anchor + 2, min(n, anchor + reach + 1))
        best = anchor + 1
        if len(ends):
            fine = _line_costs(surface, rows, cols, anchor, ends) <= tolerance * (
                along[ends] - along[anchor]
            )
            fine &= _offsets(x, y, anchor, ends) <= max_offset_m
            fine &= pinned[ends - 1] == pinned[anchor]
            failed = np.flatnonzero(~fine)
            last = (failed[0] if len(failed) else len(ends)) - 1
            if last >= 0:
                best = int(ends[last])
        kept.append(best)
        anchor = best
    return cells[kept]


def _line_costs(
    surface: CostSurface,
    rows: np.ndarray,
    cols: np.ndarray,
    anchor: int,
    ends: np.ndarray,
    samples: int = 8,
) -> np.ndarray:
    """Cost of the straight lines from cell `anchor` of a path to each of `ends`."""
    t = np.linspace(0.0, 1.0, samples)
    r = np.rint(rows[anchor] + np.outer(rows[ends] - rows[anchor], t)).astype(int)
    c = np.rint(cols[anchor] + np.outer(cols[ends] - cols[anchor], t)).astype(int)
    sampled = np.minimum(surface.cost.ravel()[r * surface.shape[1] + c], CLOSED_COST)
    dx, dy = (
        (cols[ends] - cols[anchor]) * surface.sampling_m[1],
        (rows[ends] - rows[anchor]) * surface.sampling_m[0],
    )
    return sampled.mean(axis=1) * np.hypot(dx, dy)


def _offsets(x: np.ndarray, y: np.ndarray, anchor: int, ends: np.ndarray) -> np.ndarray:
    """Farthest distance of the path's cells between `anchor` and each end from the chord."""
    between = np.arange(anchor + 1, ends[-1])
    ex, ey = x[ends] - x[anchor], y[ends] - y[anchor]
    px, py = x[between] - x[anchor], y[between] - y[anchor]
    distance = np.abs(np.outer(ex, py) - np.outer(ey, px)) / np.hypot(ex, ey)[:, None]
    distance[between[None, :] >= ends[:, None]] = 0.0
    return distance.max(axis=1)


def line_cells(surface: CostSurface, start: int, end: int) -> np.ndarray:
    """The cells of a straight line between two cells, each adjacent to the next (8-way).

    >>> grid = CostSurface(np.ones((5, 5)), Affine.identity(), (1.0, 1.0), np.arange(25))
    >>> line_cells(grid, 0, 13).tolist()
    [0, 6, 7, 13]
    """
    r0, c0 = divmod(int(start), surface.shape[1])
    r1, c1 = divmod(int(end), surface.shape[1])
    steps = max(abs(r1 - r0), abs(c1 - c0))
    t = np.linspace(0.0, 1.0, steps + 1)
    rows = np.rint(r0 + (r1 - r0) * t).astype(int)
    cols = np.rint(c0 + (c1 - c0) * t).astype(int)
    return rows * surface.shape[1] + cols


def cells_to_metric(surface: CostSurface, cells: np.ndarray) -> np.ndarray:
    """(n, 2) UTM 43N coordinates (metres) of cell centres."""
    lon, lat = surface.lonlat(cells)
    x, y = _TO_UTM.transform(lon, lat)
    return np.column_stack([x, y])


_TO_UTM = Transformer.from_crs(4326, UTM_43N, always_xy=True)
