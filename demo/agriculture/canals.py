"""Main irrigation canals: where they take water and where they run (UTM 43N).

Shared by the agriculture generator (a plot is irrigated when a main canal commands it) and
the irrigation generator (which draws the canals and their branches). A main canal takes
water where a stream of `ctx.streams` leaves the mountains and enters a cultivable valley,
then runs along the contour on either bank, its design water level falling by 1-2 m per km,
so that it slowly rises above the valley floor and commands the land between it and the
river (as the Big Chui Canal does south of the Chu). The plan is a pure function of the
geography: both generators compute the same canals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from scipy import ndimage
from scipy.spatial import cKDTree

from demo.agriculture.land import Terrain, cached, get_terrain
from demo.context import UTM_43N, Context

STEP_M = 250.0
SAMPLE_M = 250.0
INTAKE_SPACING_M = 6_000.0
COMMAND_DISTANCE_M = 40_000.0
"""How far from a main canal its water reaches (through inter-farm canals)."""
COMMAND_MARGIN_M = 2.0
TURNS = np.radians(np.arange(-60.0, 61.0, 10.0))

RIVERS: list[tuple[str, str, float, float]] = [
    # English name (as in the rivers layer), Russian name, lon, lat where it leaves the hills
    ("Chu", "Чу", 75.72, 42.74),
    ("Chong-Kemin", "Чон-Кемин", 76.0, 42.78),
    ("Kichi-Kemin", "Кичи-Кемин", 75.45, 42.76),
    ("Shamsy", "Шамси", 75.38, 42.70),
    ("Kegeti", "Кегеты", 75.12, 42.68),
    ("Issyk-Ata", "Иссык-Ата", 74.95, 42.66),
    ("Alamedin", "Аламедин", 74.63, 42.70),
    ("Ala-Archa", "Ала-Арча", 74.49, 42.67),
    ("Sokuluk", "Сокулук", 74.28, 42.71),
    ("Ak-Suu", "Ак-Суу", 74.08, 42.72),
    ("Kara-Balta", "Кара-Балта", 73.85, 42.73),
    ("Aspara", "Аспара", 73.55, 42.72),
    ("Talas", "Талас", 72.55, 42.46),
    ("Kara-Buura", "Кара-Буура", 71.55, 42.50),
    ("Urmaral", "Урмарал", 71.95, 42.47),
    ("Kalba", "Калба", 72.75, 42.42),
    ("Beshtash", "Бешташ", 72.30, 42.40),
    ("Chong-Ak-Suu", "Чон-Ак-Суу", 77.25, 42.70),
    ("Cholpon-Ata", "Чолпон-Ата", 77.08, 42.70),
    ("Tüp", "Тюп", 78.36, 42.76),
    ("Jyrgalan", "Джергалан", 78.80, 42.60),
    ("Karakol", "Каракол", 78.42, 42.45),
    ("Ak-Suu", "Ак-Суу", 78.55, 42.45),
    ("Jeti-Oguz", "Джети-Огуз", 78.22, 42.35),
    ("Chong-Kyzyl-Suu", "Чон-Кызыл-Суу", 78.0, 42.30),
    ("Juuku", "Джууку", 77.80, 42.22),
    ("Barskoon", "Барскоон", 77.60, 42.15),
    ("Ton", "Тон", 76.95, 42.12),
    ("Ak-Terek", "Ак-Терек", 77.30, 42.15),
    ("Naryn", "Нарын", 76.0, 41.43),
    ("At-Bashy", "Ат-Башы", 75.80, 41.17),
    ("Kochkor", "Кочкор", 75.75, 42.20),
    ("Jumgal", "Джумгал", 74.45, 41.98),
    ("Kara-Darya", "Кара-Дарья", 73.30, 40.77),
    ("Jazy", "Джазы", 73.25, 40.95),
    ("Kurshab", "Куршаб", 73.50, 40.65),
    ("Tar", "Тар", 73.60, 40.55),
    ("Ak-Buura", "Ак-Буура", 72.85, 40.42),
    ("Aravan-Say", "Араван-Сай", 72.50, 40.38),
    ("Kyrgyz-Ata", "Кыргыз-Ата", 72.65, 40.28),
    ("Abshir-Say", "Абшир-Сай", 72.35, 40.20),
    ("Isfayram-Say", "Исфайрам-Сай", 71.85, 40.15),
    ("Sokh", "Сох", 71.10, 40.05),
    ("Isfara", "Исфара", 70.62, 39.95),
    ("Kugart", "Кугарт", 73.10, 41.10),
    ("Kara-Unkur", "Кара-Ункур", 72.95, 41.20),
    ("Kök-Art", "Кок-Арт", 73.20, 41.05),
    ("Naryn", "Нарын", 72.20, 41.35),
    ("Kassan-Say", "Кассан-Сай", 71.50, 41.42),
    ("Padysha-Ata", "Падыша-Ата", 71.30, 41.40),
    ("Kara-Suu", "Кара-Суу", 71.80, 41.55),
    ("Chychkan", "Чычкан", 72.95, 41.90),
    ("Uzun-Akmat", "Узун-Акмат", 73.20, 41.95),
    ("Naryn", "Нарын", 74.05, 41.40),
    ("Chatkal", "Чаткал", 71.60, 41.75),
    ("Ala-Buga", "Алабуга", 74.75, 41.27),
    ("Chu", "Чу", 76.05, 42.36),
    ("At-Bashy", "Ат-Башы", 76.05, 41.20),
    ("At-Bashy", "Ат-Башы", 75.60, 41.35),
    ("Kara-Koyun", "Кара-Коюн", 75.60, 41.10),
    ("Kochkor", "Кочкор", 75.45, 42.30),
    ("Kurshab", "Куршаб", 73.15, 40.60),
    ("Sokh", "Сох", 71.22, 40.20),
    ("Tentek-Say", "Тентек-Сай", 72.20, 41.55),
    ("Isfayram-Say", "Исфайрам-Сай", 72.05, 40.20),
    ("Jumgal", "Джумгал", 74.75, 41.98),
    ("Leilek", "Лейлек", 69.85, 39.95),
    ("Isfana", "Исфана", 69.60, 39.85),
    ("Ak-Suu", "Ак-Суу", 70.20, 39.92),
    ("On-Archa", "Он-Арча", 75.85, 41.62),
    ("Shakhimardan", "Шахимардан", 71.60, 40.05),
    ("Kajy-Say", "Кажы-Сай", 76.50, 42.20),
    ("Jazy", "Джазы", 73.55, 40.85),
]
"""Real rivers near the points where they enter the valleys, to name the canals' sources."""
NAMING_RADIUS_M = 16_000.0
MAIN_STEM_KM2 = 5_000.0
"""Streams draining more than this keep the name the stream network gives them."""
KNOWN_RUSSIAN = {"Chu": "Чу", "Kyzyl-Suu": "Кызыл-Суу", "Kökömeren": "Кокомерен"}


