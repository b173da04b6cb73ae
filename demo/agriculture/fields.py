"""Field layout: the cultivable land cut into blocks and plots without overlaps (UTM 43N).

The land is split into massifs (Voronoi cells of seeds about 15 km apart). Each massif has
its own grid, turned so that the long side of its fields runs down the slope (furrow
irrigation), with blocks of 400-900 m x 700-1,400 m separated by 12 m field roads and
ditches. Blocks are cut recursively into rectangular plots (3 m boundary strips between
them) whose sizes follow the kind of farm that works the block: smallholder strips of a few
hectares, medium farms, or large fields of cooperatives and farm enterprises. Every step is
vectorised over all blocks or plots; only the massifs (about a hundred) are looped over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from demo.agriculture.land import Terrain

MASSIF_SPACING_M = 15_000.0
BLOCK_GAP_M = 12.0
PLOT_GAP_M = 3.0
MIN_PLOT_M2 = 5_000.0
MAX_PLOT_M2 = 580_000.0
FARM_KINDS = np.array(["smallholder", "medium", "large"])
KIND_SHARE = np.array([0.68, 0.24, 0.08])
KIND_MEDIAN_HA = np.array([4.4, 12.0, 40.0])
OBLAST_SHARE = {
    "Chuy": 0.30,
    "Issyk-Kul": 0.12,
    "Naryn": 0.06,
    "Talas": 0.09,
    "Jalal-Abad": 0.16,
    "Osh": 0.19,
    "Batken": 0.08,
    "Bishkek": 0.0,
}
"""Share of the plots in each oblast, roughly the share of its arable land."""


@dataclass(frozen=True)
class Blocks:
    """Field blocks in their massif's frame: u along the contour, v down the slope."""

    massif: np.ndarray
    u0: np.ndarray
    v0: np.ndarray
    u1: np.ndarray
    v1: np.ndarray
    kind: np.ndarray
    """Index into `FARM_KINDS`."""
    x: np.ndarray
    y: np.ndarray
    """Centre, UTM 43N."""


@dataclass(frozen=True)
class Fields:
    """The plots: UTM 43N polygons, the block and massif they belong to, the farm kind."""

    geometry: np.ndarray
    block: np.ndarray
    kind: np.ndarray


