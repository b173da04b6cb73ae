"""Utility networks along the streets of the city twins, and environmental sensors at their
crossings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from demo.city.buildings import CityModel
from demo.city.layout import CityPlan

NETWORKS = ("water", "sewer", "power", "gas", "heating")

OFFSET = {"water": 0.35, "sewer": -0.35, "gas": 0.8, "heating": -0.6, "power": -0.85}
"""Offset from the street centreline, as a share of half the street width (+: left)."""

PRESENCE = {  # network: (probability by zone, probability on arterials)
    "water": ({"private": 0.95}, 0.98, 0.97),
    "sewer": ({"private": 0.3}, 0.92, 0.95),
    "power": ({}, 0.99, 0.98),
    "gas": (
        {
            "private": 0.85,
            "centre": 0.7,
            "micro": 0.6,
            "newbuild": 0.8,
            "industrial": 0.6,
            "campus": 0.5,
        },
        0.7,
        0.85,
    ),
    "heating": (
        {
            "private": 0.0,
            "centre": 0.85,
            "micro": 0.9,
            "newbuild": 0.6,
            "industrial": 0.25,
            "campus": 0.7,
        },
        0.0,
        0.35,
    ),
}
"""network: (probability on a local street by zone, default, probability on an arterial)."""

DIAMETERS_MM = {  # network: (arterial, local)
    "water": ((300, 400, 500, 600, 800, 1000), (100, 150, 200)),
    "sewer": ((400, 500, 600, 800, 1000, 1200), (150, 200, 250, 300)),
    "gas": ((219, 273, 325, 426), (57, 76, 89, 108, 159)),
    "heating": ((400, 500, 600, 700, 800), (100, 150, 200, 250, 300)),
}
MATERIALS = {  # network: (old materials, materials of re-laid lines)
    "water": (("cast iron", "steel", "asbestos cement"), ("polyethylene", "ductile iron")),
    "sewer": (
        ("ceramic", "reinforced concrete", "cast iron"),
        ("polyethylene", "reinforced concrete"),
    ),
    "gas": (("steel",), ("polyethylene", "steel")),
    "heating": (("steel (channel)",), ("steel (pre-insulated)",)),
    "power": (("aluminium overhead line", "aluminium cable"), ("aluminium cable", "copper cable")),
}
MATERIAL_VALUES = tuple(sorted({m for old, new in MATERIALS.values() for m in old + new}))
ERAS = {
    "centre": (1936, 2020),
    "micro": (1962, 1991),
    "newbuild": (2003, 2024),
    "private": (1955, 2022),
    "industrial": (1950, 1990),
    "campus": (1950, 2012),
}
OPERATORS = {
    "Bishkek": {
        "water": "МП «Бишкекводоканал»",
        "sewer": "МП «Бишкекводоканал»",
        "power": "ОАО «Северэлектро»",
        "gas": "ОсОО «Газпром Кыргызстан»",
        "heating": "МП «Бишкектеплосеть»",
    },
    "Osh": {
        "water": "МП «Ошводоканал»",
        "sewer": "МП «Ошводоканал»",
        "power": "ОАО «Ошэлектро»",
        "gas": "ОсОО «Газпром Кыргызстан»",
        "heating": "МП «Ошшаартеплосеть»",
    },
}
TRANSMISSION_OPERATOR = "ОАО «Национальная электрическая сеть Кыргызстана»"
CONDITIONS = ("good", "fair", "poor", "critical")
REFERENCE_YEAR = 2025


def _streets_in_city(plan: CityPlan) -> pd.DataFrame:
    streets = plan.streets
    shapely.prepare(plan.area)
    inside = shapely.intersects(streets.geometry.to_numpy(), plan.area)
    return streets[inside].reset_index(drop=True)


def utility_lines(model: CityModel, rng: np.random.Generator) -> pd.DataFrame:
    """One line per network and street segment (grid frame geometry in `geometry`, the plan
    index in `city`): water and sewer mains, power lines, gas pipes and district heating,
    each offset from the street centreline by its own distance."""
    frames = []
    for index, plan in enumerate(model.plans):
        streets = _streets_in_city(plan)
        arterial = (streets.kind == "arterial").to_numpy()
        zone = streets.zone.to_numpy()
        for network in NETWORKS:
            by_zone, default, p_art = PRESENCE[network]
            p = np.where(arterial, p_art, [by_zone.get(z, default) for z in zone])
            take = rng.random(len(streets)) < p
            lines = streets.geometry.to_numpy()[take]
            half = streets.width_m.to_numpy()[take] / 2
            offset = shapely.offset_curve(lines, OFFSET[network] * half)
            clipped = offset.copy()
            crossing = ~shapely.contains_properly(plan.area, offset)
            clipped[crossing] = shapely.intersection(offset[crossing], plan.area)
            frame = pd.DataFrame(
                {
                    "city": index,
                    "network_type": network,
                    "street": streets.name_ru.to_numpy()[take],
                    "arterial": arterial[take],
                    "zone": zone[take],
                    "geometry": clipped,
                }
            )
            frames.append(frame[shapely.length(clipped) >= 15].copy())
    lines = pd.concat(frames, ignore_index=True)
    lines["geometry"] = _linear(lines.geometry.to_numpy())
    return _line_attributes(model, lines, rng)


def _linear(geoms: np.ndarray) -> np.ndarray:
    """The linear parts of clipped lines as MultiLineStrings (every geometry has some)."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
    return shapely.multilinestrings(parts[keep], indices=index[keep])


