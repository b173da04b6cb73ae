"""Water users' associations, canal sensors and their readings.

An association serves the irrigated plots of a few villages of one rayon: plots are grouped
around seeds (a few Lloyd iterations), and the service area is the union of the member plots,
closed by 80 m, cut to the seed's Voronoi cell among the rayon's seeds; where associations of
two rayons meet, the later one gives way, so associations never overlap.
Sensors measure flow or water level near the heads of main and inter-farm canals; daily
readings follow the irrigation season (April-September high, a peak in July, canals nearly dry
in winter), with rotation, weather and diurnal noise, suspect spikes and gaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

WUA_HA = 1_500.0
"""Irrigated area an association serves, on average."""
READINGS_START = np.datetime64("2025-01-01")
READINGS_END = np.datetime64("2026-06-30")


def wua_groups(
    x: np.ndarray, y: np.ndarray, area_ha: np.ndarray, rayon: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Association (index) of every irrigated plot and the association seeds (UTM)."""
    group = np.full(len(x), -1)
    seeds: list[np.ndarray] = []
    for name in np.unique(rayon):
        mine = np.flatnonzero(rayon == name)
        count = max(1, round(area_ha[mine].sum() / WUA_HA))
        points = np.column_stack([x[mine], y[mine]])
        centres = points[rng.choice(len(mine), size=min(count, len(mine)), replace=False)]
        for _ in range(4):  # Lloyd iterations: compact associations of similar size
            _, nearest = cKDTree(centres).query(points)
            weight = np.bincount(nearest, minlength=len(centres))
            moved = np.column_stack(
                [
                    np.bincount(nearest, points[:, 0], len(centres)),
                    np.bincount(nearest, points[:, 1], len(centres)),
                ]
            )
            centres = np.where(weight[:, None] > 0, moved / np.maximum(weight, 1)[:, None], centres)
        _, nearest = cKDTree(centres).query(points)
        used, nearest = np.unique(nearest, return_inverse=True)
        group[mine] = len(seeds) + nearest
        seeds.extend(centres[used])
    return group, np.array(seeds)


def service_areas(
    plots: np.ndarray,
    group: np.ndarray,
    seeds: np.ndarray,
    seed_rayon: np.ndarray,
    rayons: dict[str, shapely.Geometry],
) -> np.ndarray:
    """One polygon per association (UTM 43N): its plots closed by 80 m, cut to its seed's
    Voronoi cell among the seeds of its rayon, without overlapping the others."""
    cells = np.empty(len(seeds), dtype=object)
    for rayon in np.unique(seed_rayon):
        mine = np.flatnonzero(seed_rayon == rayon)
        frame = shapely.envelope(rayons[rayon]).buffer(1e4)
        if len(mine) > 1:
            cells[mine] = shapely.get_parts(
                shapely.voronoi_polygons(
                    shapely.multipoints(seeds[mine]), extend_to=frame, ordered=True
                )
            )
        else:
            cells[mine] = frame
    grown = shapely.buffer(plots, 80.0, quad_segs=2)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(seeds) + 1))
    areas = np.array(
        [
            shapely.union_all(grown[order[a:b]])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ],
        dtype=object,
    )
    areas = shapely.buffer(areas, -40.0, quad_segs=2)
    areas = shapely.make_valid(shapely.simplify(shapely.intersection(areas, cells), 10.0))
    return _without_overlaps(areas)


def _without_overlaps(areas: np.ndarray) -> np.ndarray:
    """Each area minus the areas before it (associations of neighbouring rayons may meet
    along the rayon border, whose outline does not follow the fields)."""
    first, second = shapely.STRtree(areas).query(areas, predicate="intersects")
    later = first > second
    out = areas.copy()
    for index in np.unique(first[later]):
        earlier = second[later & (first == index)]
        out[index] = shapely.make_valid(
            shapely.difference(out[index], shapely.union_all(areas[earlier]))
        )
    return out


