"""Irrigation: canals, their structures, water users' associations, sensors and readings.

Main canals take water from the real rivers where they leave the mountains and run along the
contour (`agri_canals`, the same plan the agriculture generator used to tell irrigated plots
from rain-fed ones); inter-farm distributors and on-farm canals branch from them down to the
irrigated plots (`agri_network`). Associations, sensors and readings: `agri_water`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from demo import agriculture
from demo.agriculture import OBLAST_CODES, geodesic_area_ha
from demo.agriculture import canals as agri_canals
from demo.agriculture import land as agri_land
from demo.agriculture import network as agri_network
from demo.agriculture import water as agri_water
from demo.agriculture.names import WUA_WORDS
from demo.context import UTM_43N, Context
from ingestion.derive import first_cyrillic

GEOD = Geod(ellps="WGS84")
BANKS = {"left": ("Левобережный", "Л"), "right": ("Правобережный", "П")}
CONDITIONS = ["good", "fair", "poor", "critical"]
CONDITION_P = {
    "main": [0.25, 0.45, 0.25, 0.05],
    "inter_farm": [0.15, 0.4, 0.35, 0.1],
    "on_farm": [0.1, 0.35, 0.4, 0.15],
}
LININGS = ["concrete", "earth", "flume", "pipe"]
LINING_P = {
    "main": [0.6, 0.35, 0.05, 0.0],
    "inter_farm": [0.35, 0.45, 0.2, 0.0],
    "on_farm": [0.05, 0.55, 0.3, 0.1],
}
LITRES_PER_S_HA = 1.5
"""Design water duty of the canals (l/s per irrigated hectare)."""
FERGANA = {"Osh", "Jalal-Abad", "Batken"}
BIG_CHUI_CAPACITY_M3S = 42.0
"""The Big Chui Canal is the country's largest (tens of m³/s at its head)."""


def generate(ctx: Context) -> dict[str, pd.DataFrame]:
    """The five irrigation frames (canals, structures, associations, sensors, readings)."""
    rng = ctx.rng("irrigation")
    terrain = agri_land.get_terrain(ctx)
    mains = agri_canals.get_main_canals(ctx)
    plots = ctx.outputs.get("agri_plots")
    if plots is None:  # the irrigation theme generated on its own
        plots = agriculture.generate(ctx)["agri_plots"]
    irrigated = plots[plots["irrigation"] == "irrigated"]
    points = shapely.point_on_surface(irrigated.to_crs(UTM_43N).geometry.to_numpy())
    xy = shapely.get_coordinates(points)
    area = irrigated["area_ha"].to_numpy()
    _, ux, uy, unit_ha = agri_network.service_units(xy[:, 0], xy[:, 1], area)
    distributors, unit_branch = agri_network.distributors(mains, terrain, ux, uy, unit_ha)
    places = _places(ctx)
    wuas = _associations(ctx, irrigated, points, rng, places)
    on_farm = agri_network.on_farm_canals(
        terrain,
        distributors,
        unit_branch,
        ux,
        uy,
        unit_ha,
        rng,
        wuas.to_crs(UTM_43N).geometry.to_numpy(),
    )
    canals = _canals(ctx, mains, distributors, on_farm, places, rng)
    structures = _structures(ctx, canals, rng)
    sensors, capacity, is_main = _sensors(canals, ctx.scale.factor, rng)
    readings = agri_water.readings(sensors, capacity, is_main, rng)
    return {
        "irrigation_canals": canals.drop(columns=["code", "main"]),
        "irrigation_structures": structures,
        "water_user_associations": wuas,
        "irrigation_sensors": sensors.drop(columns=["last_day"]),
        "irrigation_readings": readings,
    }


