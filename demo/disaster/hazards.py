"""Where each natural hazard lies, as levels of one hazard type that never overlap.

Every builder returns `{level code: geometry}` in UTM 43N metres (1 = low ... 4 = very high),
already made disjoint (a place has one level per hazard type). Floods and mudflows follow the
stream network derived from the DEM; landslides, avalanches and fires are classes of terrain
pixels; the seismic zonation is bands around the active faults.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from demo.context import UTM_43N
from demo.disaster.places import (
    FAULTS,
    LANDSLIDE_HOTSPOTS,
    MOUNTAIN_ROADS,
    SEISMIC_CORES,
    WALNUT_FORESTS,
)
from demo.disaster.terrain import (
    Terrain,
    disjoint_levels,
    drop_specks,
    polygonal,
    polygons_by_class,
)

LEVELS = ("low", "moderate", "high", "very_high")
"""Hazard levels; the code of a level is its position + 1."""

SEISMIC_BANDS_KM = {">=9": 12.0, "9": 30.0, "8": 75.0}
"""Distance to the active faults within which each MSK-64 intensity applies (7 beyond)."""


def stream_segments(streams: gpd.GeoDataFrame, terrain: Terrain) -> gpd.GeoDataFrame:
    """Each stream reach cut at its vertices (about 1 km apart), oriented downstream, with the
    terrain around it (UTM 43N): `elevation_m` (middle), `gradient` (over about 5 km of the
    reach), `valley_slope_deg`, `plain_below` (the lower end is on a plain or a broad valley
    floor), `relief_m`, `reach`, and the reach's `upstream_area_km2` and `name`."""
    coords, index = shapely.get_coordinates(streams.geometry.values, return_index=True)
    same = index[:-1] == index[1:]
    a, b, reach = coords[:-1][same], coords[1:][same], index[:-1][same]
    elev_a = terrain.sample(terrain.elevation_m, a[:, 0], a[:, 1])
    elev_b = terrain.sample(terrain.elevation_m, b[:, 0], b[:, 1])
    flip = (elev_b > elev_a)[:, None]
    upper, lower = np.where(flip, b, a), np.where(flip, a, b)
    middle = (a + b) / 2
    frame = gpd.GeoDataFrame(
        {
            "reach": reach,
            "elevation_m": terrain.sample(terrain.elevation_m, middle[:, 0], middle[:, 1]),
            "drop_m": np.abs(elev_a - elev_b),
            "valley_slope_deg": terrain.sample(terrain.slope_deg, middle[:, 0], middle[:, 1]),
            "plain_below": terrain.sample(terrain.broad_slope_deg, lower[:, 0], lower[:, 1]) < 4.0,
            "relief_m": terrain.sample(terrain.relief_m, middle[:, 0], middle[:, 1]),
            "upstream_area_km2": streams["upstream_area_km2"].to_numpy()[reach],
            "name": streams["name"].to_numpy()[reach],
        },
        geometry=shapely.linestrings(np.stack([upper, lower], axis=1)),
        crs=4326,
    )
    frame = frame.to_crs(UTM_43N)
    frame["length_m"] = frame.geometry.length
    rolling = (
        frame.groupby("reach")[["drop_m", "length_m"]].rolling(5, center=True, min_periods=1).sum()
    )
    rolling = rolling.reset_index(level=0, drop=True).sort_index()
    frame["gradient"] = rolling["drop_m"] / np.maximum(rolling["length_m"], 1.0)
    return frame


def _union_by_level(
    geoms: np.ndarray, levels: np.ndarray, land_m: shapely.Geometry
) -> dict[int, shapely.Geometry]:
    out = {}
    for level in sorted(set(levels.tolist())):
        merged = shapely.union_all(geoms[levels == level])
        out[level] = polygonal(shapely.intersection(merged, land_m))
    return disjoint_levels(out)


def flood_levels(
    segments: gpd.GeoDataFrame, land_m: shapely.Geometry
) -> dict[int, shapely.Geometry]:
    """Floodplains: buffers along the reaches where the valley floor is flat and low, wider
    for larger rivers and lower valleys."""
    elev, slope = segments["elevation_m"].to_numpy(), segments["valley_slope_deg"].to_numpy()
    area = segments["upstream_area_km2"].to_numpy()
    keep = (elev < 2400) & (slope < 5.0)
    cap_m = np.interp(elev, [1200, 2400], [2000, 700])
    half_width_m = np.minimum(np.clip(60 * area**0.3, 150, 2000), cap_m)
    half_width_m *= np.where(slope < 2.0, 1.0, 0.6)
    level = np.select(
        [
            (area >= 3000) & (elev < 1300) & (slope < 2.5),
            (area >= 800) & (elev < 1800),
            elev < 2100,
        ],
        [4, 3, 2],
        default=1,
    )
    geoms = shapely.buffer(segments.geometry.values[keep], half_width_m[keep], quad_segs=2)
    return _union_by_level(geoms, level[keep], land_m)


