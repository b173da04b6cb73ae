"""Fictional natural persons for the restricted tables: names, PINs and phone numbers.

Every person is invented. The values are valid in form, and drawn from ranges no real
person or subscriber has:

- Names: a Kyrgyz given name and a surname built from another given name with the Russian
  patronymic-style ending (-ов/-ова, -ев/-ева), as most Kyrgyz surnames are; combinations are
  random, so any match with a real person is a coincidence of common names only.
- Personal identification number (PIN, ПИН): 14 digits in the national form, with a serial
  from the range no real person holds (**90000-99999**): the form and the range are the
  cadastre's rules, in `cadastre/pins.py` (`FICTIONAL_SERIALS`, `is_fictional_pin`).
- Phone numbers: `+996 000 NNN NNN`; operator code 000 is not allocated in the Kyrgyz
  numbering plan, so the numbers reach nobody.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cadastre.pins import FICTIONAL_SERIALS, fictional_pin

MALE_NAMES = [
    "Азамат",
    "Айбек",
    "Бакыт",
    "Марат",
    "Нурлан",
    "Талант",
    "Эрлан",
    "Улан",
    "Канат",
    "Бектур",
    "Жыргалбек",
    "Мирлан",
    "Тилек",
    "Алмаз",
    "Эркин",
    "Чынгыз",
    "Медер",
    "Нурбек",
    "Темирлан",
    "Исламбек",
    "Адилет",
    "Баатыр",
    "Кубан",
    "Самат",
]
FEMALE_NAMES = [
    "Айгүл",
    "Айжан",
    "Гүлнара",
    "Жылдыз",
    "Нургүл",
    "Чолпон",
    "Динара",
    "Бүбүсара",
    "Айпери",
    "Мээрим",
    "Асель",
    "Бермет",
    "Элнура",
    "Жазгүл",
    "Назира",
    "Гүлзат",
    "Айнура",
    "Салтанат",
    "Зарина",
    "Умут",
    "Нуриза",
    "Аида",
    "Канымгүл",
    "Асем",
]
SURNAME_STEMS = [
    "Асан",
    "Үсөн",
    "Токтогул",
    "Жумабай",
    "Сыдык",
    "Абдыкадыр",
    "Осмон",
    "Мамбет",
    "Төлөгөн",
    "Касым",
    "Бекмурат",
    "Турдубай",
    "Сатыбалды",
    "Кадыр",
    "Жээнбек",
    "Айдарал",
    "Эшмат",
    "Ташиев",
    "Орозбек",
    "Муратал",
    "Бообек",
    "Сарыбай",
    "Кудайберген",
    "Токон",
]


def _surname(stem: str, female: bool) -> str:
    ending = "ев" if stem[-1] in "йь" or stem.endswith("ев") else "ов"
    base = stem[:-2] if stem.endswith("ев") else stem
    return base + ending + ("а" if female else "")


def names(female: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Full names (surname, given name), one per person; `female` is a boolean array."""
    given = np.where(
        female, rng.choice(FEMALE_NAMES, size=len(female)), rng.choice(MALE_NAMES, size=len(female))
    )
    stems = rng.choice(SURNAME_STEMS, size=len(female))
    return np.array(
        [f"{_surname(s, bool(f))} {g}" for s, g, f in zip(stems, given, female, strict=True)],
        dtype=object,
    )


def pins(female: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fictional 14-digit PINs: sex digit, a date of birth between 1950 and 2004, a serial in
    `FICTIONAL_SERIALS`."""
    start = dt.date(1950, 1, 1).toordinal()
    born = rng.integers(start, dt.date(2004, 12, 31).toordinal() + 1, size=len(female))
    serial = rng.integers(FICTIONAL_SERIALS[0], FICTIONAL_SERIALS[1] + 1, size=len(female))
    out = [
        fictional_pin(female=bool(f), born=dt.date.fromordinal(int(day)), serial=int(number))
        for f, day, number in zip(female, born, serial, strict=True)
    ]
    return np.array(out, dtype=object)


def phones(count: int, rng: np.random.Generator) -> np.ndarray:
    """Fictional phone numbers `+996 000 NNN NNN` (operator code 000 is not allocated)."""
    numbers = rng.integers(0, 1_000_000, size=count)
    return np.array([f"+996 000 {n // 1000:03d} {n % 1000:03d}" for n in numbers], dtype=object)


def plot_operators(plots: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """`agri_plot_operators`: the person running each plot's farm (the same person for every
    plot of a farm, a farm being a run of plots with one name in one rayon); 85 % have a
    phone number on file."""
    farm = plots.groupby(["oblast", "rayon", "farm_name"], sort=False).ngroup().to_numpy()
    count = int(farm.max()) + 1 if len(farm) else 0
    female = rng.random(count) < 0.3
    phone = np.where(rng.random(count) < 0.85, phones(count, rng), None)
    return pd.DataFrame(
        {
            "id": np.arange(1, len(plots) + 1),
            "feature_id": plots["id"].to_numpy(),
            "operator_name": names(female, rng)[farm],
            "operator_pin": pins(female, rng)[farm],
            "operator_phone": phone[farm],
        }
    )


HOLDER_CATEGORIES = ("settlements", "agricultural")
"""Land categories whose parcels are held by natural persons; the rest is state land."""
PRIVATE_USES = (
    "individual_housing",
    "household_plot",
    "arable_irrigated",
    "arable_rainfed",
    "perennial_plantings",
    "hayfield",
    "pasture",
)


def right_holders(parcels: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """`cadastre_right_holders`: natural persons holding rights on the private parcels
    (houses, household plots, farmland): one owner, or a couple or family sharing equally
    (1-4 holders); about 1 in 8 agricultural parcels is leased to one tenant instead."""
    private = parcels[
        parcels["land_category"].isin(HOLDER_CATEGORIES)
        & parcels["designated_use"].isin(PRIVATE_USES)
    ]
    holders = rng.choice([1, 2, 3, 4], p=[0.55, 0.3, 0.1, 0.05], size=len(private))
    leased = (private["land_category"].to_numpy() == "agricultural") & (
        rng.random(len(private)) < 0.125
    )
    holders = np.where(leased, 1, holders)
    feature = np.repeat(private["id"].to_numpy(), holders)
    right = np.repeat(np.where(leased, "lease", "ownership"), holders)
    share = np.repeat(np.round(1.0 / holders, 4), holders)
    female = rng.random(len(feature)) < 0.5
    return pd.DataFrame(
        {
            "id": np.arange(1, len(feature) + 1),
            "feature_id": feature,
            "holder_name": names(female, rng),
            "holder_pin": pins(female, rng),
            "right_type": right,
            "share": share,
        }
    )
