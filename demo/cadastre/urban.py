"""Cadastral zones and blocks of Bishkek (territory 1) and Osh city (9), from the city twins'
street plans (`demo.city.layout`).

- The city territory is the plan's city polygon; its districts are the rayons (`RR`).
- A zone is the district's superblocks (cells between arterial centrelines) whose centre
  lies in one 2 km square of the grid frame (`demo.city.parcels.numbered_blocks`), cut to
  the city: the zones of a district tile it.
- A block is a street block with half of each street around it: the cell between the
  centrelines of its streets, cut to the city. Where no street block was laid out (too
  small at the city edge, or unbuilt such as Sulaiman-Too), the land left over becomes a
  block of its own, numbered after the zone's street blocks, or, under `MIN_BLOCK_M2`,
  joins the neighbouring block it shares the longest edge with. The blocks of a zone tile
  it, and every city parcel (a lot of a street block) lies in its block.

Geometry is built in the grid frame (metres), its edges cut to 100 m, carried to EPSG:4326,
and cut to the city there (see `cover.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from demo.cadastre.cover import polygonal, snapped
from demo.city import to_4326
from demo.city.buildings import CityModel
from demo.city.layout import LOCAL_WIDTH_M, CityPlan, district_polygons
from demo.city.parcels import CITY_TERRITORY, numbered_blocks

SEGMENT_M = 100.0
MIN_BLOCK_M2 = 5_000.0
"""Land left between street blocks smaller than this joins a neighbouring block."""


@dataclass(frozen=True)
class CityCover:
    """Both cities' territories (`code` `T-RR` per district), zones and blocks (EPSG:4326)."""

    areas: gpd.GeoSeries
    territories: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    blocks: gpd.GeoDataFrame


def city_cover(model: CityModel) -> CityCover:
    """The zones and blocks of both city twins (see the module docstring)."""
    areas, territories, zones, blocks = [], [], [], []
    for plan in model.plans:
        area = snapped(_in_4326(plan, np.array([plan.area])))[0]
        areas.append(area)
        territories.append(_districts(plan))
        plan_zones, sb_zones = _zones(plan, area)
        plan_blocks, moved = _blocks(plan, sb_zones, area)
        zones.append(_move(plan_zones, moved))
        blocks.append(plan_blocks)
    return CityCover(
        areas=gpd.GeoSeries(areas, crs=4326),
        territories=pd.concat(territories, ignore_index=True),
        zones=pd.concat(zones, ignore_index=True),
        blocks=pd.concat(blocks, ignore_index=True),
    )


def _in_4326(plan: CityPlan, geoms: np.ndarray) -> np.ndarray:
    return to_4326(plan, shapely.segmentize(geoms, SEGMENT_M)).to_numpy()


def _district_codes(plan: CityPlan, keys: pd.Series) -> np.ndarray:
    return np.array([plan.names.district(k).code for k in keys])


def _districts(plan: CityPlan) -> gpd.GeoDataFrame:
    """The districts as the city theme draws them (`city_districts`), coded `T-RR`."""
    polygons = district_polygons(plan)
    territory = CITY_TERRITORY[plan.spec.name]
    codes = _district_codes(plan, polygons.index.to_series())
    return gpd.GeoDataFrame(
        {
            "territory": territory,
            "rayon": codes,
            "name": polygons.index.to_numpy(),
            "code": [f"{territory}-{c:02d}" for c in codes],
        },
        geometry=polygonal(_in_4326(plan, polygons.to_numpy())),
        crs=4326,
    )


