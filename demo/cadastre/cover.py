"""Partitions of the demo cadastre: Voronoi cells of seeded points clipped to the polygon they
divide, and cells widened or narrowed so that no parcel is cut.

Seeds and Voronoi diagrams are made in metres (the caller's metric CRS: the Kyrg-06 zone of
the territory, `cadastre.national`, or UTM 43N for the whole country); every clip, union and
difference is made in EPSG:4326, on the coordinates that are stored, so that neighbouring
cells share their vertices and the pieces of a polygon add up to it. Cell edges are cut into
pieces of at most `SEGMENT_M` before they leave the metric CRS: an edge straight in metres is
not straight in degrees (tens of metres apart over 50 km at 42° N), and the topology check
reads the stored polygons back in metres.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import shapely
from pyproj import Transformer

from cadastre.national import kyrg06_srid

SEGMENT_M = 500.0
"""Longest cell edge carried from metres to degrees (the two readings of it part by under
5 mm, a tenth of the cadastre's default topology tolerance)."""


@cache
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def reproject(geoms: np.ndarray, source: int, target: int) -> np.ndarray:
    """Geometries from one CRS to another (EPSG codes, x = east)."""
    transform = _transformer(source, target).transform
    return shapely.transform(
        np.asarray(geoms, dtype=object), lambda xy: np.column_stack(transform(xy[:, 0], xy[:, 1]))
    )


GRID_DEG = 1e-7
"""The grid (about 1 cm) territories are snapped to: what is narrower vanishes, so that no
polygon crosses itself once read in metres."""


def snapped(geoms: np.ndarray) -> np.ndarray:
    """Polygons snapped to `GRID_DEG` (valid, their slivers and spikes narrower than it
    gone)."""
    return polygonal(shapely.set_precision(np.asarray(geoms, dtype=object), GRID_DEG))


def valid_in_metres(geoms_4326: np.ndarray) -> np.ndarray:
    """Polygons that stay valid when read in the Kyrg-06 zone of their longitude (as the
    topology check reads them): those that would cross themselves there are snapped."""
    out = np.asarray(geoms_4326, dtype=object).copy()
    lon = shapely.get_x(shapely.point_on_surface(out))
    srids = np.array([kyrg06_srid(x) for x in lon])
    for srid in np.unique(srids):
        mine = np.flatnonzero(srids == srid)
        bad = mine[~shapely.is_valid(reproject(out[mine], 4326, int(srid)))]
        out[bad] = snapped(out[bad])
    return out


EQUAL_AREA = "+proj=laea +lat_0=41.5 +lon_0=74.5 +ellps=WGS84 +units=m +no_defs"
"""Lambert azimuthal equal-area on the WGS84 ellipsoid, centred on Kyrgyzstan."""


def ellipsoid_area_m2(geoms_4326: np.ndarray) -> np.ndarray:
    """Areas (m²) on the WGS84 ellipsoid of EPSG:4326 polygons whose edges are short (a few
    hundred metres, as every cell here): their area in an equal-area projection, within a
    millionth of the geodesic area and much faster to compute for polygons of thousands of
    vertices."""
    transform = _transformer_to(EQUAL_AREA).transform
    projected = shapely.transform(
        np.asarray(geoms_4326, dtype=object),
        lambda xy: np.column_stack(transform(xy[:, 0], xy[:, 1])),
    )
    return shapely.area(projected)


@cache
def _transformer_to(proj: str) -> Transformer:
    return Transformer.from_crs(4326, proj, always_xy=True)


def cells_to_4326(cells_m: np.ndarray, srid: int) -> np.ndarray:
    """Metric polygons in EPSG:4326, their edges first cut to `SEGMENT_M`."""
    return reproject(shapely.segmentize(np.asarray(cells_m, dtype=object), SEGMENT_M), srid, 4326)


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygons of each geometry (a Polygon or MultiPolygon, empty when it has none):
    what an overlay leaves besides its stray lines and points."""
    out = np.asarray(geoms, dtype=object).copy()
    mixed = ~np.isin(shapely.get_type_id(out), [3, 6])
    if not mixed.any():
        return out
    parts, owner = shapely.get_parts(out[mixed], return_index=True)
    keep = shapely.get_type_id(parts) == 3
    fixed = np.array([shapely.MultiPolygon()] * int(mixed.sum()), dtype=object)
    if keep.any():
        owners = np.unique(owner[keep])  # indices must run 0..n-1: renumber the owners
        fixed[owners] = shapely.multipolygons(
            parts[keep], indices=np.searchsorted(owners, owner[keep])
        )
    out[mixed] = fixed
    return out


def voronoi_cells(seeds_m: np.ndarray, extent_m: shapely.Geometry) -> np.ndarray:
    """The Voronoi cell of each seed (metres, in the seeds' order), over at least `extent_m`'s
    envelope. One seed: its cell is the envelope."""
    seeds_m = np.asarray(seeds_m, dtype=float).reshape(-1, 2)
    minx, miny, maxx, maxy = shapely.bounds(extent_m)
    lo, hi = seeds_m.min(axis=0), seeds_m.max(axis=0)
    frame = shapely.box(min(minx, lo[0]), min(miny, lo[1]), max(maxx, hi[0]), max(maxy, hi[1]))
    frame = shapely.buffer(frame, 1_000.0, join_style="mitre")
    if len(seeds_m) == 1:
        return np.array([frame], dtype=object)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds_m), extend_to=frame, ordered=True)
    cells = shapely.get_parts(diagram)
    if len(cells) != len(seeds_m):
        raise ValueError(f"{len(seeds_m)} seeds gave {len(cells)} Voronoi cells (duplicates?)")
    return cells


def partition(whole_4326: shapely.Geometry, seeds_m: np.ndarray, srid: int) -> np.ndarray:
    """`whole_4326` cut into the Voronoi cells of the seeds (metres in `srid`), in EPSG:4326
    and in the seeds' order; a cell of a seed outside `whole_4326` may be empty."""
    extent = reproject(np.array([shapely.envelope(whole_4326)]), 4326, srid)[0]
    cells = cells_to_4326(voronoi_cells(seeds_m, extent), srid)
    shapely.prepare(whole_4326)
    edge = ~shapely.contains_properly(whole_4326, cells)
    cells[edge] = shapely.intersection(cells[edge], whole_4326)
    return polygonal(cells)


def locate(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the polygon holding each point (the first one on a shared edge; -1: none)."""
    found, index = shapely.STRtree(polygons).query(points, predicate="intersects")
    out = np.full(len(points), -1)
    first = np.unique(found, return_index=True)[1]
    out[found[first]] = index[first]
    return out


def _grouped_union(geoms: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of `geoms` per value of `group`: (the groups, their unions)."""
    order = np.argsort(group, kind="stable")
    groups, starts = np.unique(group[order], return_index=True)
    pieces = np.split(geoms[order], starts[1:])
    return groups, np.array([shapely.union_all(p) for p in pieces], dtype=object)


def absorb(cells: np.ndarray, parcels: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Cells (EPSG:4326, tiling a polygon) adjusted to parcels that do not overlap: each cell
    gives up what other cells' parcels cover and takes its own parcels whole, so the cells
    still tile the polygon and every parcel lies in its own cell.

    Args:
        cells: the cells.
        parcels: the parcels, each inside the tiled polygon.
        owner: the index of each parcel's cell (the cell of its representative point).

    Returns:
        The adjusted cells (empty where other cells' parcels took all).
    """
    out = np.asarray(cells, dtype=object).copy()
    shapely.prepare(out)
    crossing = np.flatnonzero(~shapely.covers(out[owner], parcels))
    if not len(crossing):
        return polygonal(out)
    which, cell = shapely.STRtree(out).query(parcels[crossing], predicate="intersects")
    parcel = crossing[which]
    foreign = owner[parcel] != cell
    if foreign.any():
        hit, cut = _grouped_union(parcels[parcel[foreign]], cell[foreign])
        out[hit] = shapely.difference(out[hit], cut)
    mine, add = _grouped_union(parcels[crossing], owner[crossing])
    out[mine] = shapely.union(out[mine], add)
    return polygonal(out)