def seasonal_factor(day_of_year: np.ndarray) -> np.ndarray:
    """Share of the canal capacity in use by day of year: winter base, spring rise from
    mid-March, July peak, autumn fall to early November."""
    rise = 1.0 / (1.0 + np.exp(-(day_of_year - 110.0) / 9.0))
    fall = 1.0 / (1.0 + np.exp((day_of_year - 280.0) / 10.0))
    peak = np.exp(-(((day_of_year - 196.0) / 45.0) ** 2))
    return rise * fall * (0.55 + 0.35 * peak)


def readings(
    sensors: pd.DataFrame, capacity: np.ndarray, is_main: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Daily readings (about 08:00 Bishkek time, stored in UTC) of every sensor from the
    later of 2025-01-01 and its installation to 2026-06-30 (or its decommissioning)."""
    days = np.arange(READINGS_START, READINGS_END + 1).astype("datetime64[D]")
    n_sensors, n_days = len(sensors), len(days)
    doy = (days - days.astype("datetime64[Y]")).astype(int) + 1
    year_factor = np.where(days < np.datetime64("2026-01-01"), 0.9, 1.0)  # 2025: low water
    winter = np.where(is_main, 0.06, 0.0)[:, None]
    share = winter + (1.0 - winter) * seasonal_factor(doy)[None, :] * year_factor
    noise = np.zeros((n_sensors, n_days))
    shocks = rng.normal(0.0, 0.05, (n_sensors, n_days))
    for day in range(1, n_days):  # AR(1) weather and water-rotation noise
        noise[:, day] = 0.8 * noise[:, day - 1] + shocks[:, day]
    rotation = np.where(is_main, 0.0, 0.12)[:, None] * np.sin(
        2 * np.pi * np.arange(n_days) / 10.0 + rng.uniform(0, 2 * np.pi, (n_sensors, 1))
    )
    minutes = rng.integers(-25, 40, (n_sensors, n_days))
    diurnal = 0.03 * np.sin(2 * np.pi * (8.0 + minutes / 60.0 - 6.0) / 24.0)
    flow = np.clip(capacity[:, None] * (share * (1.0 + noise + rotation + diurnal)), 0.0, None)
    flow[share < 0.01] = 0.0
    depth_cm = np.where(is_main, 180.0, 80.0)[:, None]
    level = depth_cm * (flow / capacity[:, None]) ** 0.6 + rng.normal(0.0, 1.0, flow.shape)
    quality = rng.choice(
        np.array(["good", "suspect", "missing"]), size=flow.shape, p=[0.94, 0.04, 0.02]
    )
    spike = quality == "suspect"
    flow[spike] *= rng.uniform(1.4, 2.5, int(spike.sum()))
    level[spike] += rng.uniform(15.0, 40.0, int(spike.sum()))
    first = np.maximum(sensors["installed"].to_numpy().astype("datetime64[D]"), READINGS_START)
    last = sensors["last_day"].to_numpy().astype("datetime64[D]")
    live = (days[None, :] >= first[:, None]) & (days[None, :] <= last[:, None])
    rows, cols = np.nonzero(live)
    is_flow = (sensors["sensor_type"].to_numpy() == "flow")[rows]
    missing = quality[rows, cols] == "missing"
    observed = (
        days[cols].astype("datetime64[m]")
        + np.timedelta64(2 * 60, "m")
        + minutes[rows, cols].astype("timedelta64[m]")
    )  # 08:00 UTC+6 is 02:00 UTC
    return pd.DataFrame(
        {
            "id": np.arange(1, len(rows) + 1),
            "sensor_id": sensors["id"].to_numpy()[rows],
            "observed_at": pd.to_datetime(observed).tz_localize("UTC"),
            "flow_m3s": np.where(is_flow & ~missing, np.round(flow[rows, cols], 3), np.nan),
            "level_cm": np.where(
                ~is_flow & ~missing, np.round(np.maximum(level[rows, cols], 0), 1), np.nan
            ),
            "quality_flag": quality[rows, cols],
        }
    )
