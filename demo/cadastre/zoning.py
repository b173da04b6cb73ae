"""Cadastral zones and blocks of the rayons, and the codes of the rural parcels.

- Zones (`ZZ`): the Voronoi cells of the GeoNames places of the rayon (an approximation of
  the aiyl aimaks, ranked by geonameid) and, where no place lies within half of
  `ZONE_SPACING_M`, of the points of a seeded jittered grid of that spacing (ranked after
  the places, north to south, west to east), cut to the rayon's territory.
- Blocks (`BBBB`): the Voronoi cells of seeds that are denser near settlements (GeoNames
  places and Natural Earth urban areas, `BLOCK_LEVELS`): every place, then seeded jittered
  grids, each used in its band of distance from the nearest settlement; a seed makes a
  block of the zone that holds it (a zone without one is one block). Ranked within the zone
  north to south, west to east.
- Parcels (`PPPP`): a parcel belongs to the block that holds its representative point,
  ranked within the block north to south, west to east. Blocks and zones then give up what
  other blocks' parcels cover and take their own parcels whole (`cover.absorb`), so no
  parcel is cut and the blocks still tile their zone, the zones their rayon. Parcels that
  cross the edge of their rayon's territory are left out (the rayon outlines cut through
  fields and villages).

Seeds and Voronoi cells are made in the Kyrg-06 zone of each rayon (`cadastre.national`);
the same seed and data give the same zones and blocks at every scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cadastre.codes import format_codes
from cadastre.national import kyrg06_srid
from demo.cadastre.cover import absorb, locate, partition, reproject
from demo.context import Context

ZONE_SPACING_M = 30_000.0
BLOCK_LEVELS = ((2_000.0, 5_000.0), (5_000.0, 15_000.0), (12_000.0, np.inf))
"""(grid spacing, up to this distance from a settlement), in metres, nearest first."""
JITTER = 0.3
"""How far a grid seed moves from its grid point, as a share of the spacing."""


@dataclass(frozen=True)
class RuralCover:
    """Zones, blocks and coded parcels of the rayons (EPSG:4326)."""

    zones: gpd.GeoDataFrame
    blocks: gpd.GeoDataFrame
    parcels: gpd.GeoDataFrame


@dataclass(frozen=True)
class _Territory:
    """A rural territory in its Kyrg-06 zone: the EPSG code, its polygon and the places
    and settlements (places and urban areas) in metres."""

    srid: int
    area_m: shapely.Geometry
    places_m: np.ndarray
    settled_m: np.ndarray


@dataclass(frozen=True)
class _Cells:
    """Zone or block cells of every territory, before the parcels adjust them."""

    geoms: np.ndarray
    parent: np.ndarray
    """For blocks: the index of their zone; for zones: of their territory."""
    seeds: np.ndarray
    """(n, 2): each cell's seed, metres in its territory's Kyrg-06 zone."""


def rural_cover(
    ctx: Context, territories: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame
) -> RuralCover:
    """Zones and blocks of every rural territory, and the parcels coded by them.

    Args:
        ctx: the generators' context (places, urban areas, the seed).
        territories: `rayon_territories` (EPSG:4326).
        parcels: rural parcels without codes (EPSG:4326, not overlapping).

    Returns:
        The zones (`zone_code`), blocks (`block_code`, `zone_code`) and the parcels that lie
        inside their territory, with `cadastral_code`.
    """
    rng = ctx.rng("cadastre.zoning")
    places = ctx.settlements.sort_values("geonameid").reset_index(drop=True)
    settled = np.concatenate([places.geometry.to_numpy(), ctx.urban_areas.geometry.to_numpy()])
    metric = _in_metres(territories, places, settled)
    zones = _zone_cells(territories, metric, places, rng)
    blocks = _block_cells(metric, zones, rng)
    reps = shapely.point_on_surface(parcels.geometry.to_numpy())
    cell = locate(reps, blocks.geoms)
    home = territories.geometry.to_numpy()[zones.parent[blocks.parent[np.maximum(cell, 0)]]]
    shapely.prepare(home)
    inside = (cell >= 0) & shapely.covers(home, parcels.geometry.to_numpy())
    parcels, cell, reps = parcels[inside].reset_index(drop=True), cell[inside], reps[inside]
    geoms = parcels.geometry.to_numpy()
    block_geoms = absorb(blocks.geoms, geoms, cell)
    kept = ~shapely.is_empty(block_geoms)
    zone_parts = _zone_parts(territories, zones)
    parts = (*(part[blocks.parent] for part in zone_parts), _ranks(blocks, kept))
    parcels["cadastral_code"] = _parcel_codes(parts, cell, reps)
    zone_codes = _zone_codes(*zone_parts)
    zone_frame = gpd.GeoDataFrame(
        {"zone_code": zone_codes},
        geometry=absorb(zones.geoms, geoms, blocks.parent[cell]),
        crs=4326,
    )
    block_zone = zone_codes[blocks.parent]
    block_frame = gpd.GeoDataFrame(
        {"block_code": _block_codes(block_zone, parts[3]), "zone_code": block_zone},
        geometry=block_geoms,
        crs=4326,
    )
    return RuralCover(zone_frame, block_frame[kept].reset_index(drop=True), parcels)


def _zone_parts(territories: gpd.GeoDataFrame, zones: _Cells) -> tuple[np.ndarray, ...]:
    """Territory, rayon and zone number (in seed order within the rayon) of every zone."""
    number = pd.Series(zones.parent).groupby(zones.parent).cumcount().to_numpy() + 1
    return (
        territories.territory.to_numpy()[zones.parent],
        territories.rayon.to_numpy()[zones.parent],
        number,
    )


def _zone_codes(territory: np.ndarray, rayon: np.ndarray, zone: np.ndarray) -> np.ndarray:
    """`T-RR-ZZ` codes."""
    parts = zip(territory, rayon, zone, strict=True)
    return np.array([f"{t}-{r:02d}-{z:02d}" for t, r, z in parts])


def _block_codes(zone_codes: np.ndarray, number: np.ndarray) -> list[str]:
    """`T-RR-ZZ-BBBB` codes."""
    return [f"{z}-{n:04d}" for z, n in zip(zone_codes, number, strict=True)]


def _in_metres(
    territories: gpd.GeoDataFrame, places: gpd.GeoDataFrame, settled: np.ndarray
) -> list[_Territory]:
    """Each territory, the places and the settlements in the territory's Kyrg-06 zone."""
    out, by_srid = [], {}
    for geom in territories.geometry:
        srid = kyrg06_srid(shapely.point_on_surface(geom).x)
        if srid not in by_srid:
            places_m = reproject(places.geometry.to_numpy(), 4326, srid)
            by_srid[srid] = (shapely.get_coordinates(places_m), reproject(settled, 4326, srid))
        area_m = reproject(np.array([geom]), 4326, srid)[0]
        shapely.prepare(area_m)
        out.append(_Territory(srid, area_m, *by_srid[srid]))
    return out