def _line_attributes(
    model: CityModel, lines: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(lines)
    network, arterial = lines.network_type.to_numpy(), lines.arterial.to_numpy()
    diameter = np.full(n, np.nan)
    for name, (big, small) in DIAMETERS_MM.items():
        m = network == name
        diameter[m] = np.where(arterial[m], rng.choice(big, m.sum()), rng.choice(small, m.sum()))
    voltage = np.where(
        network == "power",
        np.where(
            arterial,
            rng.choice([10.0, 10.0, 10.0, 35.0, 110.0], n),
            rng.choice([0.4, 0.4, 0.4, 0.4, 10.0], n),
        ),
        np.nan,
    )
    first, last = np.array([ERAS[z] for z in lines.zone]).T
    year = first + np.floor(rng.random(n) * (last - first + 1)).astype(int)
    relaid = rng.random(n) < 0.25
    year = np.where(relaid, np.maximum(year, rng.integers(2000, REFERENCE_YEAR, n)), year)
    material = np.empty(n, dtype=object)
    for name, (old, new) in MATERIALS.items():
        m = network == name
        material[m] = np.where(
            relaid[m] | (year[m] >= 2005), rng.choice(new, m.sum()), rng.choice(old, m.sum())
        )
    age = REFERENCE_YEAR - year + rng.normal(0, 8, n)
    condition = np.array(CONDITIONS)[np.digitize(age, [15, 35, 55])]
    names = [p.spec.name for p in model.plans]
    city = np.array(names)[lines.city.to_numpy()]
    operator = np.array([OPERATORS[c][k] for c, k in zip(city, network, strict=True)], dtype=object)
    operator[voltage >= 35] = TRANSMISSION_OPERATOR
    return lines.assign(
        city_name=city,
        operator=operator,
        diameter_mm=diameter,
        voltage_kv=voltage,
        material=material,
        year_laid=year,
        condition=condition,
    )


PARAMETERS = {  # parameter: (unit, median of a January afternoon, spread, minimum, maximum)
    "pm2_5": ("µg/m³", 75.0, 0.6, 2.0, 600.0),
    "pm10": ("µg/m³", 120.0, 0.5, 5.0, 900.0),
    "no2": ("µg/m³", 45.0, 0.4, 2.0, 300.0),
    "so2": ("µg/m³", 18.0, 0.5, 1.0, 200.0),
    "co": ("mg/m³", 1.8, 0.5, 0.1, 30.0),
    "noise_db": ("dB(A)", 64.0, 0.08, 35.0, 100.0),
    "temperature": ("°C", -4.0, 0.0, -35.0, 45.0),
}
UNITS = tuple(sorted({p[0] for p in PARAMETERS.values()}))
SENSOR_OPERATORS = {
    "Bishkek": ("Кыргызгидромет", "Мэрия города Бишкек", "ОФ «Таза аба»"),
    "Osh": ("Кыргызгидромет", "Мэрия города Ош", "ОФ «Таза аба»"),
}
OBSERVED = dt.datetime(2025, 1, 15, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=6)))
"""The moment of the last reading of an active sensor (Asia/Bishkek, UTC+6)."""