def _places(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Settlement points (UTM) and their Russian names."""
    settlements = ctx.to_metric(ctx.settlements)
    names = [
        first_cyrillic(alt) or name
        for alt, name in zip(settlements["alternatenames"], settlements["name"], strict=True)
    ]
    return shapely.get_coordinates(settlements.geometry.to_numpy()), np.array(names)


def _nearest_place(places: tuple[np.ndarray, np.ndarray], xy: np.ndarray) -> np.ndarray:
    coords, names = places
    distance = np.hypot(coords[None, :, 0] - xy[:, None, 0], coords[None, :, 1] - xy[:, None, 1])
    return names[np.argmin(distance, axis=1)]


def _main_names(
    mains: list[agri_canals.MainCanal], places: tuple[np.ndarray, np.ndarray]
) -> tuple[list[str], list[str]]:
    """Names and short codes of the main canals; the longest canal from the Chu is the Big
    Chui Canal (БЧК)."""
    starts = np.array([m.coords[0] for m in mains])
    place = _nearest_place(places, starts)
    chu = [i for i, m in enumerate(mains) if m.river_en == "Chu" and m.length_m > 40_000]
    big_chui = max(chu, key=lambda i: mains[i].length_m) if chu else -1
    names, codes = [], []
    for index, canal in enumerate(mains):
        bank, letter = BANKS[canal.bank]
        if index == big_chui:
            names.append("Большой Чуйский канал")
            codes.append("БЧК")
        elif canal.river_en != "unnamed stream":
            names.append(f"{bank} магистральный канал р. {canal.river_ru}")
            codes.append(f"{letter}МК {canal.river_ru}")
        else:
            names.append(f"{bank} магистральный канал «{place[index]}»")
            codes.append(f"{letter}МК {place[index]}")
    seen: dict[str, int] = {}
    repeated = {name for name in names if names.count(name) > 1}
    for index, name in enumerate(names):  # same river, several intakes: number them
        if name in repeated:
            seen[name] = seen.get(name, 0) + 1
            names[index] = f"{name} № {seen[name]}"
            codes[index] = f"{codes[index]}-{seen[name]}"
    return names, codes


def _canals(
    ctx: Context,
    mains: list[agri_canals.MainCanal],
    distributors: list[agri_network.Branch],
    on_farm: list[agri_network.Branch],
    places: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """The canals frame (with helper columns `code` and `main`): mains, then distributors,
    then on-farm canals; a branch's id is above its parent's."""
    names, codes = _main_names(mains, places)
    main_lines = [m.line for m in mains]
    capacity = [
        float(
            np.clip(0.08 * np.sqrt(m.upstream_area_km2) * np.sqrt(m.length_m / 20_000.0), 0.5, 60.0)
        )
        for m in mains
    ]
    capacity = [
        max(c, BIG_CHUI_CAPACITY_M3S) if code == "БЧК" else c
        for c, code in zip(capacity, codes, strict=True)
    ]
    rows = [
        dict(
            canal_name=names[i],
            code=codes[i],
            canal_order="main",
            main=i,
            capacity_m3s=round(capacity[i], 1),
            source_river=mains[i].river_en,
            geometry=main_lines[i],
        )
        for i in range(len(mains))
    ]
    served = np.array([b.served_ha for b in distributors])
    for index in range(len(distributors) - 1, -1, -1):  # a distributor carries its branches
        if distributors[index].parent >= 0:
            served[distributors[index].parent] += served[index]
    numbers: list[str] = []
    counters: dict[tuple[int, int], int] = {}
    for index, branch in enumerate(distributors):  # Р-3 leaves the main canal, Р-3-1 leaves Р-3
        key = (branch.main, branch.parent)
        counters[key] = counters.get(key, 0) + 1
        prefix = "" if branch.parent < 0 else f"{numbers[branch.parent]}-"
        numbers.append(f"{prefix}{counters[key]}")
        code = f"Р-{numbers[-1]} {codes[branch.main]}"
        ceiling = (
            capacity[branch.main] * 0.5
            if branch.parent < 0
            else rows[len(mains) + branch.parent]["capacity_m3s"]
        )
        rows.append(
            dict(
                canal_name=f"Распределитель {code}",
                code=code,
                canal_order="inter_farm",
                main=branch.main,
                capacity_m3s=round(
                    float(np.clip(served[index] * LITRES_PER_S_HA * 2e-3, 0.1, ceiling)), 2
                ),
                source_river=mains[branch.main].river_en,
                geometry=branch.line,
            )
        )
    first_branch = len(mains)
    on_farm_count: dict[int, int] = {}
    for branch in on_farm:
        parent = rows[first_branch + branch.parent]
        on_farm_count[branch.parent] = on_farm_count.get(branch.parent, 0) + 1
        number = numbers[branch.parent]
        code = f"К-{number}-{on_farm_count[branch.parent]} {codes[branch.main]}"
        rows.append(
            dict(
                canal_name=f"Ороситель {code}",
                code=code,
                canal_order="on_farm",
                main=branch.main,
                capacity_m3s=round(
                    float(
                        np.clip(
                            branch.served_ha * LITRES_PER_S_HA * 2e-3, 0.03, parent["capacity_m3s"]
                        )
                    ),
                    2,
                ),
                source_river=mains[branch.main].river_en,
                geometry=branch.line,
            )
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM_43N)
    country = ctx.to_metric(ctx.country).geometry.iloc[0]
    frame["geometry"] = _lines_only(shapely.intersection(frame.geometry.to_numpy(), country))
    frame = frame[~frame.geometry.is_empty & (frame.geometry.length > 50.0)].to_crs(4326)
    order = frame["canal_order"].to_numpy()
    frame["lining"] = [rng.choice(LININGS, p=LINING_P[o]) for o in order]
    frame["condition"] = [rng.choice(CONDITIONS, p=CONDITION_P[o]) for o in order]
    frame["length_km"] = np.round([GEOD.geometry_length(g) / 1000 for g in frame.geometry], 2)
    frame["geometry"] = _as_multi_lines(frame.geometry.to_numpy())
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame[
        [
            "id",
            "canal_name",
            "canal_order",
            "capacity_m3s",
            "lining",
            "condition",
            "length_km",
            "source_river",
            "code",
            "main",
            "geometry",
        ]
    ]


def _lines_only(geometries: np.ndarray) -> np.ndarray:
    """The line parts of clipped geometries (a clip may leave points on the border)."""
    out = geometries.copy()
    mixed = np.flatnonzero(~np.isin(shapely.get_type_id(out), [1, 5]))
    for index in mixed:
        parts = shapely.get_parts(out[index])
        lines = parts[shapely.get_type_id(parts) == 1]
        out[index] = shapely.multilinestrings(lines) if len(lines) else shapely.LineString()
    return out


def _as_multi_lines(geometries: np.ndarray) -> np.ndarray:
    out = geometries.copy()
    single = np.flatnonzero(shapely.get_type_id(out) == 1)
    out[single] = shapely.multilinestrings(out[single], indices=np.arange(len(single)))
    return out


def _structure(
    canal_id: int, kind: str, name: str, point: shapely.Point, capacity: float | None
) -> dict[str, object]:
    return dict(
        structure_type=kind, name=name, canal_id=canal_id, capacity_m3s=capacity, geometry=point
    )


def _structures(
    ctx: Context, canals: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Headworks, gauges and cross-regulator gates of the main canals, offtakes (pumped in
    part of the Fergana valley) of the distributors, outlet gates of on-farm canals, and
    siphons where canals cross streams."""
    metric = canals.to_crs(UTM_43N)
    oblast = agri_land.locate(
        ctx, shapely.get_point(shapely.get_geometry(metric.geometry.to_numpy(), 0), 0)
    )[1]
    rows = []
    for (_, canal), line, region in zip(metric.iterrows(), metric.geometry, oblast, strict=True):
        first = shapely.get_geometry(line, 0)
        head = shapely.get_point(first, 0)
        capacity, code, cid = float(canal["capacity_m3s"]), canal["code"], int(canal["id"])
        if canal["canal_order"] == "main":
            rows.append(_structure(cid, "headworks", f"Головное сооружение {code}", head, capacity))
            rows.append(
                _structure(
                    cid,
                    "gauge",
                    f"Гидропост {code} ПК 3",
                    first.interpolate(min(300.0, first.length / 2)),
                    None,
                )
            )
            for metre in np.arange(8_000.0, line.length - 1_000.0, 8_000.0):
                rows.append(
                    _structure(
                        cid,
                        "gate",
                        f"Перегораживающее сооружение {code} ПК {int(metre // 100)}",
                        line.interpolate(metre),
                        capacity,
                    )
                )
        elif canal["canal_order"] == "inter_farm":
            pumped = region in FERGANA and rng.random() < 0.1
            rows.append(
                _structure(
                    cid,
                    "pump_station" if pumped else "offtake",
                    f"{'Насосная станция' if pumped else 'Водовыпуск'} {code}",
                    head,
                    capacity,
                )
            )
        elif rng.random() < 0.7:
            rows.append(_structure(cid, "gate", f"Затвор {code}", head, capacity))
    rows += _siphons(ctx, metric)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM_43N).to_crs(4326)
    kind = frame["structure_type"].to_numpy()
    soviet = rng.integers(1952, 1991, len(frame))
    rebuilt = rng.integers(2003, 2025, len(frame))
    frame["year_built"] = np.where(
        rng.random(len(frame)) < np.where(kind == "gauge", 0.5, 0.15), rebuilt, soviet
    )
    frame["condition"] = rng.choice(CONDITIONS, size=len(frame), p=[0.2, 0.45, 0.28, 0.07])
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame[
        [
            "id",
            "structure_type",
            "name",
            "canal_id",
            "capacity_m3s",
            "year_built",
            "condition",
            "geometry",
        ]
    ]


