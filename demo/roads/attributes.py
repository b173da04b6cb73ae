"""Attributes of road segments that hang together: surface and width from the class and the
altitude, roughness (IRI) from the surface, the altitude and the stretch, condition from the
roughness, traffic from the population nearby, survey dates by class."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np

from demo.context import Context
from demo.roads.local import polygon_names

REFERENCE_DATE = dt.date(2026, 6, 30)
"""The demo's "today": survey dates and work statuses are relative to it, never the clock."""

RAYON_FIXES = {"City of Tomok": "City of Tokmok", "Issyk Kul": "Issyk-Kul"}
"""The corrections the rayons layer applies to geoBoundaries names."""

CONDITION_LIMITS = {"paved": (4.0, 6.0, 10.0), "unpaved": (8.0, 12.0, 16.0)}
"""IRI (m/km) up to which a segment is good, fair, poor (above: very poor), by surface type."""

SURFACE_IRI = {"asphalt": 3.4, "concrete": 3.8, "gravel": 9.5, "earth": 13.0}
"""Median IRI (m/km) of a surface at low altitude, before the stretch's own deviation."""

CLASS_IRI = {"international": 0.85, "national": 1.05, "local": 1.25, "urban": 1.1}


def condition_from_iri(iri: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """Condition class from roughness, with the limits of paved or unpaved roads.

    >>> condition_from_iri(np.array([3.0, 7.0, 7.0, 17.0]),
    ...                    np.array(["asphalt", "asphalt", "gravel", "earth"])).tolist()
    ['good', 'poor', 'good', 'very_poor']
    """
    paved = np.isin(surface, ["asphalt", "concrete"])
    out = np.full(len(iri), "very_poor", dtype=object)
    for kind, mask in (("paved", paved), ("unpaved", ~paved)):
        good, fair, poor = CONDITION_LIMITS[kind]
        out[mask & (iri <= poor)] = "poor"
        out[mask & (iri <= fair)] = "fair"
        out[mask & (iri <= good)] = "good"
    return out


def choose_surface(
    road_class: np.ndarray,
    elevation: np.ndarray,
    main: np.ndarray,
    centre_km: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Surface of each stretch: trunk roads are asphalt (a few concrete sections, gravel on
    high national roads), local roads lose asphalt with altitude, city outskirts have
    unpaved streets."""
    u, v = rng.random(len(road_class)), rng.random(len(road_class))
    high = np.clip((elevation - 1800.0) / 1000.0, 0, 1)
    p_paved = np.select(
        [road_class == "international", road_class == "national", road_class == "local"],
        [
            np.ones(len(u)),
            0.92 - 0.55 * high,
            np.clip(0.75 - 0.45 * (elevation - 700.0) / 1000.0, 0.05, 0.75),
        ],
        np.where(main, 1.0, np.clip(1.0 - 0.07 * centre_km, 0.45, 0.97)),
    )
    p_earth = np.where(
        road_class == "local",
        np.clip(0.15 + 0.3 * high, 0.1, 0.45),
        np.where(road_class == "urban", 0.25, 0.05),
    )
    concrete = (road_class == "international") & (v < 0.04)
    return np.where(
        u < p_paved,
        np.where(concrete, "concrete", "asphalt"),
        np.where(v < p_earth, "earth", "gravel"),
    )


def choose_width(
    road_class: np.ndarray,
    surface: np.ndarray,
    main: np.ndarray,
    near_city: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Carriageway width (m) and lanes of each stretch."""
    n = len(road_class)
    unpaved = np.isin(surface, ["gravel", "earth"])
    lanes = np.select(
        [
            road_class == "international",
            road_class == "national",
            road_class == "urban",
            surface == "earth",
        ],
        [
            np.where(near_city, 4, 2),
            np.full(n, 2),
            np.where(main, rng.choice([4, 6], n, p=[0.6, 0.4]), 2),
            np.ones(n, int),
        ],
        np.where(unpaved & (rng.random(n) < 0.4), 1, 2),
    )
    per_lane = np.where(
        road_class == "international",
        rng.uniform(3.5, 3.75, n),
        np.where(unpaved, rng.uniform(2.8, 3.3, n), rng.uniform(3.0, 3.5, n)),
    )
    shoulders = np.where(
        road_class == "international", rng.uniform(1.0, 3.0, n), rng.uniform(0.0, 1.0, n)
    )
    width = np.clip(lanes * per_lane + shoulders + np.where(lanes >= 4, 2.0, 0.0), 3.0, 40.0)
    return np.round(width, 1), lanes.astype(int)


def population_pull(ctx: Context, points_m: gpd.GeoSeries) -> np.ndarray:
    """Traffic potential at points: the sum over settlements of their population (thousands)
    weighted by exp(-distance / 30 km)."""
    places = ctx.to_metric(ctx.settlements)
    population = places["population"].fillna(0).to_numpy() / 1000.0
    px, py = places.geometry.x.to_numpy(), places.geometry.y.to_numpy()
    x, y = points_m.x.to_numpy(), points_m.y.to_numpy()
    pull = np.zeros(len(x))
    for weight, sx, sy in zip(population, px, py, strict=True):
        if weight > 0:
            pull += weight * np.exp(-np.hypot(x - sx, y - sy) / 30_000.0)
    return pull


def traffic(
    road_class: np.ndarray, pull: np.ndarray, main: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Annual average daily traffic (vehicles/day) from class and population pull."""
    scaled = (np.clip(pull, 0.5, None) / 40.0) ** 0.6
    base = np.select(
        [road_class == "international", road_class == "national", road_class == "local"],
        [900 + 3500 * scaled, 300 + 1500 * scaled, 40 + 250 * scaled],
        np.where(main, 4000 + 2500 * scaled, 300 + 400 * scaled),
    )
    return np.maximum(np.round(base * rng.lognormal(0.0, 0.25, len(base)), -1), 10).astype(int)


def roughness(
    surface: np.ndarray,
    road_class: np.ndarray,
    elevation: np.ndarray,
    stretch_effect: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """IRI (m/km), 1.5-20: worse on gravel and earth, at altitude and on local roads."""
    median = np.vectorize(SURFACE_IRI.get)(surface) * np.vectorize(CLASS_IRI.get)(road_class)
    altitude = 1.0 + 0.15 * np.clip((elevation - 1500.0) / 1000.0, 0, None)
    iri = median * altitude * stretch_effect * rng.lognormal(0.0, 0.15, len(surface))
    return np.round(np.clip(iri, 1.5, 20.0), 1)


def survey_dates(road_class: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Date of the last condition survey: trunk roads every year or two, local roads up to
    five years ago."""
    years = np.select(
        [road_class == "international", road_class == "national", road_class == "urban"],
        [1.5, 3.0, 3.0],
        5.0,
    )
    days = np.floor(rng.random(len(road_class)) * years * 365.0).astype(int)
    return np.array([REFERENCE_DATE - dt.timedelta(days=int(d)) for d in days], dtype=object)


def admin_names(ctx: Context, points_m: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Oblast (nearest; English as in the oblasts layer) and rayon (containing, else the
    nearest within 3 km; none in Bishkek) of each point."""
    oblast = polygon_names(points_m, ctx.to_metric(ctx.oblasts), "name")
    rayon = polygon_names(points_m, ctx.to_metric(ctx.rayons), "shapeName", 3_000.0)
    rayon = np.array(
        [
            None if r is None or o == "Bishkek" else RAYON_FIXES.get(r, r)
            for r, o in zip(rayon, oblast, strict=True)
        ],
        dtype=object,
    )
    return oblast, rayon
