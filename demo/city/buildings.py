"""The buildings of the city twins: the two plans, their lots and footprints, the buildings'
attributes and addresses, and the sample of blocks kept at the requested scale.

`city_model(ctx)` is shared by the city and cadastre themes (the cadastre splits the same
blocks into parcels around the same buildings) and is computed once per scale and seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from demo.city.layout import SPECS, CityPlan, build_plan
from demo.city.lots import FRONT_E, FRONT_N, FRONT_S, all_lots
from demo.context import Context

USES = (
    "residential",
    "commercial",
    "public",
    "industrial",
    "education",
    "health",
    "religious",
    "mixed",
)

FLOOR_HEIGHT_M = {
    "residential": (2.8, 3.1),
    "mixed": (2.9, 3.3),
    "commercial": (3.3, 4.0),
    "public": (3.3, 4.0),
    "education": (3.3, 3.8),
    "health": (3.3, 3.8),
    "industrial": (4.5, 6.0),
    "religious": (4.0, 5.0),
}

# btype: uses and weights, floors and weights, (first, last) years built, pitched roof.
TYPOLOGY: dict[
    str,
    tuple[
        tuple[str, ...],
        tuple[float, ...],
        tuple[int, ...],
        tuple[float, ...],
        tuple[int, int],
        bool,
    ],
] = {
    "slab5": (("residential", "mixed"), (0.9, 0.1), (4, 5), (0.15, 0.85), (1960, 1976), False),
    "slab9": (("residential", "mixed"), (0.9, 0.1), (9, 12), (0.8, 0.2), (1972, 1991), False),
    "tower": (("residential",), (1.0,), (12, 14, 16), (0.4, 0.3, 0.3), (1978, 1991), False),
    "school": (("education",), (1.0,), (3, 4), (0.6, 0.4), (1962, 1990), False),
    "kindergarten": (("education",), (1.0,), (2,), (1.0,), (1965, 1990), False),
    "clinic": (("health",), (1.0,), (3, 4, 5), (0.4, 0.4, 0.2), (1965, 1990), False),
    "shop": (("commercial",), (1.0,), (1, 2), (0.6, 0.4), (1970, 2018), False),
    "inner": (
        ("residential", "commercial", "education", "health", "public"),
        (0.35, 0.2, 0.2, 0.1, 0.15),
        (2, 3, 4, 5, 9),
        (0.2, 0.25, 0.25, 0.2, 0.1),
        (1950, 2020),
        False,
    ),
    "hr_tower": (
        ("residential", "mixed", "commercial"),
        (0.75, 0.2, 0.05),
        (12, 14, 16, 18, 20, 25),
        (0.25, 0.2, 0.2, 0.15, 0.12, 0.08),
        (2005, 2025),
        False,
    ),
    "hr_section": (
        ("residential", "mixed"),
        (0.8, 0.2),
        (9, 10, 12, 14, 16),
        (0.2, 0.2, 0.25, 0.2, 0.15),
        (2005, 2025),
        False,
    ),
    "shed": (
        ("industrial", "commercial"),
        (0.8, 0.2),
        (1, 2, 3),
        (0.6, 0.3, 0.1),
        (1955, 1990),
        False,
    ),
    "campus": (
        ("education", "health", "public"),
        (0.45, 0.3, 0.25),
        (3, 4, 5, 6),
        (0.3, 0.35, 0.25, 0.1),
        (1950, 2015),
        False,
    ),
}
PERIMETER_ERAS = (  # share, (first, last), floors, floor weights
    (0.25, (1936, 1959), (2, 3, 4), (0.3, 0.4, 0.3)),
    (0.35, (1960, 1991), (4, 5, 9), (0.2, 0.55, 0.25)),
    (0.12, (1992, 2004), (3, 5, 9), (0.3, 0.4, 0.3)),
    (0.28, (2005, 2025), (6, 9, 12, 16), (0.2, 0.3, 0.3, 0.2)),
)
PERIMETER_USES = (
    ("mixed", "residential", "commercial", "public", "education", "health", "religious"),
    (0.30, 0.30, 0.22, 0.10, 0.04, 0.03, 0.01),
)


@dataclass(frozen=True)
class CityModel:
    """Both plans and the lots of the blocks kept at this scale (`city` = index in
    `plans`); lots with `btype` != "" hold a building, with its attributes."""

    plans: tuple[CityPlan, ...]
    lots: pd.DataFrame

    @property
    def buildings(self) -> pd.DataFrame:
        """The lots that hold a building."""
        return self.lots[self.lots.btype != ""]


_CACHE: dict[tuple[str, int, str], CityModel] = {}


def city_model(ctx: Context) -> CityModel:
    """The city model of this context's scale and seed (computed once, then reused)."""
    key = (ctx.scale.name, ctx.seed, str(ctx.data_dir))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _build_model(ctx)
    return _CACHE[key]