def _siphons(ctx: Context, metric: gpd.GeoDataFrame) -> list[dict[str, object]]:
    """A siphon where a main or inter-farm canal crosses a stream (one per 500 m)."""
    streams = ctx.to_metric(ctx.streams)
    big = metric[metric["canal_order"] != "on_farm"]
    canal_index, stream_index = shapely.STRtree(streams.geometry.to_numpy()).query(
        big.geometry.to_numpy(), predicate="intersects"
    )
    crossings = shapely.intersection(
        big.geometry.to_numpy()[canal_index], streams.geometry.to_numpy()[stream_index]
    )
    rows: list[dict[str, object]] = []
    taken: list[shapely.Point] = []
    for crossing, ci, si in zip(crossings, canal_index, stream_index, strict=True):
        for point in shapely.get_parts(crossing):
            if shapely.get_type_id(point) != 0 or any(point.distance(t) < 500 for t in taken):
                continue
            canal = big.iloc[ci]
            name = streams["name"].iloc[si]
            over = f"р. {agri_canals.russian_name(name)}" if isinstance(name, str) else "сай"
            rows.append(
                _structure(
                    int(canal["id"]),
                    "siphon",
                    f"Дюкер {canal['code']} через {over}",
                    point,
                    float(canal["capacity_m3s"]),
                )
            )
            taken.append(point)
    return rows


