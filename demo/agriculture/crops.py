"""Crop seasons of the plots, 2023-2026: rotations, sowing dates, inputs and yields by region.

A plot gets one main crop per harvest year. Orchards stay orchards; alfalfa is kept three
years or so; winter wheat and barley are sown in the autumn before their harvest (most of
them in the Chui and Fergana valleys, few in Naryn). In the warm lowlands, irrigated plots
often carry a second crop sown in July after the wheat harvest, and some early potatoes and
vegetables are planted in February. Records run to June 2026: crops not harvested by then have
no yield yet. The season is the sowing season (winter = December-February).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

YEARS = (2023, 2024, 2025, 2026)
HORIZON = np.datetime64("2026-06-30")
CROPS = [
    "wheat",
    "barley",
    "maize",
    "cotton",
    "sugar_beet",
    "potato",
    "beans",
    "alfalfa",
    "rice",
    "sunflower",
    "tobacco",
    "orchard",
    "vegetables",
]
C = {name: index for index, name in enumerate(CROPS)}
REGIONS = ["Chuy", "Talas", "Ysyk-Köl", "Naryn", "Osh", "Jalal-Abad", "Batken"]
FERGANA = {"Osh", "Jalal-Abad", "Batken"}
RICE_RAYONS = {"Uzgen", "Kara-Suu", "Aravan"}

IRRIGATED_MIX = {  # share of the main crop on irrigated plots, by oblast
    "Chuy": dict(
        wheat=22,
        barley=12,
        maize=14,
        sugar_beet=10,
        potato=7,
        alfalfa=12,
        vegetables=8,
        sunflower=5,
        beans=3,
        orchard=7,
    ),
    "Talas": dict(
        beans=40,
        wheat=13,
        barley=10,
        potato=10,
        sugar_beet=6,
        alfalfa=10,
        maize=4,
        vegetables=4,
        orchard=3,
    ),
    "Ysyk-Köl": dict(potato=25, wheat=18, barley=20, alfalfa=12, orchard=13, vegetables=6, beans=6),
    "Naryn": dict(barley=35, wheat=18, potato=22, alfalfa=25),
    "Osh": dict(
        cotton=17,
        wheat=19,
        maize=14,
        tobacco=6,
        vegetables=10,
        orchard=8,
        alfalfa=8,
        potato=5,
        sunflower=4,
        beans=3,
        rice=6,
    ),
    "Jalal-Abad": dict(
        cotton=20,
        wheat=20,
        maize=15,
        tobacco=5,
        vegetables=8,
        orchard=9,
        alfalfa=8,
        sunflower=6,
        beans=5,
        potato=4,
    ),
    "Batken": dict(
        orchard=30,
        wheat=20,
        cotton=9,
        maize=10,
        vegetables=11,
        potato=5,
        alfalfa=8,
        tobacco=3,
        beans=4,
    ),
}
RAINFED_MIX = {
    "Chuy": dict(wheat=55, barley=35, sunflower=5, alfalfa=5),
    "Talas": dict(wheat=45, barley=45, alfalfa=10),
    "Ysyk-Köl": dict(wheat=40, barley=50, alfalfa=10),
    "Naryn": dict(barley=60, wheat=30, alfalfa=10),
    "Osh": dict(wheat=60, barley=30, sunflower=5, alfalfa=5),
    "Jalal-Abad": dict(wheat=60, barley=30, sunflower=5, alfalfa=5),
    "Batken": dict(wheat=60, barley=35, alfalfa=5),
}
AUTUMN_SOWN = {
    "Chuy": 0.8,
    "Talas": 0.6,
    "Ysyk-Köl": 0.4,
    "Naryn": 0.1,
    "Osh": 0.9,
    "Jalal-Abad": 0.9,
    "Batken": 0.9,
}
"""Share of wheat and barley sown in the autumn (winter cereals)."""
SPRING_DELAY_DAYS = {
    "Chuy": 0,
    "Talas": 10,
    "Ysyk-Köl": 20,
    "Naryn": 30,
    "Osh": -5,
    "Jalal-Abad": -5,
    "Batken": -5,
}
SOWING_WINDOW = {  # first day of the spring sowing in the lowlands (day of year), days long
    "wheat": (68, 35),
    "barley": (68, 35),
    "maize": (105, 30),
    "cotton": (95, 25),
    "sugar_beet": (91, 25),
    "potato": (91, 35),
    "beans": (125, 25),
    "alfalfa": (79, 30),
    "rice": (121, 25),
    "sunflower": (105, 25),
    "tobacco": (121, 30),
    "orchard": (74, 25),
    "vegetables": (79, 60),
}
YIELD_T_HA = {  # irrigated, rain-fed (t/ha; raw cotton, alfalfa hay, fruit)
    "wheat": (3.6, 1.5),
    "barley": (2.9, 1.3),
    "maize": (6.5, 2.5),
    "cotton": (3.0, 1.0),
    "sugar_beet": (32.0, 10.0),
    "potato": (18.0, 7.0),
    "beans": (1.9, 0.8),
    "alfalfa": (9.0, 2.5),
    "rice": (4.5, 1.5),
    "sunflower": (1.9, 1.0),
    "tobacco": (2.2, 1.0),
    "orchard": (10.0, 4.0),
    "vegetables": (24.0, 8.0),
}
YEAR_FACTOR = {2023: 1.0, 2024: 1.05, 2025: 0.9, 2026: 1.0}
FERTILISERS = ["ammonium_nitrate", "urea", "ammophos", "superphosphate", "manure", "none"]
FERTILISER_RATE = {
    "ammonium_nitrate": (100, 300),
    "urea": (80, 220),
    "ammophos": (80, 200),
    "superphosphate": (60, 200),
    "manure": (10_000, 30_000),
    "none": (0, 0),
}
PESTICIDES = [
    "none",
    "glyphosate",
    "2_4_d",
    "tebuconazole",
    "lambda_cyhalothrin",
    "imidacloprid",
    "mancozeb",
]
PESTICIDE_RATE = {
    "none": (0.0, 0.0),
    "glyphosate": (2.0, 4.0),
    "2_4_d": (0.8, 1.5),
    "tebuconazole": (0.5, 1.0),
    "lambda_cyhalothrin": (0.1, 0.3),
    "imidacloprid": (0.1, 0.3),
    "mancozeb": (1.5, 2.5),
}
PESTICIDE_BY_CROP = {
    "wheat": ("2_4_d", "tebuconazole"),
    "barley": ("2_4_d",),
    "maize": ("glyphosate",),
    "cotton": ("imidacloprid", "lambda_cyhalothrin"),
    "sugar_beet": ("lambda_cyhalothrin",),
    "potato": ("mancozeb", "imidacloprid"),
    "beans": ("lambda_cyhalothrin",),
    "alfalfa": ("none",),
    "rice": ("2_4_d",),
    "sunflower": ("glyphosate",),
    "tobacco": ("imidacloprid",),
    "orchard": ("lambda_cyhalothrin", "mancozeb"),
    "vegetables": ("mancozeb", "imidacloprid"),
}


def _mix(table: dict[str, dict[str, int]]) -> np.ndarray:
    """Probabilities (region x crop) of a mix table."""
    out = np.zeros((len(REGIONS), len(CROPS)))
    for r, region in enumerate(REGIONS):
        for crop, share in table[region].items():
            out[r, C[crop]] = share
    return out / out.sum(axis=1, keepdims=True)


def _draw(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One category per row of a probability matrix."""
    cumulative = probabilities.cumsum(axis=1)
    u = rng.random(len(probabilities))[:, None] * cumulative[:, -1:]
    return (u > cumulative).sum(axis=1)