def city_rngs(ctx: Context) -> list[np.random.Generator]:
    """Independent random streams of the city theme: layout, lots, attributes, sample,
    utility lines, sensors (all from `ctx.rng("city")`)."""
    return ctx.rng("city").spawn(6)


def _build_model(ctx: Context) -> CityModel:
    layout_rng, lots_rng, attr_rng, pick_rng = city_rngs(ctx)[:4]
    plans = tuple(build_plan(ctx, spec, layout_rng) for spec in SPECS)
    frames = []
    for index, plan in enumerate(plans):
        lots = _fit_to_blocks(plan, all_lots(plan.blocks, lots_rng))
        blocks = plan.blocks.loc[lots.block]
        lots = lots.assign(
            city=index,
            superblock=blocks.superblock.to_numpy(),
            zone=blocks.zone.to_numpy(),
            kind=blocks.kind.to_numpy(),
            district=blocks.district.to_numpy(),
        )
        lots = _attributes(plan, lots, attr_rng)
        frames.append(_addresses(plan, lots))
    lots = pd.concat(frames, ignore_index=True)
    return CityModel(plans, _sample_blocks(lots, ctx.scale.buildings, pick_rng))


def _fit_to_blocks(plan: CityPlan, lots: pd.DataFrame) -> pd.DataFrame:
    """Drop footprints that leave a block cut by the city boundary (or Sulaiman-Too)."""
    cut = ~plan.blocks.inside.to_numpy()[lots.block] & (lots.btype != "").to_numpy()
    boxes = shapely.box(lots.fu0[cut], lots.fv0[cut], lots.fu1[cut], lots.fv1[cut])
    within = shapely.contains_properly(plan.blocks.geometry.to_numpy()[lots.block[cut]], boxes)
    lots.loc[np.flatnonzero(cut)[~within], "btype"] = ""
    return lots


def _pick(
    rng: np.random.Generator, mask: np.ndarray, values: tuple, weights: tuple[float, ...]
) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(values)[rng.choice(len(values), size=int(mask.sum()), p=p / p.sum())]