def environment_sensors(model: CityModel, factor: float, rng: np.random.Generator) -> pd.DataFrame:
    """Monitoring sites at street crossings (18 in Bishkek and 8 in Osh per scale factor),
    each with 2-4 sensors of different parameters; a winter reading each."""
    frames: list[pd.DataFrame] = []
    for plan, sites in zip(model.plans, (18, 8), strict=True):
        crossings = _crossings(plan)
        count = min(len(crossings), int(round(sites * factor)))
        chosen = crossings[rng.choice(len(crossings), count, replace=False)]
        per_site = rng.integers(2, 5, count)
        site = np.repeat(np.arange(count), per_site)
        offset = rng.uniform(8, 14, (len(site), 2)) * rng.choice([-1, 1], (len(site), 2))
        xy = shapely.get_coordinates(chosen)[site] + offset
        params = np.concatenate([rng.choice(list(PARAMETERS), k, replace=False) for k in per_site])
        frames.append(
            pd.DataFrame(
                {
                    "city_name": plan.spec.name,
                    "site": site + 1,
                    "parameter": params,
                    "geometry": shapely.points(xy),
                    "plan": len(frames),
                }
            )
        )
    sensors = pd.concat(frames, ignore_index=True)
    return _sensor_readings(sensors, rng)


def _crossings(plan: CityPlan) -> np.ndarray:
    """Crossings of arterial streets inside the buildable city."""
    art = plan.superblocks
    points = shapely.points(np.column_stack([art.u0, art.v0]))
    points = np.unique(shapely.get_coordinates(points), axis=0)
    geoms = shapely.points(points)
    return geoms[shapely.contains(plan.buildable, geoms)]


def _sensor_readings(sensors: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(sensors)
    prefix = np.where(sensors.city_name == "Bishkek", "BSK", "OSH")
    code = [
        f"{p}-{s:03d}-{q.upper().replace('_', '')}"
        for p, s, q in zip(prefix, sensors.site, sensors.parameter, strict=True)
    ]
    unit, median, spread, low, high = (
        np.array([PARAMETERS[p][k] for p in sensors.parameter]) for k in range(5)
    )
    city_factor = np.where(sensors.city_name == "Bishkek", 1.0, 0.7)
    is_temp = sensors.parameter.to_numpy() == "temperature"
    polluted = np.where(sensors.parameter.isin(["noise_db"]), 1.0, city_factor)
    value = np.where(
        is_temp,
        median.astype(float) + rng.normal(0, 4, n),
        median.astype(float) * polluted * np.exp(rng.normal(0, 1, n) * spread.astype(float)),
    )
    value = np.round(np.clip(value, low.astype(float), high.astype(float)), 1)
    status = rng.choice(["active", "maintenance", "offline"], n, p=[0.85, 0.07, 0.08])
    minutes = np.select(
        [status == "active", status == "maintenance"],
        [rng.integers(0, 60, n), rng.integers(1440, 14400, n)],
        rng.integers(14400, 288000, n),
    )
    observed = [OBSERVED - dt.timedelta(minutes=int(m)) for m in minutes]
    start = dt.date(2017, 3, 1).toordinal()
    installed = [
        dt.date.fromordinal(int(d))
        for d in rng.integers(start, dt.date(2024, 11, 30).toordinal(), n)
    ]
    operators = np.array(
        [rng.choice(SENSOR_OPERATORS[c], p=[0.3, 0.45, 0.25]) for c in sensors.city_name]
    )
    return sensors.assign(
        sensor_code=code,
        unit=unit,
        last_value=value,
        status=status,
        last_observed_at=observed,
        installed=installed,
        operator=operators,
    )