def massif_seeds(terrain: Terrain, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeds (n x 2, UTM) of the massifs, one per 15 km square holding cultivable land, and
    the direction (radians) of each massif's slope: the slope-weighted mean aspect."""
    rows, cols = np.nonzero(terrain.cultivable[::2, ::2])
    rows, cols = 2 * rows, 2 * cols
    x, y = terrain.cell_centres(rows, cols)
    square = np.floor(x / MASSIF_SPACING_M) * 1e4 + np.floor(y / MASSIF_SPACING_M)
    order = rng.permutation(len(x))
    _, first = np.unique(square[order], return_index=True)
    seeds = np.column_stack([x[order[first]], y[order[first]]])
    _, owner = cKDTree(seeds).query(np.column_stack([x, y]))
    aspect = terrain.aspect[rows, cols]
    z = terrain.elevation
    inner_r = np.clip(rows, 1, z.shape[0] - 2)
    inner_c = np.clip(cols, 1, z.shape[1] - 2)
    weight = (
        np.hypot(
            z[inner_r, inner_c + 1] - z[inner_r, inner_c - 1],
            z[inner_r + 1, inner_c] - z[inner_r - 1, inner_c],
        )
        + 1e-3
    )
    sin = np.bincount(owner, weight * np.sin(aspect), len(seeds))
    cos = np.bincount(owner, weight * np.cos(aspect), len(seeds))
    angle = np.arctan2(sin, cos) + rng.normal(0.0, np.radians(6.0), len(seeds))
    return seeds, angle


def _frame(angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along the contour (u) and down the slope (v)."""
    down = np.array([np.cos(angle), np.sin(angle)])
    return np.array([-down[1], down[0]]), down


def _massif_blocks(
    seed: np.ndarray, angle: float, cells: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """The grid of blocks covering a massif's cultivable cells, in the massif frame."""
    along, down = _frame(angle)
    u = (cells - seed) @ along
    v = (cells - seed) @ down
    edges_u = _jittered_lines(u.min() - 1_000.0, u.max() + 1_000.0, 400.0, 900.0, rng)
    edges_v = _jittered_lines(v.min() - 1_500.0, v.max() + 1_500.0, 700.0, 1_400.0, rng)
    grid_u, grid_v = np.meshgrid(np.arange(len(edges_u) - 1), np.arange(len(edges_v) - 1))
    iu, iv = grid_u.ravel(), grid_v.ravel()
    return edges_u[iu], edges_v[iv], edges_u[iu + 1], edges_v[iv + 1]


def _jittered_lines(
    start: float, stop: float, low: float, high: float, rng: np.random.Generator
) -> np.ndarray:
    count = int((stop - start) / low) + 2
    return start + np.concatenate([[0.0], np.cumsum(rng.uniform(low, high, count))])


def layout_blocks(
    terrain: Terrain, seeds: np.ndarray, angles: np.ndarray, rng: np.random.Generator
) -> Blocks:
    """Blocks of every massif that touch cultivable land and whose centre lies in the
    massif's own Voronoi cell."""
    rows, cols = np.nonzero(terrain.cultivable[::2, ::2])
    cells = np.column_stack(terrain.cell_centres(2 * rows + 0.5, 2 * cols + 0.5))
    tree = cKDTree(seeds)
    _, owner = tree.query(cells)
    by_massif = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[by_massif], np.arange(len(seeds) + 1))
    grids = []
    for index in range(len(seeds)):
        own = cells[by_massif[bounds[index] : bounds[index + 1]]]
        if len(own):
            grid = _massif_blocks(seeds[index], angles[index], own, rng)
            grids.append((np.full(len(grid[0]), index), *grid))
    massif, u0, v0, u1, v1 = (np.concatenate(g) for g in zip(*grids, strict=True))
    down = np.column_stack([np.cos(angles[massif]), np.sin(angles[massif])])
    along = np.column_stack([-down[:, 1], down[:, 0]])

    def at(fu: float, fv: float) -> np.ndarray:
        return (
            seeds[massif]
            + (u0 + fu * (u1 - u0))[:, None] * along
            + (v0 + fv * (v1 - v0))[:, None] * down
        )

    centre = at(0.5, 0.5)
    keep = tree.query(centre)[1] == massif
    on_land = np.zeros(len(massif), dtype=bool)
    for fu, fv in ((0.5, 0.5), (0.1, 0.1), (0.9, 0.1), (0.1, 0.9), (0.9, 0.9)):
        point = at(fu, fv)
        on_land |= terrain.lookup(terrain.cultivable, point[:, 0], point[:, 1])
    keep &= on_land
    kind = rng.choice(len(FARM_KINDS), size=int(keep.sum()), p=KIND_SHARE)
    return Blocks(
        massif=massif[keep],
        u0=u0[keep],
        v0=v0[keep],
        u1=u1[keep],
        v1=v1[keep],
        kind=kind,
        x=centre[keep, 0],
        y=centre[keep, 1],
    )


def subdivide(
    blocks: Blocks, median_scale: float, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Recursive cuts of every block into rectangles (u0, v0, u1, v1, block index).

    A rectangle larger than a size drawn from the block's farm kind (log-normal around its
    median, times `median_scale`) is cut across its longer side at 30-70 %; the cut direction
    prefers fields 1.5-4 times longer down the slope than across it.
    """
    u0, v0, u1, v1 = blocks.u0.copy(), blocks.v0.copy(), blocks.u1.copy(), blocks.v1.copy()
    owner = np.arange(len(u0))
    elongation = rng.uniform(1.5, 4.0, len(u0))
    median_m2 = KIND_MEDIAN_HA[blocks.kind] * 1e4 * median_scale
    done: list[tuple[np.ndarray, ...]] = []
    for _ in range(40):
        area = (u1 - u0) * (v1 - v0)
        target = median_m2[owner] * np.exp(0.6 * rng.standard_normal(len(owner)))
        split = (area > target) | (area > MAX_PLOT_M2)
        done.append((u0[~split], v0[~split], u1[~split], v1[~split], owner[~split]))
        u0, v0, u1, v1, owner = u0[split], v0[split], u1[split], v1[split], owner[split]
        if len(owner) == 0:
            break
        cut_u = (u1 - u0) * elongation[owner] > (v1 - v0)
        at = rng.uniform(0.3, 0.7, len(owner))
        mid_u = u0 + at * (u1 - u0)
        mid_v = v0 + at * (v1 - v0)
        u0, v0, u1, v1, owner = (
            np.concatenate([u0, np.where(cut_u, mid_u, u0)]),
            np.concatenate([v0, np.where(cut_u, v0, mid_v)]),
            np.concatenate([np.where(cut_u, mid_u, u1), u1]),
            np.concatenate([np.where(cut_u, v1, mid_v), v1]),
            np.concatenate([owner, owner]),
        )
    return tuple(np.concatenate(arrays) for arrays in zip(*done, strict=True))


def rectangles_to_polygons(
    blocks: Blocks, seeds: np.ndarray, angles: np.ndarray, rects: tuple[np.ndarray, ...]
) -> np.ndarray:
    """UTM polygons of rectangles in their massif frames, inset by the boundary strips."""
    u0, v0, u1, v1, owner = rects
    half_plot = PLOT_GAP_M / 2
    half_block = BLOCK_GAP_M / 2
    u0 = np.maximum(u0 + half_plot, blocks.u0[owner] + half_block)
    v0 = np.maximum(v0 + half_plot, blocks.v0[owner] + half_block)
    u1 = np.minimum(u1 - half_plot, blocks.u1[owner] - half_block)
    v1 = np.minimum(v1 - half_plot, blocks.v1[owner] - half_block)
    massif = blocks.massif[owner]
    down = np.column_stack([np.cos(angles[massif]), np.sin(angles[massif])])
    along = np.column_stack([-down[:, 1], down[:, 0]])
    corner_u = np.stack([u0, u1, u1, u0, u0], axis=1)
    corner_v = np.stack([v0, v0, v1, v1, v0], axis=1)
    xy = (
        seeds[massif][:, None, :]
        + corner_u[..., None] * along[:, None, :]
        + corner_v[..., None] * down[:, None, :]
    )
    return shapely.polygons(xy)


def clip_to(polygons: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """Each polygon intersected with the union of the pieces it touches (empty when none).

    Polygons inside one piece are kept as they are; the others are intersected piece by
    piece and the parts put back together. Pieces must not overlap each other.
    """
    shapely.prepare(pieces)
    poly_index, piece_index = shapely.STRtree(pieces).query(polygons)
    result = np.full(len(polygons), shapely.Polygon(), dtype=object)
    inside = shapely.contains_properly(pieces[piece_index], polygons[poly_index])
    result[poly_index[inside]] = polygons[poly_index[inside]]
    whole = np.zeros(len(polygons), dtype=bool)
    whole[poly_index[inside]] = True
    cut = ~whole[poly_index]
    parts = shapely.intersection(polygons[poly_index[cut]], pieces[piece_index[cut]])
    owners = poly_index[cut]
    parts = shapely.get_parts(parts, return_index=True)
    owners, parts = owners[parts[1]], parts[0]
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 200.0)
    owners, parts = owners[keep], parts[keep]
    if len(owners):
        order = np.argsort(owners, kind="stable")
        owners, parts = owners[order], parts[order]
        starts = np.flatnonzero(np.r_[True, np.diff(owners) > 0])
        groups = np.split(parts, starts[1:])
        result[owners[starts]] = [g[0] if len(g) == 1 else shapely.union_all(g) for g in groups]
    return result


def clip_to_massifs(polygons: np.ndarray, massif: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Polygons cut to their massif's Voronoi cell, less half a field road along its edge.

    A rectangle whose corners are all nearest to its own seed lies in the (convex) cell and is
    kept as it is.
    """
    corners = shapely.get_coordinates(polygons).reshape(len(polygons), 5, 2)[:, :4]
    _, nearest = cKDTree(seeds).query(corners.reshape(-1, 2))
    inside = (nearest.reshape(-1, 4) == massif[:, None]).all(axis=1)
    x0, y0, x1, y1 = shapely.total_bounds(polygons)
    frame = shapely.box(x0 - 1e5, y0 - 1e5, x1 + 1e5, y1 + 1e5)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    )
    cells = shapely.buffer(cells, -BLOCK_GAP_M / 2, join_style="mitre")
    result = polygons.copy()
    result[~inside] = shapely.intersection(polygons[~inside], cells[massif[~inside]])
    return result


