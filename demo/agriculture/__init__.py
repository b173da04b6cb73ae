"""Agriculture: the register of agricultural plots and their crop seasons.

Plots tessellate the cultivable valleys (Chui, Talas, the Issyk-Kul shore, the Fergana valley
side of Osh, Jalal-Abad and Batken, a little of Naryn and At-Bashy) without overlapping
(`agri_fields`); a plot is irrigated when a main canal planned from the real rivers commands
it by gravity (`agri_canals`), rain-fed otherwise. Crop seasons follow the regional rotations
(`agri_crops`). Areas are geodesic (WGS 84 ellipsoid).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from demo import people
from demo.agriculture import canals as agri_canals
from demo.agriculture import crops as agri_crops
from demo.agriculture import fields as agri_fields
from demo.agriculture import land as agri_land
from demo.agriculture import names as agri_names
from demo.context import UTM_43N, Context

OBLAST_CODES = {
    "Chuy": "C",
    "Talas": "T",
    "Ysyk-Köl": "Y",
    "Naryn": "N",
    "Osh": "O",
    "Jalal-Abad": "J",
    "Batken": "B",
    "Bishkek": "GB",
}
"""ISO 3166-2:KG subdivision codes, used in the plot codes."""
SOIL_TYPES = [
    "alluvial",
    "meadow",
    "meadow_serozem",
    "light_serozem",
    "serozem",
    "dark_serozem",
    "light_chestnut",
    "chestnut",
    "dark_chestnut",
    "chernozem",
]
SOIL_BANDS = {  # oblast: (upper elevation (m), soil) from the valley floor up
    "Chuy": [
        (750, "meadow_serozem"),
        (1050, "serozem"),
        (1300, "dark_serozem"),
        (1550, "dark_chestnut"),
        (9999, "chernozem"),
    ],
    "Talas": [
        (1100, "serozem"),
        (1400, "light_chestnut"),
        (1700, "chestnut"),
        (9999, "dark_chestnut"),
    ],
    "Ysyk-Köl": [
        (1750, "light_chestnut"),
        (1900, "chestnut"),
        (2050, "dark_chestnut"),
        (9999, "chernozem"),
    ],
    "Naryn": [(2100, "light_chestnut"), (9999, "chestnut")],
    "Osh": [(900, "light_serozem"), (1250, "serozem"), (9999, "dark_serozem")],
    "Jalal-Abad": [(900, "light_serozem"), (1250, "serozem"), (9999, "dark_serozem")],
    "Batken": [(1000, "light_serozem"), (1300, "serozem"), (9999, "dark_serozem")],
}
GEOD = Geod(ellps="WGS84")
OUT_OF_ORDER = 0.08
"""Share of the commanded plots left rain-fed: canals in disrepair, abandoned outlets."""
CANAL_STRIP_M = 15.0
"""Half width of the land strip of a main canal (its bed, banks and service road)."""


def geodesic_area_ha(geometries: np.ndarray) -> np.ndarray:
    """Area on the WGS 84 ellipsoid (ha) of EPSG:4326 polygons and multipolygons.

    Ring by ring with `Geod.polygon_area_perimeter` (the geodesic polygon area of
    `Geod.geometry_area_perimeter`, without its per-geometry dispatch): holes subtract.
    """
    parts, owner = shapely.get_parts(geometries, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    is_hole = np.r_[False, ring_part[1:] == ring_part[:-1]]
    coords, ring_index = shapely.get_coordinates(rings, return_index=True)
    bounds = np.searchsorted(ring_index, np.arange(len(rings) + 1))
    area = np.array(
        [
            abs(GEOD.polygon_area_perimeter(coords[a:b, 0], coords[a:b, 1])[0])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
    )
    signed = np.where(is_hole, -area, area)
    return np.bincount(owner[ring_part], signed, minlength=len(geometries)) / 1e4


def generate(ctx: Context) -> dict[str, pd.DataFrame]:
    """The `agri_plots` and `agri_plot_seasons` frames, and the restricted
    `agri_plot_operators` (fictional persons, `people.py`)."""
    rng = ctx.rng("agriculture")
    terrain = agri_land.get_terrain(ctx)
    mains = agri_canals.get_main_canals(ctx)
    strips = shapely.buffer(
        np.array([m.line for m in mains], dtype=object), CANAL_STRIP_M, quad_segs=2
    )
    pieces = agri_land.cultivable_tiles(ctx, terrain, strips)
    # Scale.plots is a minimum; a few laid-out fields are dropped later (outside an oblast,
    # too small after clipping), so ask for 2 % more.
    fields = agri_fields.lay_out_fields(
        terrain, pieces, list(ctx.oblasts["name_en"]), int(ctx.scale.plots * 1.02), rng
    )
    plots = _plots(ctx, terrain, fields, rng)
    return {
        "agri_plots": plots,
        "agri_plot_seasons": agri_crops.seasons(plots, rng),
        "agri_plot_operators": people.plot_operators(plots, ctx.rng("agriculture.people")),
    }


def _soils(
    oblast: np.ndarray, elevation: np.ndarray, near_stream: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    soil = np.full(len(oblast), "serozem", dtype=object)
    for name, bands in SOIL_BANDS.items():
        mine = oblast == name
        tops = np.array([top for top, _ in bands])
        soil[mine] = np.array([s for _, s in bands])[np.searchsorted(tops, elevation[mine])]
    floodplain = near_stream & (rng.random(len(soil)) < 0.7)
    soil[floodplain] = np.where(rng.random(floodplain.sum()) < 0.5, "alluvial", "meadow")
    return soil


def _farms(fields: agri_fields.Fields, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Farm name of every plot (in `order`): runs of neighbouring plots of a block farmed
    together, about 3 for peasant farms and 8 for medium farms (geometric run lengths); a
    whole block for cooperatives and farm enterprises."""
    block = fields.block[order]
    kind = agri_fields.FARM_KINDS[fields.kind[order]]
    new_farm = rng.random(len(block)) < np.select(
        [kind == "smallholder", kind == "medium"], [0.3, 0.12], 0.0
    )
    farm_start = np.r_[True, block[1:] != block[:-1]] | new_farm
    starts = np.flatnonzero(farm_start)
    names = agri_names.farm_names(kind[starts], rng)
    return names[np.cumsum(farm_start) - 1]