def _grid(bounds: np.ndarray, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """Jittered grid points (metres) over a bounding box, on multiples of the spacing."""
    minx, miny, maxx, maxy = bounds
    xs = np.arange(np.floor(minx / spacing), np.ceil(maxx / spacing) + 1) * spacing
    ys = np.arange(np.floor(miny / spacing), np.ceil(maxy / spacing) + 1) * spacing
    x, y = np.meshgrid(xs, ys, indexing="ij")
    xy = np.column_stack([x.ravel(), y.ravel()])
    return xy + rng.uniform(-JITTER, JITTER, xy.shape) * spacing


def _north_first(xy: np.ndarray) -> np.ndarray:
    """Order of points north to south (by rows of 1 km), then west to east."""
    return np.lexsort((xy[:, 0], -np.floor(xy[:, 1] / 1_000.0)))


def _far_from(xy: np.ndarray, others: np.ndarray, distance: float) -> np.ndarray:
    """Which points lie farther than `distance` from every one of `others`."""
    if not len(others) or not len(xy):
        return np.ones(len(xy), dtype=bool)
    gaps = np.hypot(xy[:, None, 0] - others[None, :, 0], xy[:, None, 1] - others[None, :, 1])
    return gaps.min(axis=1) > distance


def _zone_cells(
    territories: gpd.GeoDataFrame,
    metric: list[_Territory],
    places: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> _Cells:
    """The zone cells of every territory (see the module docstring)."""
    geoms, parent, all_seeds = [], [], []
    for index, (row, m) in enumerate(zip(territories.itertuples(), metric, strict=True)):
        mine = np.flatnonzero(shapely.contains(row.geometry, places.geometry.to_numpy()))
        seeds = m.places_m[mine]
        grid = _grid(shapely.bounds(m.area_m), ZONE_SPACING_M, rng)
        grid = grid[shapely.contains_xy(m.area_m, grid[:, 0], grid[:, 1])]
        grid = grid[_far_from(grid, seeds, ZONE_SPACING_M / 2)]
        seeds = np.concatenate([seeds, grid[_north_first(grid)]])
        if not len(seeds):
            seeds = shapely.get_coordinates(shapely.point_on_surface(m.area_m))
        if len(seeds) > 99:
            raise ValueError(f"territory {row.code}: {len(seeds)} zones do not fit the code")
        geoms.extend(partition(row.geometry, seeds, m.srid))
        parent.extend([index] * len(seeds))
        all_seeds.append(seeds)
    return _Cells(np.array(geoms, dtype=object), np.array(parent), np.concatenate(all_seeds))


def _block_seeds(territory: _Territory, rng: np.random.Generator) -> np.ndarray:
    """Block seeds of a territory (metres): its places, then each level's jittered grid
    points inside it whose distance to the nearest settlement falls in the level's band."""
    area_m, places_m = territory.area_m, territory.places_m
    seeds = [places_m[shapely.contains_xy(area_m, places_m[:, 0], places_m[:, 1])]]
    tree = shapely.STRtree(territory.settled_m)
    near = 0.0
    for spacing, reach in BLOCK_LEVELS:
        grid = _grid(shapely.bounds(area_m), spacing, rng)
        grid = grid[shapely.contains_xy(area_m, grid[:, 0], grid[:, 1])]
        found, distance = tree.query_nearest(
            shapely.points(grid), all_matches=False, return_distance=True
        )
        band = np.zeros(len(grid), dtype=bool)
        band[found[0]] = (distance >= near) & (distance < reach)
        seeds.append(grid[band & _far_from(grid, seeds[0], spacing / 2)])
        near = reach
    return np.concatenate(seeds)


def _block_cells(metric: list[_Territory], zones: _Cells, rng: np.random.Generator) -> _Cells:
    """The block cells of every zone (see the module docstring)."""
    geoms, parent, all_seeds = [], [], []
    for index, territory in enumerate(metric):
        srid = territory.srid
        seeds = _block_seeds(territory, rng)
        mine = np.flatnonzero(zones.parent == index)
        zone_of = locate(reproject(shapely.points(seeds), srid, 4326), zones.geoms[mine])
        for k, zone in enumerate(mine):
            own = seeds[zone_of == k]
            if not len(own):
                point = reproject(shapely.point_on_surface(zones.geoms[[zone]]), 4326, srid)
                own = shapely.get_coordinates(point)
            cells = partition(zones.geoms[zone], own, srid)
            filled = ~shapely.is_empty(cells)
            geoms.extend(cells[filled])
            parent.extend([zone] * int(filled.sum()))
            all_seeds.append(own[filled])
    return _Cells(np.array(geoms, dtype=object), np.array(parent), np.concatenate(all_seeds))


def _ranks(blocks: _Cells, kept: np.ndarray) -> np.ndarray:
    """The number of each kept block within its zone, north to south by its seed; 0 for
    blocks that the parcels of others left empty."""
    frame = pd.DataFrame(
        {
            "zone": blocks.parent,
            "row": -np.floor(blocks.seeds[:, 1] / 1_000.0),
            "x": blocks.seeds[:, 0],
        }
    )[kept]
    frame = frame.sort_values(["zone", "row", "x"], kind="stable")
    number = np.zeros(len(blocks.parent), dtype=int)
    number[frame.index.to_numpy()] = frame.groupby("zone").cumcount().to_numpy() + 1
    if number.max(initial=0) > 9999:
        raise ValueError(f"a zone has {number.max()} blocks: more than the code can number")
    return number


def _parcel_codes(
    block_parts: tuple[np.ndarray, ...], cell: np.ndarray, reps: np.ndarray
) -> np.ndarray:
    """Codes of parcels: the parts of their block (territory, rayon, zone and block number
    of every block) and their rank in it, north to south, west to east."""
    xy = shapely.get_coordinates(reps)
    frame = pd.DataFrame({"cell": cell, "y": -xy[:, 1], "x": xy[:, 0]})
    frame = frame.sort_values(["cell", "y", "x"], kind="stable")
    frame["parcel"] = frame.groupby("cell").cumcount() + 1
    parcel = frame.parcel.sort_index().to_numpy()
    parts = zip(*(part[cell] for part in block_parts), parcel, strict=True)
    return np.array(format_codes(parts), dtype=object)  # refuses a part that overflows
