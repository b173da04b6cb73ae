"""Road works: maintenance, repairs and rebuilding on runs of consecutive segments, dated
around the demo's reference date; completed works leave the road smoother."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import shapely

from demo.roads.attributes import REFERENCE_DATE, condition_from_iri

WORK_TYPES = [
    "periodic_maintenance",
    "rehabilitation",
    "reconstruction",
    "emergency_repair",
    "resurfacing",
]
TYPE_SHARES = {
    "international": [0.25, 0.25, 0.25, 0.10, 0.15],
    "national": [0.30, 0.25, 0.15, 0.15, 0.15],
    "local": [0.40, 0.15, 0.05, 0.20, 0.20],
    "urban": [0.30, 0.15, 0.10, 0.05, 0.40],
}
CLASS_WEIGHT = {"international": 6.0, "national": 3.0, "local": 1.0, "urban": 2.5}
"""Works per km relative to local roads: money goes to the trunk roads and the cities."""

STRETCH_KM = {
    "periodic_maintenance": (3, 15),
    "rehabilitation": (5, 30),
    "reconstruction": (3, 20),
    "emergency_repair": (0.2, 1.0),
    "resurfacing": (2, 10),
}
DURATION_DAYS = {
    "periodic_maintenance": (30, 120),
    "rehabilitation": (180, 720),
    "reconstruction": (365, 1100),
    "emergency_repair": (3, 30),
    "resurfacing": (30, 90),
}
MILLION_KGS_PER_KM = {
    "periodic_maintenance": (2.5, 7.0),
    "rehabilitation": (40.0, 90.0),
    "reconstruction": (90.0, 180.0),
    "emergency_repair": (3.0, 25.0),
    "resurfacing": (12.0, 28.0),
}
ACCEPTANCE_IRI = {
    "periodic_maintenance": (2.5, 4.5),
    "rehabilitation": (1.6, 2.8),
    "reconstruction": (1.5, 2.4),
    "emergency_repair": (3.0, 6.0),
    "resurfacing": (1.8, 3.2),
}
UNPAVED_ACCEPTANCE_IRI = (5.0, 8.0)

CONTRACTORS = [
    "ОсОО «Жол-Курулуш»",
    "ОсОО «Ала-Тоо Жол Курулуш»",
    "ОсОО «Тоо-Жол Сервис»",
    "ОсОО «Нарын Жол Курулуш»",
    "ОсОО «Асфальт-Тоо»",
    "ОсОО «Бийик Жол»",
    "ОсОО «Ысык-Көл Жол Куруучу»",
    "ОсОО «Түштүк Жол»",
    "ОсОО «Теңир-Тоо Инжиниринг»",
    "ОсОО «Алтын Көпүрө»",
    "ОсОО «Чүй Асфальт Сервис»",
    "ОсОО «Ак-Жол Стройсервис»",
    "ОсОО «Талас Жол Курулуш»",
    "ОсОО «Баткен Жол Сервис»",
    "ОсОО «Ош Магистраль»",
    "ОсОО «Кара-Суу Асфальт»",
    "ОсОО «Жалал-Абад Жол Куруучу»",
    "ОсОО «Азия Жол Инжиниринг»",
]
"""Fictional contractors (limited liability companies); any likeness is accidental."""

SEASON_START = 4
SEASON_END = 10
"""Road building season: April to October (works of other types avoid the winter)."""


def _start_date(work_type: str, rng: np.random.Generator) -> dt.date:
    """A start between spring 2021 and spring 2027, in the building season unless urgent."""
    year = int(rng.integers(2021, 2028))
    month = (
        int(rng.integers(1, 13))
        if work_type == "emergency_repair"
        else int(rng.integers(SEASON_START, SEASON_END + 1))
    )
    if year == 2027:
        month = min(month, 5)
    return dt.date(year, month, int(rng.integers(1, 29)))


class RoadRuns:
    """Runs of consecutive segments along one road, found through their shared end points."""

    def __init__(self, roads: gpd.GeoDataFrame) -> None:
        lines = roads.geometry.values
        first = np.round(shapely.get_coordinates(shapely.get_point(lines, 0)), 2)
        last = np.round(shapely.get_coordinates(shapely.get_point(lines, -1)), 2)
        self.ends = [(tuple(a), tuple(b)) for a, b in zip(first, last, strict=True)]
        self.numbers = roads["road_number"].to_numpy()
        self.lengths = roads["length_km"].to_numpy()
        self.touching: dict[tuple[object, str], list[int]] = {}
        for row, (a, b) in enumerate(self.ends):
            for point in (a, b):
                self.touching.setdefault((point, self.numbers[row]), []).append(row)

    def run(self, first: int, km: float, busy: np.ndarray) -> np.ndarray:
        """Free segments of the road of `first`, from it onwards (then backwards) along the
        road until about `km` long, in order along the road."""
        run, total = [first], float(self.lengths[first])
        for forward in (True, False):
            tip = self.ends[first][1 if forward else 0]
            while total < km:
                step = [
                    r
                    for r in self.touching[(tip, self.numbers[first])]
                    if r not in run and not busy[r]
                ]
                if not step:
                    break
                row = min(step)
                run.insert(len(run) if forward else 0, row)
                total += float(self.lengths[row])
                a, b = self.ends[row]
                tip = b if a == tip else a
        return np.asarray(run)


def plan_works(roads: gpd.GeoDataFrame, count: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """`count` works (UTM 43N) on runs of free consecutive segments of one road of `roads`
    (needs `id`, `road_number`, `road_class`, `surface`, `iri_m_per_km`, `length_km`),
    chosen by class weight and roughness."""
    road_class = roads["road_class"].to_numpy()
    columns = {
        name: roads[name].to_numpy()
        for name in ("id", "road_number", "road_class", "surface", "length_km")
    }
    columns["geometry"] = roads.geometry.values
    weight = np.vectorize(CLASS_WEIGHT.get)(road_class) * roads["length_km"].to_numpy()
    rough = weight * roads["iri_m_per_km"].to_numpy() ** 1.5
    busy = np.zeros(len(roads), bool)
    runs = RoadRuns(roads)
    rows: list[dict[str, object]] = []
    attempts = 0
    while len(rows) < count and attempts < 20 * count:
        attempts += 1
        probabilities = (rough if rng.random() < 0.5 else weight) * ~busy
        first = int(rng.choice(len(roads), p=probabilities / probabilities.sum()))
        cls = road_class[first]
        work_type = str(rng.choice(WORK_TYPES, p=TYPE_SHARES[cls]))
        km = rng.uniform(*STRETCH_KM[work_type])
        run = runs.run(first, km, busy)
        busy[run] = True
        start_date = _start_date(work_type, rng)
        end_date = start_date + dt.timedelta(days=int(rng.integers(*DURATION_DAYS[work_type])))
        length = float(columns["length_km"][run].sum())
        rows.append(_work(columns, run, work_type, start_date, end_date, length, rng))
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=roads.crs)


def _work(
    roads: dict[str, np.ndarray],
    run: np.ndarray,
    work_type: str,
    start: dt.date,
    end: dt.date,
    length_km: float,
    rng: np.random.Generator,
) -> dict[str, object]:
    status = (
        "planned"
        if start > REFERENCE_DATE
        else "in_progress"
        if end >= REFERENCE_DATE
        else "completed"
    )
    per_km = rng.uniform(*MILLION_KGS_PER_KM[work_type]) * 1e6
    first = run[0]
    if roads["road_class"][first] == "local":
        per_km *= 0.5
    budget = per_km * length_km if work_type != "emergency_repair" else per_km * max(length_km, 0.3)
    accepted = iri = None
    if status == "completed":
        accepted = min(end + dt.timedelta(days=int(rng.integers(3, 45))), REFERENCE_DATE)
        paved = roads["surface"][first] in ("asphalt", "concrete")
        iri = round(
            float(rng.uniform(*(ACCEPTANCE_IRI[work_type] if paved else UNPAVED_ACCEPTANCE_IRI))), 1
        )
    geometry = shapely.line_merge(shapely.union_all(roads["geometry"][run]))
    return {
        "road_id": int(roads["id"][first]),
        "road_number": roads["road_number"][first],
        "work_type": work_type,
        "start_date": start,
        "end_date": end,
        "contractor": str(rng.choice(CONTRACTORS)),
        "budget_kgs": int(round(budget, -3)),
        "status": status,
        "acceptance_date": accepted,
        "acceptance_iri_m_per_km": iri,
        "length_km": round(length_km, 2),
        "segment_ids": roads["id"][run],
        "geometry": shapely.MultiLineString(shapely.get_parts(geometry).tolist()),
    }


def apply_completed_works(
    roads: gpd.GeoDataFrame, works: gpd.GeoDataFrame, rng: np.random.Generator
) -> None:
    """Completed works set the roughness of their segments to the accepted value plus the
    wear since (paved: 0.1-0.3 m/km a year, unpaved: 0.6-1.5), and the survey date to no
    earlier than the acceptance. Changes `roads` in place."""
    position = {int(i): k for k, i in enumerate(roads["id"].to_numpy())}
    iri = roads["iri_m_per_km"].to_numpy().copy()
    survey = roads["last_survey"].to_numpy().copy()
    paved = np.isin(roads["surface"].to_numpy(), ["asphalt", "concrete"])
    done = works[works["status"] == "completed"].sort_values("acceptance_date", kind="stable")
    for ids, accepted, value in zip(
        done["segment_ids"], done["acceptance_date"], done["acceptance_iri_m_per_km"], strict=True
    ):
        rows = np.array([position[int(i)] for i in ids])
        years = (REFERENCE_DATE - accepted).days / 365.25
        wear = np.where(
            paved[rows], rng.uniform(0.1, 0.3, len(rows)), rng.uniform(0.6, 1.5, len(rows))
        )
        iri[rows] = np.clip(value + wear * years, 1.5, 20.0).round(1)
        for row in rows.tolist():
            survey[row] = max(survey[row], accepted)
    roads["iri_m_per_km"] = iri
    roads["last_survey"] = survey
    roads["condition"] = condition_from_iri(iri, roads["surface"].to_numpy())