def _fan(upper: np.ndarray, lower: np.ndarray, radius_m: float) -> shapely.Polygon:
    """An alluvial fan: a 70° sector opening downstream from a channel's mouth."""
    heading = np.arctan2(*(lower - upper)[::-1])
    angles = heading + np.radians(np.linspace(-35, 35, 9))
    arc = np.stack(
        [lower[0] + radius_m * np.cos(angles), lower[1] + radius_m * np.sin(angles)], axis=1
    )
    return shapely.Polygon([tuple(lower), *map(tuple, arc)]).buffer(150, quad_segs=2)


def mudflow_levels(
    segments: gpd.GeoDataFrame, settlements_m: gpd.GeoDataFrame, land_m: shapely.Geometry
) -> dict[int, shapely.Geometry]:
    """Mudflow (sel) zones: steep valleys draining high ranges, and the fan where each one
    leaves the mountains for a plain; very high where a settlement lies on or next to them."""
    elev, relief = segments["elevation_m"].to_numpy(), segments["relief_m"].to_numpy()
    steep = (
        (segments["gradient"].to_numpy() >= 0.025) & (elev > 750) & (elev < 3200) & (relief >= 900)
    )
    geoms = segments.geometry.values
    ends = shapely.get_coordinates(geoms).reshape(-1, 2, 2)
    candidates = segments.assign(i=np.arange(len(segments)))[
        steep & segments["plain_below"].to_numpy() & (elev < 2300)
    ]
    mouths = (
        candidates.sort_values(["reach", "elevation_m"], ascending=[True, False])
        .drop_duplicates("reach")["i"]
        .to_numpy()
    )
    channel = shapely.buffer(geoms[steep], np.where(relief[steep] >= 1800, 450, 300), quad_segs=2)
    fans = np.array(
        [
            _fan(ends[i, 0], ends[i, 1], float(np.clip(relief[i] * 2.5, 2000, 5000)))
            for i in mouths.tolist()
        ],
        dtype=object,
    ).reshape(-1)
    level = np.concatenate([np.where(relief[steep] >= 1800, 3, 2), np.full(len(fans), 3)])
    shapes = np.concatenate([channel, fans])
    near = shapely.STRtree(shapes).query(settlements_m.geometry.values, "dwithin", 2500.0)[1]
    level[np.unique(near)] = 4
    return _union_by_level(shapes, level, land_m)