def _associations(
    ctx: Context,
    irrigated: gpd.GeoDataFrame,
    points: np.ndarray,
    rng: np.random.Generator,
    places: tuple[np.ndarray, np.ndarray],
) -> gpd.GeoDataFrame:
    """Water users' associations over the irrigated plots, one rayon each."""
    xy = shapely.get_coordinates(points)
    rayon = irrigated["rayon"].to_numpy()
    group, seeds = agri_water.wua_groups(
        xy[:, 0], xy[:, 1], irrigated["area_ha"].to_numpy(), rayon, rng
    )
    first = np.array([np.flatnonzero(group == g)[0] for g in range(len(seeds))])
    areas = agri_water.service_areas(
        irrigated.to_crs(UTM_43N).geometry.to_numpy(),
        group,
        seeds,
        rayon[first],
        agri_land.rayon_shapes(ctx),
    )
    frame = gpd.GeoDataFrame(
        {
            "rayon": rayon[first],
            "oblast": irrigated["oblast"].to_numpy()[first],
            "members_count": np.round(
                np.bincount(group) * rng.uniform(1.2, 2.5, len(seeds))
            ).astype(int),
        },
        geometry=areas,
        crs=UTM_43N,
    )
    frame = frame[~frame.geometry.is_empty].to_crs(4326)
    polygons = frame.geometry.to_numpy()
    parts, owner = shapely.get_parts(polygons, return_index=True)
    polygons = shapely.multipolygons(
        parts[shapely.get_type_id(parts) == 3], indices=owner[shapely.get_type_id(parts) == 3]
    )
    frame["geometry"] = polygons
    frame["service_area_ha"] = np.round(geodesic_area_ha(polygons), 1)
    seed_xy = shapely.get_coordinates(frame.to_crs(UTM_43N).geometry.representative_point())
    frame["name"] = _unique_names(_nearest_place(places, seed_xy), rng)
    sequence = frame.groupby("oblast").cumcount() + 1
    frame["registration_number"] = [
        f"{OBLAST_CODES[o]}-{n:04d}-АВП" for o, n in zip(frame["oblast"], sequence, strict=True)
    ]
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame[
        [
            "id",
            "name",
            "registration_number",
            "members_count",
            "service_area_ha",
            "oblast",
            "rayon",
            "geometry",
        ]
    ]