def _zones(plan: CityPlan, area: shapely.Geometry) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The zones of a city (its superblocks grouped by zone, cut to the city) and the zone
    code of each superblock."""
    sb = plan.superblocks
    zone = numbered_blocks(plan)[0]
    territory = CITY_TERRITORY[plan.spec.name]
    codes = [
        f"{territory}-{d:02d}-{z:02d}"
        for d, z in zip(_district_codes(plan, sb.district), zone, strict=True)
    ]
    boxes = pd.Series(list(shapely.box(sb.u0, sb.v0, sb.u1, sb.v1)))
    merged = boxes.groupby(np.array(codes)).agg(lambda g: shapely.union_all(g.to_numpy()))
    geoms = _cut_to_city(plan, merged.to_numpy(), area)
    frame = gpd.GeoDataFrame({"zone_code": merged.index.to_numpy()}, geometry=geoms, crs=4326)
    return frame[~shapely.is_empty(geoms)].reset_index(drop=True), np.array(codes)


def _street_cells(plan: CityPlan) -> np.ndarray:
    """Each street block's cell (grid frame): out to the centreline of every street around
    it (arterials bound the superblock; a local street is `LOCAL_WIDTH_M` wide)."""
    blocks = plan.blocks
    sb = plan.superblocks.loc[blocks.superblock.to_numpy()]
    half = pd.Series(sb.zone.to_numpy()).map(LOCAL_WIDTH_M).to_numpy(dtype=float) / 2
    half_a = plan.spec.arterial_width_m / 2
    edges = []
    for side, sign in (("u0", -1), ("v0", -1), ("u1", 1), ("v1", 1)):
        inner, outer = blocks[side].to_numpy(), sb[side].to_numpy()
        on_arterial = np.isclose(inner, outer - sign * half_a, atol=1e-6)
        edges.append(np.where(on_arterial, outer, inner + sign * half))
    return shapely.box(*edges)


def _blocks(
    plan: CityPlan, zones: np.ndarray, area: shapely.Geometry
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The blocks of a city (street-block cells cut to the city, and the land left over)
    and the leftover pieces that joined a block of another zone (`zone_code` the zone they
    leave, `to` the zone they join)."""
    blocks = numbered_blocks(plan)[1]
    territory = CITY_TERRITORY[plan.spec.name]
    district = _district_codes(plan, blocks.district)
    zone_code = np.array(
        [f"{territory}-{d:02d}-{z:02d}" for d, z in zip(district, blocks.zone, strict=True)]
    )
    grid_cells = _street_cells(plan)
    cells = _cut_to_city(plan, grid_cells, area)
    frame = gpd.GeoDataFrame(
        {"zone_code": zone_code, "number": blocks.number.to_numpy()}, geometry=cells, crs=4326
    )
    frame = frame[~shapely.is_empty(cells)].reset_index(drop=True)
    out, moved = _add_leftovers(frame, _leftovers(plan, grid_cells, area, zones))
    out["block_code"] = [f"{z}-{n:04d}" for z, n in zip(out.zone_code, out.number, strict=True)]
    return out[["block_code", "zone_code", "geometry"]], moved


def _cut_to_city(plan: CityPlan, geoms_grid: np.ndarray, area: shapely.Geometry) -> np.ndarray:
    """Grid-frame polygons in EPSG:4326, cut to the city where they cross its edge."""
    whole = plan.area
    shapely.prepare(whole)
    inside = shapely.contains_properly(whole, geoms_grid)
    out = _in_4326(plan, geoms_grid)
    out[~inside] = shapely.intersection(out[~inside], area)
    return polygonal(out)


def _leftovers(
    plan: CityPlan, cells: np.ndarray, area: shapely.Geometry, zones: np.ndarray
) -> gpd.GeoDataFrame:
    """The land of each superblock that no street-block cell (`cells`, grid frame) covers
    (`zone_code`, pieces in EPSG:4326, slivers of rounding left out)."""
    sb = plan.superblocks
    boxes = shapely.box(sb.u0, sb.v0, sb.u1, sb.v1)
    owner = plan.blocks.superblock.to_numpy()
    covered = np.bincount(owner, weights=shapely.area(cells), minlength=len(sb))
    short = np.flatnonzero(shapely.area(boxes) - covered > 0.5)
    rest = np.array(
        [shapely.difference(boxes[i], shapely.union_all(cells[owner == i])) for i in short],
        dtype=object,
    )
    pieces, index = shapely.get_parts(_cut_to_city(plan, rest, area), return_index=True)
    keep = _area_m2(pieces) > 0.01
    return gpd.GeoDataFrame(
        {"zone_code": zones[short[index[keep]]]}, geometry=pieces[keep], crs=4326
    )