def block_priority(
    terrain: Terrain, blocks: Blocks, oblast_names: list[str], target: int, rng: np.random.Generator
) -> np.ndarray:
    """Order in which blocks are taken: patches around centres spread over the oblasts in
    proportion to their arable land, so that a small demo still has fields in every valley."""
    oblast = terrain.lookup(terrain.oblast, blocks.x, blocks.y)
    count = int(np.clip(target / 600, 20, 1_500))
    centres = []
    for index, name in enumerate(oblast_names):
        members = np.flatnonzero(oblast == index)
        share = OBLAST_SHARE.get(name, 0.0)
        if len(members) and share > 0:
            wanted = min(len(members), max(1, round(count * share)))
            centres.append(rng.choice(members, size=wanted, replace=False))
    chosen = np.concatenate(centres)
    distance, _ = cKDTree(np.column_stack([blocks.x[chosen], blocks.y[chosen]])).query(
        np.column_stack([blocks.x, blocks.y])
    )
    priority = distance + rng.uniform(0.0, 2_500.0, len(distance))
    priority[rng.random(len(distance)) < 0.05] = np.inf  # farmsteads, orchards of houses, fallow
    return np.argsort(priority, kind="stable")


def _subset(blocks: Blocks, index: np.ndarray) -> Blocks:
    return Blocks(**{name: getattr(blocks, name)[index] for name in Blocks.__dataclass_fields__})