@dataclass(frozen=True)
class MainCanal:
    """A main canal: vertices (UTM 43N), its design water level at each, its source."""

    coords: np.ndarray
    level_m: np.ndarray
    river_en: str
    river_ru: str
    bank: str
    """`left` or `right` bank, looking downstream."""
    upstream_area_km2: float

    @property
    def line(self) -> shapely.LineString:
        """The course, corners rounded (UTM 43N)."""
        return shapely.LineString(smooth_line(self.coords, 1))

    @property
    def length_m(self) -> float:
        """Planar length in UTM 43N."""
        return float(np.hypot(*np.diff(self.coords, axis=0).T).sum())


def smooth_line(coords: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Chaikin corner cutting of an open polyline, keeping both ends."""
    for _ in range(iterations):
        if len(coords) < 3:
            return coords
        a, b = coords[:-1], coords[1:]
        cut = np.stack([0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b], axis=1).reshape(-1, 2)
        coords = np.vstack([coords[:1], cut[1:-1], coords[-1:]])
    return coords


def _stream_samples(
    ctx: Context, terrain: Terrain
) -> list[tuple[np.ndarray, np.ndarray, float, str | None]]:
    """Points every 250 m along every stream, downstream order, with their elevation."""
    streams = ctx.to_metric(ctx.streams)
    geoms = streams.geometry.to_numpy()
    counts = np.maximum(np.ceil(shapely.length(geoms) / SAMPLE_M).astype(int), 2)
    owner = np.repeat(np.arange(len(geoms)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    points = shapely.line_interpolate_point(
        geoms[owner], offset / (counts[owner] - 1), normalized=True
    )
    xy = shapely.get_coordinates(points)
    z = terrain.elevation_at(xy[:, 0], xy[:, 1])
    samples = []
    for index, (start, count) in enumerate(zip(np.cumsum(counts) - counts, counts, strict=True)):
        line_xy, line_z = xy[start : start + count], z[start : start + count]
        if line_z[0] < line_z[-1]:
            line_xy, line_z = line_xy[::-1], line_z[::-1]
        name = streams["name"].iloc[index]
        samples.append(
            (
                line_xy,
                line_z,
                float(streams["upstream_area_km2"].iloc[index]),
                name if isinstance(name, str) else None,
            )
        )
    return samples


def find_intakes(ctx: Context, terrain: Terrain) -> list[tuple[float, float, float, float, float]]:
    """Where streams enter a cultivable valley from the mountains: (x, y, elevation, flow
    direction in radians, upstream area km²), biggest rivers first, 6 km apart at least."""
    zone = ndimage.maximum_filter(terrain.cultivable.view(np.uint8), size=5) > 0
    found = []
    samples = _stream_samples(ctx, terrain)
    everything = np.concatenate([xy for xy, _, _, _ in samples])
    inside_all = terrain.lookup(zone, everything[:, 0], everything[:, 1])
    blocked_all = terrain.lookup(terrain.blocked, everything[:, 0], everything[:, 1])
    start = 0
    for xy, z, area, _ in samples:
        inside = inside_all[start : start + len(xy)]
        blocked = blocked_all[start : start + len(xy)]
        start += len(xy)
        entries = [
            i
            for i in np.flatnonzero(inside[4:-6] & ~inside[3:-7] & ~inside[2:-8]) + 4
            # from the mountains, not from across a town or a lake
            if inside[i : i + 8].mean() >= 0.8 and not blocked[i - 4 : i].any()
        ]
        for i in entries:
            direction = xy[i + 3] - xy[i]
            found.append(
                (xy[i, 0], xy[i, 1], z[i], float(np.arctan2(direction[1], direction[0])), area)
            )
    found.sort(key=lambda item: (-item[4], item[0], item[1]))
    kept: list[tuple[float, float, float, float, float]] = []
    for item in found:
        if all(np.hypot(item[0] - k[0], item[1] - k[1]) > INTAKE_SPACING_M for k in kept):
            kept.append(item)
    return kept


def _walk(
    terrain: Terrain,
    zone: np.ndarray,
    starts: np.ndarray,
    headings: np.ndarray,
    levels: np.ndarray,
    gradients: np.ndarray,
    max_steps: np.ndarray,
    rank: np.ndarray,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Follow the contour from every start at once (one row per canal).

    Each 250 m step turns by up to 60° towards the terrain nearest the design level, which
    falls by `gradients` m/km (and drops to the terrain where the ground falls faster: a drop
    structure). A canal ends where it leaves the valley, would need a tunnel (the ground
    25 m above its level), turns back on itself, or comes within 800 m of a canal of a
    bigger river (lower `rank`) or of the same rank.
    """
    sample = _Bilinear(terrain)
    count, steps = len(starts), int(max_steps.max())
    xy = np.full((steps + 1, count, 2), np.nan)
    level = np.full((steps + 1, count), np.nan)
    xy[0], level[0] = starts, levels
    heading, outside = headings.astype(float), np.zeros(count, dtype=int)
    occupancy = _Occupancy(terrain, rank)
    length = np.ones(count, dtype=int)
    active = max_steps > 0
    for step in range(steps):
        rows = np.flatnonzero(active)
        if len(rows) == 0:
            break
        turned = heading[rows, None] + TURNS
        xs = xy[step, rows, 0, None] + STEP_M * np.cos(turned)
        ys = xy[step, rows, 1, None] + STEP_M * np.sin(turned)
        z = sample(xs, ys)
        target = level[step, rows] - gradients[rows] * STEP_M / 1000.0
        in_zone = zone[sample.rows(ys), sample.cols(xs)]
        cost = ((z - target[:, None]) / 5.0) ** 2 + 1.5 * (TURNS / np.radians(30.0)) ** 2
        cost += np.where(in_zone, 0.0, 25.0)
        best = np.argmin(cost, axis=1)
        pick = np.arange(len(rows))
        outside[rows] = np.where(in_zone[pick, best], 0, outside[rows] + 1)
        going = (z[pick, best] - target <= 25.0) & (outside[rows] <= 3) & (step < max_steps[rows])
        rows, best, pick = rows[going], best[going], pick[going]
        xy[step + 1, rows, 0], xy[step + 1, rows, 1] = xs[pick, best], ys[pick, best]
        level[step + 1, rows] = np.minimum(target[going], z[pick, best] + 3.0)
        heading[rows] = turned[pick, best]
        length[rows] = step + 2
        active[:] = False
        active[rows] = True
        stop = occupancy.blocked(rows, xy[step + 1, rows], step + 1)
        active[rows[stop & (step >= 8)]] = False
    return [(xy[: length[i], i], level[: length[i], i]) for i in range(count)]


class _Occupancy:
    """Which canal passed first through each 300 m cell, and at which step: to stop a canal
    that comes near a canal of a bigger river or back near its own course."""

    CELL_M = 300.0

    def __init__(self, terrain: Terrain, rank: np.ndarray) -> None:
        rows, cols = terrain.elevation.shape
        factor = terrain.transform.a / self.CELL_M
        self.shape = (int(rows * factor) + 3, int(cols * factor) + 3)
        self.owner = np.full(self.shape, -1, dtype=np.int64)
        self.step = np.zeros(self.shape, dtype=np.int64)
        self.x0, self.y0 = terrain.transform.c, terrain.transform.f
        self.rank = rank

    def _cells(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.clip(((self.y0 - xy[:, 1]) / self.CELL_M).astype(np.int64), 2, self.shape[0] - 3)
        cols = np.clip(((xy[:, 0] - self.x0) / self.CELL_M).astype(np.int64), 2, self.shape[1] - 3)
        return rows, cols

    def blocked(self, canals: np.ndarray, xy: np.ndarray, step: int) -> np.ndarray:
        """Check the new heads of `canals` (at `xy`), then mark their cells."""
        rows, cols = self._cells(xy)
        offsets = np.arange(-2, 3)
        near_r = (rows[:, None, None] + offsets[None, :, None]).repeat(5, axis=2)
        near_c = (cols[:, None, None] + offsets[None, None, :]).repeat(5, axis=1)
        owner = self.owner[near_r, near_c].reshape(len(canals), 25)
        passed = self.step[near_r, near_c].reshape(len(canals), 25)
        mine = canals[:, None]
        other = (owner >= 0) & (owner != mine) & (self.rank[owner] <= self.rank[mine])
        own_old = (owner == mine) & (passed < step - 6)
        free = self.owner[rows, cols] < 0
        self.owner[rows[free], cols[free]] = canals[free]
        self.step[rows[free], cols[free]] = step
        return other.any(axis=1) | own_old.any(axis=1)


class _Bilinear:
    """Fast bilinear sampling of the terrain for a handful of points at a time."""

    def __init__(self, terrain: Terrain) -> None:
        self.z = terrain.elevation
        self.a, _, self.c, _, self.e, self.f = terrain.transform[:6]

    def rows(self, y: np.ndarray) -> np.ndarray:
        return np.clip(((y - self.f) / self.e).astype(np.int64), 0, self.z.shape[0] - 1)

    def cols(self, x: np.ndarray) -> np.ndarray:
        return np.clip(((x - self.c) / self.a).astype(np.int64), 0, self.z.shape[1] - 1)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        col = np.clip((x - self.c) / self.a - 0.5, 0, self.z.shape[1] - 2)
        row = np.clip((y - self.f) / self.e - 0.5, 0, self.z.shape[0] - 2)
        c0, r0 = col.astype(np.int64), row.astype(np.int64)
        dc, dr = col - c0, row - r0
        top = self.z[r0, c0] * (1 - dc) + self.z[r0, c0 + 1] * dc
        bottom = self.z[r0 + 1, c0] * (1 - dc) + self.z[r0 + 1, c0 + 1] * dc
        return top * (1 - dr) + bottom * dr


def _river_name(
    x: float, y: float, stream_name: str | None, area_km2: float, rivers_xy: np.ndarray
) -> tuple[str, str]:
    """English and Russian name of the river at an intake: the main stem's name from the
    stream network for big rivers, else the nearest known river, else an unnamed stream."""
    known = {en: ru for en, ru, _, _ in RIVERS} | KNOWN_RUSSIAN
    if stream_name and area_km2 >= MAIN_STEM_KM2:
        return stream_name, known.get(stream_name, stream_name)
    distance = np.hypot(rivers_xy[:, 0] - x, rivers_xy[:, 1] - y)
    nearest = int(np.argmin(distance))
    if distance[nearest] <= NAMING_RADIUS_M:
        return RIVERS[nearest][0], RIVERS[nearest][1]
    if stream_name:
        return stream_name, known.get(stream_name, stream_name)
    return "unnamed stream", "безымянный сай"


def plan_main_canals(ctx: Context, terrain: Terrain) -> list[MainCanal]:
    """The main canals of every valley, biggest rivers first (see the module docstring)."""
    to_utm = Transformer.from_crs(4326, UTM_43N, always_xy=True)
    rivers_xy = np.column_stack(to_utm.transform([r[2] for r in RIVERS], [r[3] for r in RIVERS]))
    zone = ndimage.maximum_filter(terrain.cultivable.view(np.uint8), size=9) > 0
    streams = ctx.to_metric(ctx.streams)
    tree = shapely.STRtree(streams.geometry.to_numpy())
    intakes = find_intakes(ctx, terrain)
    if not intakes:
        return []
    x, y, z, flow, area = (np.array(column) for column in zip(*intakes, strict=True))
    big = np.repeat(area >= 2_000.0, 2)
    side = np.tile([1.0, -1.0], len(x))
    walked = _walk(
        terrain,
        zone,
        np.repeat(np.column_stack([x, y]), 2, axis=0),
        np.repeat(flow, 2) + side * 1.2,
        np.repeat(z, 2),
        np.where(big, 1.0, 1.8),
        np.where(big, 280, 100),
        np.repeat(np.arange(len(x)), 2),
    )
    canals = []
    for index, (coords, levels) in enumerate(walked):
        intake = index // 2
        coords, levels = _descending(terrain, coords, levels, float(z[intake]))
        if len(coords) < 15:
            continue
        nearest = int(tree.nearest(shapely.Point(x[intake], y[intake])))
        stream_name = streams["name"].iloc[nearest]
        river_en, river_ru = _river_name(
            x[intake],
            y[intake],
            stream_name if isinstance(stream_name, str) else None,
            float(area[intake]),
            rivers_xy,
        )
        canals.append(
            MainCanal(
                coords=coords,
                level_m=levels,
                river_en=river_en,
                river_ru=river_ru,
                bank="left" if side[index] > 0 else "right",
                upstream_area_km2=float(area[intake]),
            )
        )
    return canals


def russian_name(river_en: str) -> str:
    """The Russian name of a river named in English in the stream network."""
    known = {en: ru for en, ru, _, _ in RIVERS} | KNOWN_RUSSIAN
    return known.get(river_en, river_en)


def _descending(
    terrain: Terrain, coords: np.ndarray, levels: np.ndarray, intake_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """The canal up to its last vertex at least 5 m below the intake (a canal whose end
    climbed over a spur is cut back where it still ran downhill)."""
    below = np.flatnonzero(terrain.elevation_at(coords[:, 0], coords[:, 1]) <= intake_m - 5.0)
    end = int(below[-1]) + 1 if len(below) else 0
    return coords[:end], levels[:end]


def get_main_canals(ctx: Context) -> list[MainCanal]:
    """The main canal plan of a context, computed once and shared by both generators."""
    terrain = get_terrain(ctx)
    return cached(ctx, "main_canals", lambda: plan_main_canals(ctx, terrain))


def command_level(canals: list[MainCanal], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The highest design water level (m) of the main canals within reach of each point
    (NaN where none is): a point below it can be irrigated by gravity."""
    vertices = np.concatenate([c.coords for c in canals])
    levels = np.concatenate([c.level_m for c in canals])
    distance, index = cKDTree(vertices).query(
        np.column_stack([x, y]), k=64, distance_upper_bound=COMMAND_DISTANCE_M
    )
    found = np.isfinite(distance)
    reached = np.where(found, levels[np.minimum(index, len(levels) - 1)], -np.inf)
    best = reached.max(axis=1)
    return np.where(np.isfinite(best), best, np.nan)


def is_commanded(
    canals: list[MainCanal], x: np.ndarray, y: np.ndarray, elevation: np.ndarray
) -> np.ndarray:
    """True where a main canal's water reaches by gravity."""
    level = command_level(canals, x, y)
    return np.nan_to_num(level, nan=-np.inf) > elevation + COMMAND_MARGIN_M