def _unique_names(places: np.ndarray, rng: np.random.Generator) -> list[str]:
    """ "АВП «<village>»", or a water word and the village when the village has one already."""
    names: list[str] = []
    for place in places:
        name = f"АВП «{place}»"
        attempt = 0
        while name in names:
            attempt += 1
            word = WUA_WORDS[int(rng.integers(len(WUA_WORDS)))]
            name = f"АВП «{word}-{place}»" if attempt < 5 else f"АВП «{word}-{place}-{attempt}»"
        names.append(name)
    return names


SENSORS_SMALL = 80
"""Sensors at the small scale (times the scale factor): 80 x 546 daily readings stay below
50,000 rows."""
SENSOR_STATUS = ["active", "maintenance", "decommissioned"]


def _sensors(
    canals: gpd.GeoDataFrame, factor: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Sensors near the heads of the biggest main canals and distributors (a flow and a
    level sensor on the biggest), with their canal's capacity and whether it is a main
    canal. `last_day` is the last day with readings."""
    wanted = round(SENSORS_SMALL * factor)
    ranked = canals[canals["canal_order"] != "on_farm"].sort_values(
        ["capacity_m3s", "id"], ascending=[False, True], kind="stable"
    )
    mains = ranked[ranked["canal_order"] == "main"]
    others = ranked[ranked["canal_order"] != "main"]
    chosen = pd.concat([mains.head(int(wanted * 0.45)), others]).head(wanted)
    repeats = np.where(np.arange(len(chosen)) < wanted - len(chosen), 2, 1)
    chosen = chosen.loc[chosen.index.repeat(repeats)]
    n = len(chosen)
    metric = chosen.to_crs(UTM_43N).geometry.to_numpy()
    first = shapely.get_geometry(metric, 0)
    at = np.minimum(rng.uniform(150.0, 1_500.0, n), shapely.length(first) * 0.5)
    points = gpd.GeoSeries(shapely.line_interpolate_point(first, at), crs=UTM_43N).to_crs(4326)
    duplicate = chosen.index.duplicated(keep="first")
    kinds = np.where(duplicate, "level", rng.choice(["flow", "level"], size=n, p=[0.6, 0.4]))
    installed = np.datetime64("2016-03-01") + rng.integers(0, 3_500, n).astype("timedelta64[D]")
    status = rng.choice(SENSOR_STATUS, size=n, p=[0.85, 0.1, 0.05])
    stop = np.maximum(installed, np.datetime64("2025-03-01")) + rng.integers(30, 300, n).astype(
        "timedelta64[D]"
    )
    last = np.where(
        status == "decommissioned",
        np.minimum(stop, agri_water.READINGS_END),
        np.where(
            status == "maintenance",
            agri_water.READINGS_END - rng.integers(5, 40, n).astype("timedelta64[D]"),
            agri_water.READINGS_END,
        ),
    )
    sensors = gpd.GeoDataFrame(
        {
            "id": np.arange(1, n + 1),
            "sensor_code": [f"IRS-{i:05d}" for i in range(1, n + 1)],
            "sensor_type": kinds,
            "canal_id": chosen["id"].to_numpy(),
            "installed": pd.to_datetime(installed).date,
            "status": status,
            "last_day": last,
        },
        geometry=points.to_numpy(),
        crs=4326,
    )
    return (
        sensors,
        chosen["capacity_m3s"].to_numpy(dtype=float),
        (chosen["canal_order"] == "main").to_numpy(),
    )