def main_crops(plots: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Main crop (index into CROPS) of every plot (rows) and harvest year (columns)."""
    region = plots["oblast"].map({r: i for i, r in enumerate(REGIONS)}).to_numpy()
    irrigated = (plots["irrigation"] == "irrigated").to_numpy()
    elevation = plots["elevation_m"].to_numpy()
    mix = np.where(irrigated[:, None], _mix(IRRIGATED_MIX)[region], _mix(RAINFED_MIX)[region])
    mix[elevation >= 1_200, C["cotton"]] = 0.0
    in_rice_zone = plots["rayon"].isin(RICE_RAYONS).to_numpy() & (elevation < 1_100)
    mix[~in_rice_zone, C["rice"]] = 0.0
    is_orchard = rng.random(len(plots)) < mix[:, C["orchard"]]
    mix[:, C["orchard"]] = 0.0
    crops = np.empty((len(plots), len(YEARS)), dtype=np.int64)
    later = mix.copy()
    later[:, C["alfalfa"]] *= 0.35  # new stands only: most alfalfa is kept from the year before
    for year in range(len(YEARS)):
        crops[:, year] = _draw(rng, later if year else mix)
        if year:
            keep_alfalfa = (crops[:, year - 1] == C["alfalfa"]) & (rng.random(len(plots)) < 0.65)
            crops[keep_alfalfa, year] = C["alfalfa"]
    crops[is_orchard] = C["orchard"]
    return crops


def _dates(year: np.ndarray, day: np.ndarray) -> np.ndarray:
    return (year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + day.astype(
        "timedelta64[D]"
    )


def _sowing(plots: pd.DataFrame, crops: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Sowing records (plot row, crop, sowing date, second crop flag) of the main crops and
    of the second and early crops."""
    n = len(plots)
    region = plots["oblast"].to_numpy()
    irrigated = (plots["irrigation"] == "irrigated").to_numpy()
    elevation = plots["elevation_m"].to_numpy()
    delay = pd.Series(region).map(SPRING_DELAY_DAYS).to_numpy() + np.clip(
        (elevation - 900.0) / 50.0, -10, 30
    )
    autumn_share = pd.Series(region).map(AUTUMN_SOWN).to_numpy()
    lowland_warm = irrigated & np.isin(region, ["Chuy", *FERGANA]) & (elevation < 1_000)
    records = []
    for column, harvest in enumerate(YEARS):
        crop = crops[:, column]
        cereal = np.isin(crop, [C["wheat"], C["barley"]])
        autumn = cereal & (rng.random(n) < autumn_share)
        start = np.array([SOWING_WINDOW[CROPS[c]][0] for c in range(len(CROPS))])[crop]
        length = np.array([SOWING_WINDOW[CROPS[c]][1] for c in range(len(CROPS))])[crop]
        day = start + delay + rng.random(n) * length
        early = (
            np.isin(crop, [C["potato"], C["vegetables"]])
            & lowland_warm
            & np.isin(region, list(FERGANA))
            & (rng.random(n) < 0.3)
        )
        day = np.where(early, 31 + rng.random(n) * 25, day)
        day = np.where(autumn, 262 + rng.random(n) * 40, day)
        year = np.where(autumn, harvest - 1, harvest)
        records.append(
            pd.DataFrame(
                {
                    "row": np.arange(n),
                    "crop": crop,
                    "second": False,
                    "date": _dates(year, np.floor(day)),
                    "harvest": harvest,
                }
            )
        )
        second = autumn & lowland_warm & (rng.random(n) < 0.35) & (harvest < YEARS[-1])
        follow = rng.choice(
            [C["maize"], C["beans"], C["vegetables"], C["sunflower"]],
            size=n,
            p=[0.4, 0.25, 0.25, 0.1],
        )
        records.append(
            pd.DataFrame(
                {
                    "row": np.flatnonzero(second),
                    "crop": follow[second],
                    "second": True,
                    "date": _dates(
                        np.full(second.sum(), harvest),
                        181 + np.floor(rng.random(second.sum()) * 25),
                    ),
                    "harvest": harvest,
                }
            )
        )
    sowing = pd.concat(records, ignore_index=True)
    in_range = (sowing["date"] >= np.datetime64("2023-01-01")) & (sowing["date"] <= HORIZON)
    return sowing[in_range].reset_index(drop=True)


def seasons(plots: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The `agri_plot_seasons` frame of the plots (needs their `id`, `area_ha`, `oblast`,
    `rayon`, `irrigation` and `elevation_m`)."""
    sowing = _sowing(plots, main_crops(plots, rng), rng)
    sowing = sowing.sort_values(["row", "date"], kind="stable").reset_index(drop=True)
    n = len(sowing)
    row = sowing["row"].to_numpy()
    crop = np.array(CROPS)[sowing["crop"].to_numpy()]
    irrigated = (plots["irrigation"] == "irrigated").to_numpy()[row]
    area = plots["area_ha"].to_numpy()[row]
    dates = sowing["date"].to_numpy().astype("datetime64[D]")
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    season = np.select(
        [np.isin(month, [12, 1, 2]), month <= 5, month <= 8],
        ["winter", "spring", "summer"],
        "autumn",
    )
    share = np.where(crop == "orchard", rng.uniform(0.95, 1.0, n), rng.uniform(0.8, 1.0, n))
    sown = np.maximum(np.floor(area * share * 100.0) / 100.0, 0.01)
    fertiliser = np.where(
        irrigated,
        rng.choice(FERTILISERS, size=n, p=[0.35, 0.25, 0.1, 0.1, 0.1, 0.1]),
        rng.choice(FERTILISERS, size=n, p=[0.3, 0.1, 0.0, 0.05, 0.15, 0.4]),
    )
    low, high = (np.array([FERTILISER_RATE[f][i] for f in fertiliser]) for i in (0, 1))
    fertiliser_rate = np.round(low + rng.random(n) * (high - low), -1)
    options = [PESTICIDE_BY_CROP[c] for c in crop]
    pesticide = np.array(
        [o[int(u * len(o))] for o, u in zip(options, rng.random(n), strict=True)], dtype=object
    )
    pesticide[rng.random(n) < np.where(irrigated, 0.25, 0.55)] = "none"
    p_low, p_high = (np.array([PESTICIDE_RATE[p][i] for p in pesticide]) for i in (0, 1))
    pesticide_rate = np.round(p_low + rng.random(n) * (p_high - p_low), 2)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "plot_id": plots["id"].to_numpy()[row],
            "year": dates.astype("datetime64[Y]").astype(int) + 1970,
            "season": season,
            "crop": crop,
            "sowing_date": pd.to_datetime(dates).date,
            "sown_area_ha": sown,
            "fertiliser": fertiliser,
            "fertiliser_kg_ha": fertiliser_rate,
            "pesticide": pesticide.astype(str),
            "pesticide_l_ha": pesticide_rate,
            "yield_t_ha": _yields(sowing, crop, irrigated, rng),
        }
    )


def _yields(
    sowing: pd.DataFrame, crop: np.ndarray, irrigated: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Yield (t/ha), NaN for crops not harvested by the end of June 2026."""
    n = len(crop)
    base = np.array([YIELD_T_HA[c][0] for c in crop])
    rainfed = np.array([YIELD_T_HA[c][1] for c in crop])
    year = sowing["harvest"].map(YEAR_FACTOR).to_numpy()
    value = np.where(irrigated, base, rainfed) * year * rng.lognormal(0.0, 0.15, n)
    value *= np.where(sowing["second"].to_numpy(), 0.7, 1.0)
    failed = rng.random(n) < 0.02  # hail, mudflow, drought
    value = np.where(failed, value * rng.uniform(0.0, 0.3, n), value)
    dates = sowing["date"].to_numpy().astype("datetime64[D]")
    early_2026 = (dates >= np.datetime64("2026-01-01")) & (dates < np.datetime64("2026-03-01"))
    harvested = (sowing["harvest"].to_numpy() < 2026) | early_2026
    return np.where(harvested, np.round(value, 2), np.nan)