def lay_out_fields(
    terrain: Terrain,
    pieces: np.ndarray,
    oblast_names: list[str],
    target: int,
    rng: np.random.Generator,
) -> Fields:
    """About `target` plots on the cultivable land (UTM 43N polygons, valid, not overlapping).

    When the land cannot hold `target` plots of the usual sizes (national scale on a small
    country), plot sizes are scaled down until it can.
    """
    seeds, angles = massif_seeds(terrain, rng)
    blocks = layout_blocks(terrain, seeds, angles, rng)
    order = block_priority(terrain, blocks, oblast_names, target, rng)
    # a first guess of the plots per block, to cut only the blocks that may be needed
    guess = (
        (blocks.u1 - blocks.u0)
        * (blocks.v1 - blocks.v0)
        / (KIND_MEDIAN_HA[blocks.kind] * 1e4 * 0.45)
    )
    enough = int(np.searchsorted(np.cumsum(guess[order]), target * 2.0)) + 1
    if enough < len(order):
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        subset = np.sort(order[:enough])
        blocks, order = _subset(blocks, subset), np.argsort(rank[subset], kind="stable")
    scale = 1.0
    for _ in range(4):
        rects = subdivide(blocks, scale, rng)
        per_block = np.bincount(rects[4], minlength=len(blocks.u0))
        available = per_block[order].sum() * 0.9
        if available >= target * 1.1:
            break
        scale *= available / (target * 1.15)
    taken = order[: int(np.searchsorted(np.cumsum(per_block[order]), target * 1.15)) + 1]
    selected = np.isin(rects[4], taken)
    rects = tuple(r[selected] for r in rects)
    owner = rects[4]
    polygons = rectangles_to_polygons(blocks, seeds, angles, rects)
    polygons = clip_to_massifs(polygons, blocks.massif[owner], seeds)
    polygons = clip_to(polygons, pieces)
    keep = ~shapely.is_empty(polygons)
    keep[keep] = shapely.area(polygons[keep]) >= MIN_PLOT_M2
    polygons, owner = polygons[keep], owner[keep]
    if len(polygons) > target:
        # the last blocks taken are dropped whole, so no block is left half empty
        cut = np.searchsorted(
            np.cumsum(np.bincount(owner, minlength=len(blocks.u0))[taken]), target
        )
        kept_blocks = np.isin(owner, taken[: cut + 1])
        polygons, owner = polygons[kept_blocks], owner[kept_blocks]
    return Fields(geometry=polygons, block=owner, kind=blocks.kind[owner])