def pixel_grid(terrain: Terrain) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of every pixel centre of the terrain grids."""
    rows, cols = terrain.elevation_m.shape
    t = terrain.transform
    lon = t.c + (np.arange(cols) + 0.5) * t.a
    lat = t.f + (np.arange(rows) + 0.5) * t.e
    return np.meshgrid(lon.astype("float32"), lat.astype("float32"))


def _near(terrain: Terrain, places: dict[str, tuple[float, float]], km: float) -> np.ndarray:
    """Pixels within `km` of any of the places (equirectangular distance), computed in a
    window around each place only."""
    near = np.zeros(terrain.elevation_m.shape, dtype=bool)
    t = terrain.transform
    for x, y in places.values():
        dx_km, dy_km = 111.32 * np.cos(np.radians(y)) * t.a, 110.57 * abs(t.e)
        col, row = ~t * (x, y)
        c0, c1 = max(int(col - km / dx_km), 0), min(int(col + km / dx_km) + 2, near.shape[1])
        r0, r1 = max(int(row - km / dy_km), 0), min(int(row + km / dy_km) + 2, near.shape[0])
        cols, rows = np.meshgrid(np.arange(c0, c1) + 0.5 - col, np.arange(r0, r1) + 0.5 - row)
        near[r0:r1, c0:c1] |= np.hypot(cols * dx_km, rows * dy_km) < km
    return near


def classes_to_levels(
    classes: np.ndarray, terrain: Terrain, land_m: shapely.Geometry, min_pixels: int = 40
) -> dict[int, shapely.Geometry]:
    """A raster of level codes as disjoint polygons in UTM 43N, clipped to `land_m` (the
    land, or the part of it the hazard is mapped in)."""
    classes = drop_specks(np.where(terrain.land, classes, 0).astype("uint8"), min_pixels)
    polygons, values = polygons_by_class(classes, terrain.transform)
    metric = gpd.GeoSeries(polygons, crs=4326).to_crs(UTM_43N).values
    out = {}
    for level in sorted(set(values.tolist())):
        merged = polygonal(shapely.multipolygons(metric[values == level]))
        out[level] = polygonal(shapely.intersection(merged, land_m))
    return out


def landslide_classes(terrain: Terrain, south: np.ndarray) -> np.ndarray:
    """Landslide levels: steep slopes of the mid-mountain belt (900-2,700 m) of the southern
    oblasts, one level higher around the notorious landslide areas."""
    slope, elev = terrain.slope_deg, terrain.elevation_m
    level = np.select([slope >= 17, slope >= 12, slope >= 9], [3, 2, 1], default=0)
    level = np.where(_near(terrain, LANDSLIDE_HOTSPOTS, 28.0) & (level > 0), level + 1, level)
    return np.where(south & (elev >= 900) & (elev <= 2700), level, 0)


def avalanche_classes(terrain: Terrain, corridor: np.ndarray) -> np.ndarray:
    """Avalanche levels: steep slopes above the tree line along the mountain roads."""
    slope, elev = terrain.slope_deg, terrain.elevation_m
    level = np.select(
        [(slope >= 24) & (elev >= 2800), slope >= 19, slope >= 14, (slope >= 10) & (elev >= 2600)],
        [4, 3, 2, 1],
        default=0,
    )
    return np.where(corridor & (elev >= 2300), level, 0)


def fire_classes(terrain: Terrain, south: np.ndarray, urban: np.ndarray) -> np.ndarray:
    """Wildfire levels: spruce forests on north slopes (1,800-2,800 m) of the northern ranges,
    walnut-fruit forests of the Fergana range, juniper on southern slopes of the Alay and
    Turkestan ranges, and dry foothill grassland (adyrs) of 700-1,600 m."""
    lon, lat = pixel_grid(terrain)
    slope, elev, aspect = terrain.slope_deg, terrain.elevation_m, terrain.aspect_deg
    north_facing = (aspect <= 60) | (aspect >= 300)
    spruce = (
        (elev >= 1800)
        & (elev <= 2800)
        & north_facing
        & (slope >= 8)
        & (lat >= 41.2)
        & (lon >= 73.4)
    )
    walnut = _near(terrain, WALNUT_FORESTS, 22.0) & (elev >= 1100) & (elev <= 2300) & (slope >= 6)
    juniper = (
        south
        & (lat < 40.4)
        & (elev >= 2000)
        & (elev <= 3100)
        & (slope >= 10)
        & (aspect >= 120)
        & (aspect <= 240)
    )
    grass = (elev >= 700) & (elev <= 1600) & (slope >= 3) & (slope <= 15)
    level = np.select(
        [walnut, spruce & (slope >= 14), spruce, juniper, grass & south, grass],
        [4, 4, 3, 2, 2, 1],
        default=0,
    )
    return np.where(urban, 0, level)


def road_corridor_m(width_m: float = 6000.0) -> shapely.Geometry:
    """The mountain roads (UTM 43N) buffered by `width_m`."""
    lines = gpd.GeoSeries([shapely.LineString(p) for p in MOUNTAIN_ROADS.values()], crs=4326)
    return shapely.union_all(lines.to_crs(UTM_43N).buffer(width_m, quad_segs=4).values)


def seismic_bands(country: shapely.Geometry) -> dict[str, shapely.Geometry]:
    """MSK-64 intensity bands (EPSG:4326) that tile the country outline without overlap: >= 9
    next to the most active faults, then 9, 8, and 7 farthest from any fault. Distances are
    buffered in UTM 43N; the overlay is done in EPSG:4326 so the bands add up to the outline
    exactly."""
    lines = gpd.GeoSeries(
        [shapely.LineString(p) for p in FAULTS.values()], index=list(FAULTS), crs=4326
    ).to_crs(UTM_43N)
    cores = lines[list(SEISMIC_CORES)]
    reach_m = [
        shapely.union_all(cores.buffer(SEISMIC_BANDS_KM[">=9"] * 1000).values),
        shapely.union_all(lines.buffer(SEISMIC_BANDS_KM["9"] * 1000).values),
        shapely.union_all(lines.buffer(SEISMIC_BANDS_KM["8"] * 1000).values),
    ]
    reach = shapely.make_valid(gpd.GeoSeries(reach_m, crs=UTM_43N).to_crs(4326).values)
    bands: dict[str, shapely.Geometry] = {}
    covered = shapely.Polygon()
    for intensity, zone in zip((">=9", "9", "8"), reach, strict=True):
        zone = shapely.intersection(zone, country)
        bands[intensity] = polygonal(shapely.difference(zone, covered))
        covered = shapely.union(covered, zone)
    bands["7"] = polygonal(shapely.difference(country, covered))
    return {k: v for k, v in bands.items() if not v.is_empty}