def _plots(
    ctx: Context, terrain: agri_land.Terrain, fields: agri_fields.Fields, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    metric = gpd.GeoSeries(fields.geometry, crs=UTM_43N)
    inner = shapely.point_on_surface(fields.geometry)
    xy = shapely.get_coordinates(inner)
    rayon, oblast, rayon_number = agri_land.locate(ctx, inner)
    elevation = terrain.elevation_at(xy[:, 0], xy[:, 1])
    streams = ctx.to_metric(ctx.streams).geometry.to_numpy()
    near_stream = np.zeros(len(inner), dtype=bool)
    near_stream[shapely.STRtree(streams).query(inner, predicate="dwithin", distance=700.0)[0]] = (
        True
    )
    commanded = agri_canals.is_commanded(
        agri_canals.get_main_canals(ctx), xy[:, 0], xy[:, 1], elevation
    )
    irrigated = commanded & (rng.random(len(inner)) >= OUT_OF_ORDER)
    geometry = metric.to_crs(4326).to_numpy()
    order = np.lexsort((xy[:, 0], -xy[:, 1], fields.block, rayon, oblast))
    frame = (
        gpd.GeoDataFrame(
            {
                "rayon": rayon,
                "oblast": oblast,
                "rayon_number": rayon_number,
                "area_ha": np.round(geodesic_area_ha(geometry), 2),
                "soil_type": _soils(oblast, elevation, near_stream, rng),
                "irrigation": np.where(irrigated, "irrigated", "rain_fed"),
                "elevation_m": np.round(elevation).astype(int),
            },
            geometry=_as_multi(geometry),
            crs=4326,
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    frame["farm_name"] = _farms(fields, order, rng)
    sequence = frame.groupby(["oblast", "rayon"], sort=False).cumcount() + 1
    frame["plot_code"] = [
        f"AG-{OBLAST_CODES[o]}-{r:02d}-{s:05d}"
        for o, r, s in zip(frame["oblast"], frame["rayon_number"], sequence, strict=True)
    ]
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    columns = [
        "id",
        "plot_code",
        "farm_name",
        "area_ha",
        "soil_type",
        "irrigation",
        "oblast",
        "rayon",
        "elevation_m",
        "geometry",
    ]
    return frame[columns]


def _as_multi(geometries: np.ndarray) -> np.ndarray:
    """Every polygon as a MultiPolygon (the declared type)."""
    out = geometries.copy()
    single = np.flatnonzero(shapely.get_type_id(out) == 3)
    out[single] = shapely.multipolygons(out[single], indices=np.arange(len(single)))
    return out