def _area_m2(geoms: np.ndarray) -> np.ndarray:
    """Approximate area (m²) of small EPSG:4326 polygons (for thresholds only)."""
    lat = np.nan_to_num(shapely.bounds(geoms)[:, 1])
    return shapely.area(geoms) * (111_320.0**2) * np.cos(np.radians(lat))


def _add_leftovers(
    cells: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Each leftover piece under `MIN_BLOCK_M2` joins the touching block of its district it
    shares the longest edge with, of its own zone if one touches it (else it moves to that
    block's zone); larger pieces, and pieces that touch no block of their district, become
    blocks numbered after their zone's blocks (north to south, west to east). Returns the
    blocks and the moved pieces."""
    geoms = cells.geometry.to_numpy().copy()
    zone = cells.zone_code.to_numpy()
    tree = shapely.STRtree(geoms)
    loose, moved = [], []
    for piece, code, size in zip(
        pieces.geometry, pieces.zone_code, _area_m2(pieces.geometry.to_numpy()), strict=True
    ):
        touching = tree.query(piece, predicate="intersects")
        touching = touching[_district(zone[touching]) == _district(code)]
        if size >= MIN_BLOCK_M2 or not len(touching):
            loose.append((code, piece))
            continue
        if (zone[touching] == code).any():
            touching = touching[zone[touching] == code]
        shared = shapely.length(shapely.intersection(geoms[touching], piece.boundary))
        best = touching[int(np.argmax(shared))]
        geoms[best] = polygonal(np.array([shapely.union(geoms[best], piece)]))[0]
        if zone[best] != code:
            moved.append((code, zone[best], piece))
    moves = gpd.GeoDataFrame(
        {"zone_code": [m[0] for m in moved], "to": [m[1] for m in moved]},
        geometry=[m[2] for m in moved],
        crs=4326,
    )
    return _numbered(cells.set_geometry(geoms), loose), moves


def _district(zone_codes: np.ndarray | str) -> np.ndarray:
    """The `T-RR` part of zone codes."""
    return np.asarray(zone_codes, dtype=str).astype("<U4")


def _numbered(
    cells: gpd.GeoDataFrame, loose: list[tuple[str, shapely.Geometry]]
) -> gpd.GeoDataFrame:
    """The cells and the loose pieces as new blocks numbered after their zone's blocks."""
    if not loose:
        return cells
    extra = gpd.GeoDataFrame(
        {"zone_code": [c for c, _ in loose]}, geometry=[g for _, g in loose], crs=4326
    )
    xy = shapely.get_coordinates(shapely.point_on_surface(extra.geometry.to_numpy()))
    extra = extra.assign(y=-xy[:, 1], x=xy[:, 0]).sort_values(["zone_code", "y", "x"])
    last = cells.groupby("zone_code").number.max()
    extra["number"] = last.reindex(extra.zone_code).fillna(0).to_numpy(dtype=int) + (
        extra.groupby("zone_code").cumcount().to_numpy() + 1
    )
    extra["geometry"] = polygonal(extra.geometry.to_numpy())
    return pd.concat([cells, extra.drop(columns=["y", "x"])], ignore_index=True)


def _move(zones: gpd.GeoDataFrame, moved: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Zones less the pieces that left them and with the pieces that joined them; a zone
    left empty is dropped."""
    if moved.empty:
        return zones
    geoms = zones.set_index("zone_code").geometry.copy()
    for (leave, join), group in moved.groupby(["zone_code", "to"]):
        piece = shapely.union_all(group.geometry.to_numpy())
        geoms[leave] = shapely.difference(geoms[leave], piece)
        geoms[join] = shapely.union(geoms[join], piece)
    geoms = pd.Series(polygonal(geoms.to_numpy()), index=geoms.index)
    kept = ~shapely.is_empty(geoms.to_numpy()) & (_area_m2(geoms.to_numpy()) > 0.01)
    return gpd.GeoDataFrame(
        {"zone_code": geoms.index[kept]}, geometry=geoms.to_numpy()[kept], crs=4326
    )