def _attributes(plan: CityPlan, lots: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """use, floors, year_built, height_m by building type, zone and distance to the centre."""
    n = len(lots)
    use = np.full(n, "", dtype=object)
    floors = np.zeros(n, dtype=int)
    year = np.zeros(n, dtype=int)
    pitched = np.zeros(n, dtype=bool)
    btype = lots.btype.to_numpy()
    for name, (uses, uw, fl, fw, (first, last), is_pitched) in TYPOLOGY.items():
        m = btype == name
        use[m] = _pick(rng, m, uses, uw)
        floors[m] = _pick(rng, m, fl, fw)
        year[m] = rng.integers(first, last + 1, m.sum())
        pitched[m] = is_pitched
    _houses(plan, lots, rng, use, floors, year, pitched)
    m = btype == "perimeter"
    use[m] = _pick(rng, m, *PERIMETER_USES)
    era = rng.choice(len(PERIMETER_ERAS), size=m.sum(), p=[e[0] for e in PERIMETER_ERAS])
    for k, (_, (first, last), fl, fw) in enumerate(PERIMETER_ERAS):
        idx = np.flatnonzero(m)[era == k]
        year[idx] = rng.integers(first, last + 1, len(idx))
        floors[idx] = _pick(rng, np.ones(len(idx), bool), fl, fw)
    low, high = np.array([FLOOR_HEIGHT_M.get(u, (3.0, 3.0)) for u in use]).T
    roof = np.where(pitched, rng.uniform(1.5, 3.2, n), rng.uniform(0.6, 1.6, n))
    height = np.round(floors * (low + rng.random(n) * (high - low)) + roof, 1)
    has_building = btype != ""
    use[~has_building] = None
    return lots.assign(
        use=use,
        floors=np.where(has_building, floors, 0),
        year_built=np.where(has_building, year, 0),
        height_m=np.where(has_building, height, 0),
    )


def _houses(
    plan: CityPlan,
    lots: pd.DataFrame,
    rng: np.random.Generator,
    use: np.ndarray,
    floors: np.ndarray,
    year: np.ndarray,
    pitched: np.ndarray,
) -> None:
    """Private houses: 1-2 storeys; old (1950-1992) near the city, newer (1993-2024) in the
    outer жилмассивы settled since the 1990s; now and then a shop or a mosque."""
    m = (lots.btype == "house").to_numpy()
    sb = plan.superblocks.loc[lots.superblock[m]]
    dist_km = np.hypot((sb.u0 + sb.u1) / 2, (sb.v0 + sb.v1) / 2).to_numpy() / 1000
    p_new = np.clip((dist_km - 2.5) / 6, 0.15, 0.85)
    era_draw = rng.random(len(plan.superblocks))[lots.superblock[m]]
    new = era_draw < p_new
    year[m] = np.where(new, rng.integers(1993, 2025, m.sum()), rng.integers(1950, 1993, m.sum()))
    mosque = 0.012 if plan.spec.name == "Osh" else 0.006
    use[m] = _pick(
        rng,
        m,
        ("residential", "commercial", "mixed", "religious", "education", "health"),
        (0.934, 0.035, 0.015, mosque, 0.004, 0.003),
    )
    floors[m] = _pick(rng, m, (1, 2, 3), (0.72, 0.26, 0.02))
    pitched[m] = use[m] != "religious"


def _addresses(plan: CityPlan, lots: pd.DataFrame) -> pd.DataFrame:
    """Street and number of each building (and vacant house lot): the street its front faces
    (the nearest side of its block when it faces none); numbers grow eastwards and
    southwards, odd on the north and west sides, with letter suffixes (12а, 12б) when two
    buildings share a number."""
    built = (lots.btype != "").to_numpy()
    vacant = ~built & (lots.kind == "private").to_numpy()  # a house lot: it has a number
    blocks = plan.blocks.loc[lots.block]
    fu0, fv0, fu1, fv1 = (
        np.where(built, lots[f].to_numpy(), lots[c].to_numpy())
        for f, c in (("fu0", "cu0"), ("fv0", "cv0"), ("fu1", "cu1"), ("fv1", "cv1"))
    )
    built = built | vacant
    gaps = np.column_stack(
        [
            fv0 - blocks.v0.to_numpy(),
            blocks.v1.to_numpy() - fv1,
            fu0 - blocks.u0.to_numpy(),
            blocks.u1.to_numpy() - fu1,
        ]
    )
    front = lots.front.to_numpy()
    side = np.where(front <= FRONT_E, front, np.nanargmin(np.nan_to_num(gaps, nan=1e9), axis=1))
    street = np.choose(
        side, [blocks[c].to_numpy() for c in ("s_street", "n_street", "w_street", "e_street")]
    )
    # Numbers count from the west (north) end of the street inside the city, all segments
    # of the same name together (a street continuing across arterials).
    streets = plan.streets[shapely.intersects(plan.streets.geometry.to_numpy(), plan.area)]
    box = shapely.bounds(shapely.intersection(streets.geometry.to_numpy(), plan.area))
    ends = (
        pd.DataFrame({"name": streets.name_ru.to_numpy(), "west": box[:, 0], "north": box[:, 3]})
        .groupby("name")
        .agg({"west": "min", "north": "max"})
    )
    names = plan.streets.drop_duplicates("street_id").set_index("street_id").name_ru
    street_name = names.reindex(street).to_numpy()
    west = ends.west.reindex(street_name).to_numpy()
    north = ends.north.reindex(street_name).to_numpy()
    along_ew = (fu0 + fu1) / 2 - west
    along_ns = north - (fv0 + fv1) / 2
    ew = (side == FRONT_S) | (side == FRONT_N)
    odd = (side == FRONT_S) | (side == FRONT_E)
    along = np.nan_to_num(np.where(ew, along_ew, along_ns), nan=0.0)
    arterial = (
        plan.streets.drop_duplicates("street_id")
        .set_index("street_id")
        .kind.reindex(street)
        .to_numpy()
        == "arterial"
    )
    step = np.where(arterial, 45.0, 26.0)  # metres of frontage per number
    number = 2 * (np.maximum(along, 0) // step).astype("int64") + np.where(odd, 1, 2)
    frame = pd.DataFrame({"street": street_name, "number": number})
    dup = np.zeros(len(frame), dtype="int64")
    dup[built] = frame[built].groupby(["street", "number"], sort=False).cumcount().to_numpy()
    letters = np.array(["", "а", "б", "в", "г", "д", "е", "ж", "з", "и", "к"])
    suffix = np.where(
        dup < len(letters), letters[np.minimum(dup, len(letters) - 1)], "/" + dup.astype(str)
    )
    address = frame.street + ", " + frame.number.astype(str) + suffix
    return lots.assign(address=np.where(built, address, None), street_id=street)


LANDMARK_STREETS = ("проспект Чуй,",)
"""Blocks with buildings on these streets come first in every sample (Bishkek's main avenue
is in the demo at every scale: the address search is shown and tested on it)."""


def _sample_blocks(lots: pd.DataFrame, target: int, rng: np.random.Generator) -> pd.DataFrame:
    """Keep whole blocks, in random order, until they hold `target` buildings (all blocks
    when the cities hold fewer): a built-up sample that keeps every kind of block. Blocks of
    apartment buildings, offices and plants come first three times as often as blocks of
    private houses (and Bishkek's 1.6 times as often as Osh's), so that a small sample still
    shows the variety of the cities. Blocks on `LANDMARK_STREETS` come first."""
    built = lots[lots.btype != ""]
    counts = built.groupby(["city", "block"]).size()
    private = built.groupby(["city", "block"]).kind.first() == "private"
    weight = np.where(private.reindex(counts.index).to_numpy(), 1.0, 3.0)
    weight *= np.where(counts.index.get_level_values("city") == 0, 1.6, 1.0)  # Bishkek
    keys = rng.random(len(counts)) ** (1 / weight)  # Efraimidis-Spirakis weighted order
    on_landmark = built[built.address.str.startswith(LANDMARK_STREETS, na=False)]
    keys[counts.index.isin(on_landmark.groupby(["city", "block"]).size().index)] = 2.0
    order = counts.iloc[np.argsort(-keys, kind="stable")]
    keep = order.index[: int(np.searchsorted(order.cumsum().to_numpy(), target)) + 1]
    chosen = pd.MultiIndex.from_frame(lots[["city", "block"]]).isin(keep)
    return lots[chosen].reset_index(drop=True)
