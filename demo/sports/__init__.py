"""Sports facilities in the real settlements of Kyrgyzstan.

Each settlement gets facilities in proportion to its population (Bishkek and Osh many, a
village a football pitch or a sports school), scattered inside its built-up area and denser
towards the centre; ski bases stand in the real ski areas (Ala-Archa and the other gorges of
the Kyrgyz Range, Karakol, Jyrgalan, Too-Ashuu, Naryn) and hippodromes for kok-boru and at
chabysh by the oblast centres. Facility names are fictional, in Kyrgyz or Russian.
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from demo.context import UTM_43N, Context
from demo.sports.kinds import (
    CONDITIONS,
    KINDS,
    NAMES,
    OWNERS,
    SIZE_SCALE,
)
from ingestion.derive import first_cyrillic, kyrgyz_name
from layers.catalogue import declarations_dir

FACILITIES_PER_FACTOR = 1000
"""Facilities at `ctx.scale.factor` 1 (small): 1,000; national (factor 10): 10,000."""
UNKNOWN_POPULATION = 800
"""GeoNames gives 0 for an unknown population: such places are villages."""
NAME_FIXES = {"Manas": "Jalal-Abad", "Kara Suu": "Kara-Suu"}
"""GeoNames names corrected as the `settlements` layer corrects them."""
CYRILLIC_FIXES = {
    "Nookat": ("Ноокат", "Ноокат"),
    "Talas": ("Талас", "Талас"),
    "Kerben": ("Кербен", "Кербен"),
}
"""Russian and Kyrgyz names where GeoNames has none in Cyrillic, or only a former one."""
SURVEY_YEAR = 2024
TOWNS = {
    "Bishkek",
    "Osh",
    "Jalal-Abad",
    "Karakol",
    "Tokmok",
    "Uzgen",
    "Kara-Balta",
    "Balykchy",
    "Naryn",
    "Talas",
    "Razzakov",
    "Kyzyl-Kyya",
    "Batken",
    "Kara-Kul’",
    "Tash-Kumyr",
    "Kant",
    "Toktogul",
    "Nookat",
    "Kochkor-Ata",
    "Suluktu",
    "Cholpon-Ata",
    "Kerben",
    "Aydarken",
    "Kemin",
    "Kaindy",
    "Kara-Suu",
}
"""Settlements with the status of a town (шаар, город); the others are villages."""

SKI_BASES: dict[str, tuple[float, float]] = {
    "Ала-Арча": (74.49, 42.60),
    "Кашка-Суу": (74.53, 42.64),
    "Норус": (74.58, 42.64),
    "Бүркүт уясы": (74.63, 42.66),
    "Чуңкурчак": (74.67, 42.65),
    "Каракол": (78.53, 42.45),
    "Жыргалаң": (78.95, 42.62),
    "Тоо-Ашуу": (73.82, 42.36),
    "Салкын-Төр": (76.12, 41.43),
}
HIPPODROME_TOWNS = (
    "Bishkek",
    "Osh",
    "Jalal-Abad",
    "Karakol",
    "Cholpon-Ata",
    "Naryn",
    "Talas",
    "Batken",
    "Tokmok",
)
MIX_BY_SIZE: dict[str, dict[str, float]] = {
    "city": {
        "stadium": 2,
        "sports_hall": 14,
        "swimming_pool": 5,
        "football_pitch": 22,
        "gym": 24,
        "wrestling_hall": 10,
        "tennis_court": 7,
        "sports_school": 16,
    },
    "town": {
        "stadium": 3,
        "sports_hall": 15,
        "swimming_pool": 3,
        "football_pitch": 30,
        "gym": 12,
        "wrestling_hall": 14,
        "tennis_court": 3,
        "sports_school": 20,
    },
    "village": {
        "stadium": 4,
        "sports_hall": 8,
        "football_pitch": 55,
        "wrestling_hall": 13,
        "sports_school": 20,
    },
}


@functools.cache
def settlement_name_fixes(field: str) -> dict[str, str]:
    """The corrections the `settlements` declaration applies to a derived name field (read
    from 00_base.yaml alone, so a broken declaration of another theme cannot stop us)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = (declarations_dir() / "00_base.yaml").read_text(encoding="utf-8")
    layer = next(
        item for item in yaml.load(text, Loader=loader)["layers"] if item["id"] == "settlements"
    )
    spec = next(f for f in layer["fields"] if f["name"] == field)["source"]
    return {str(k): str(v) for k, v in (spec.get("map") or {}).items()}


def settlement_table(ctx: Context) -> gpd.GeoDataFrame:
    """The settlements inside the country (UTM 43N) with their names in English, Russian and
    Kyrgyz (derived as the `settlements` layer derives them), `oblast`, a population for
    sizing (`people`) and the radius of the built-up area (`radius_m`)."""
    places = ctx.settlements[ctx.settlements.within(ctx.country.geometry.iloc[0])]
    places = places.reset_index(drop=True)
    names = {}
    for field, derive in (("name_ru", first_cyrillic), ("name_ky", kyrgyz_name)):
        fixes = settlement_name_fixes(field)
        names[field] = [
            fixes.get(n, n) if n else None for n in map(derive, places["alternatenames"])
        ]
    english = places["name"].replace(NAME_FIXES).tolist()
    for i, name in enumerate(english):
        if name in CYRILLIC_FIXES:
            names["name_ru"][i], names["name_ky"][i] = CYRILLIC_FIXES[name]
    metric = ctx.to_metric(places[["geometry"]])
    oblasts = ctx.to_metric(ctx.oblasts[["name", "geometry"]])
    joined = gpd.sjoin_nearest(metric, oblasts)
    people = places["population"].fillna(0).astype(int).replace(0, UNKNOWN_POPULATION)
    return gpd.GeoDataFrame(
        {
            "name_en": english,
            "name_ru": [str(r or e) for r, e in zip(names["name_ru"], english, strict=True)],
            "name_ky": [
                str(k or r or e)
                for k, r, e in zip(names["name_ky"], names["name_ru"], english, strict=True)
            ],
            "oblast": joined[~joined.index.duplicated()].sort_index()["name"].to_numpy(),
            "people": people.to_numpy(),
            "is_town": [n in TOWNS and p >= 5000 for n, p in zip(english, people, strict=True)],
            "radius_m": np.clip(10.0 * np.sqrt(people.to_numpy()), 600.0, 9500.0),
        },
        geometry=metric.geometry.values,
        crs=UTM_43N,
    )


def size_class(people: int) -> str:
    """city (100,000+), town (15,000+) or village."""
    return "city" if people >= 100_000 else "town" if people >= 15_000 else "village"


def allocate(people: np.ndarray, total: int) -> np.ndarray:
    """Facilities per settlement: proportional to population^0.9, at least one each, the
    largest remainders rounded up.

    >>> allocate(np.array([900_000, 10_000, 800]), 100).tolist()
    [98, 1, 1]
    """
    weight = people.astype(float) ** 0.9
    share = total * weight / weight.sum()
    counts = np.maximum(np.floor(share).astype(int), 1)
    extra = total - counts.sum()
    if extra > 0:
        counts[np.argsort(-(share - np.floor(share)), kind="stable")[:extra]] += 1
    return counts


def built_up_area(
    settlement: pd.Series, urban_m: gpd.GeoSeries, land_m: shapely.Geometry
) -> shapely.Geometry:
    """Where a settlement's facilities stand: a disc of its radius, on land, within the urban
    area polygons that hold the settlement if there are any (UTM 43N). A shore village whose
    point falls in a generalised lake polygon gets the nearby shore (the disc grows)."""
    holders = urban_m[urban_m.contains(settlement.geometry)]
    radius = settlement["radius_m"]
    for grow in (1, 2, 4, 8):
        area = settlement.geometry.buffer(radius * grow, quad_segs=16)
        for holder in holders:
            area = area.intersection(holder.buffer(300))
        area = area.intersection(land_m)
        if area.area >= 0.3 * np.pi * radius**2:
            break
    return area


def scatter(
    rng: np.random.Generator,
    centre: shapely.Point,
    area: shapely.Geometry,
    sigma_m: float,
    count: int,
) -> np.ndarray:
    """`count` points (x, y) inside `area`, denser towards `centre` (Gaussian)."""
    shapely.prepare(area)
    found = np.empty((0, 2))
    for _ in range(50):
        xy = rng.normal([centre.x, centre.y], sigma_m, size=(max(4 * count, 16), 2))
        found = np.vstack([found, xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])]])
        if len(found) >= count:
            break
    inner = area.representative_point()
    missing = max(count - len(found), 0)
    return np.vstack([found, np.repeat([[inner.x, inner.y]], missing, axis=0)])[:count]


def place_facilities(
    rng: np.random.Generator,
    table: gpd.GeoDataFrame,
    counts: np.ndarray,
    urban_m: gpd.GeoSeries,
    land_m: shapely.Geometry,
) -> pd.DataFrame:
    """Facility types and positions, settlement by settlement."""
    rows = []
    for i, settlement in table.iterrows():
        count, size = int(counts[i]), size_class(int(settlement["people"]))
        mix = MIX_BY_SIZE[size]
        chosen = rng.choice(list(mix), size=count, p=np.array(list(mix.values())) / 100)
        if count == 1:
            chosen = rng.choice(["football_pitch", "sports_school"], size=1, p=[0.6, 0.4])
        elif size != "village" and "stadium" not in chosen:
            chosen[0] = "stadium"
        area = built_up_area(settlement, urban_m, land_m)
        xy = scatter(rng, settlement.geometry, area, settlement["radius_m"] / 2, count)
        rows += [
            {
                "settlement": i,
                "facility_type": str(kind),
                "x": x,
                "y": y,
                "size": size,
                "given": None,
            }
            for kind, (x, y) in zip(chosen, xy, strict=True)
        ]
    return pd.DataFrame(rows)


def special_facilities(
    rng: np.random.Generator,
    table: gpd.GeoDataFrame,
    urban_m: gpd.GeoSeries,
    land_m: shapely.Geometry,
) -> pd.DataFrame:
    """Ski bases at their real places; hippodromes on the outskirts of the oblast centres."""
    ski = gpd.GeoSeries(
        gpd.points_from_xy(*zip(*SKI_BASES.values(), strict=True)), crs=4326
    ).to_crs(UTM_43N)
    rows = [
        {
            "settlement": int(np.argmin(table.distance(point).to_numpy())),
            "facility_type": "ski_base",
            "x": point.x,
            "y": point.y,
            "size": "special",
            "given": name,
        }
        for name, point in zip(SKI_BASES, ski, strict=True)
    ]
    for town in HIPPODROME_TOWNS:
        index = int(np.flatnonzero(table["name_en"].to_numpy() == town)[0])
        centre, radius = table.geometry.iloc[index], table["radius_m"].iloc[index]
        outskirts = built_up_area(table.iloc[index], urban_m, land_m).difference(
            centre.buffer(radius * 0.5)
        )
        ((x, y),) = scatter(rng, centre, outskirts, radius, 1)
        rows.append(
            {
                "settlement": index,
                "facility_type": "hippodrome",
                "x": x,
                "y": y,
                "size": "special",
                "given": None,
            }
        )
    return pd.DataFrame(rows)


def facility_names(
    rng: np.random.Generator, facilities: pd.DataFrame, table: gpd.GeoDataFrame
) -> list[str]:
    """Names in Kyrgyz or Russian: «quoted» names drawn without repeats in a settlement,
    numbered sports schools, and the settlement's own name for village facilities."""
    names: list[str] = [""] * len(facilities)
    for (index, kind_name), group in facilities.groupby(["settlement", "facility_type"]):
        kind, place = KINDS[str(kind_name)], table.iloc[int(index)]
        is_city = place["people"] >= 10_000
        ru_place = ("г. " if place["is_town"] else "с. ") + place["name_ru"]
        ky_place = place["name_ky"] + (" шаарындагы" if place["is_town"] else " айылындагы")
        rounds = range(-(-len(group) // len(NAMES)) + 1, 0, -1)
        pool = [f"{n}-{r}" if r > 1 else n for r in rounds for n in rng.permutation(NAMES)]
        local = not is_city
        for serial, (row, given) in enumerate(zip(group.index, group["given"], strict=True)):
            kyrgyz = rng.random() < (0.6 if not is_city else 0.45)
            quoted, own = (kind.ky, kind.ky_local) if kyrgyz else (kind.ru, kind.ru_local)
            if isinstance(given, str) or kind_name == "hippodrome":
                label = (
                    given if isinstance(given, str) else place["name_ky" if kyrgyz else "name_ru"]
                )
                names[row] = quoted.format(n=label)
            elif kind_name == "sports_school" and is_city:
                names[row] = quoted.format(n=serial + 1, p=ru_place, k=ky_place)
            elif local or kind_name == "sports_school" or not pool:
                suffix = f" №{serial + 1}" if serial else ""
                names[row] = own.format(p=ru_place, k=ky_place) + suffix
            else:
                names[row] = quoted.format(n=pool.pop())
    return names


def facility_attributes(
    rng: np.random.Generator, types: np.ndarray, sizes: np.ndarray
) -> dict[str, np.ndarray]:
    """Seats, sections, athletes, owner, year built and condition of each facility: seats and
    athletes scale with the settlement, old buildings are more often in poor condition."""
    n = len(types)
    out = {
        "capacity": np.zeros(n, dtype=int),
        "sections": np.empty(n, dtype=object),
        "athletes_count": np.zeros(n, dtype=int),
        "owner_kind": np.empty(n, dtype=object),
        "year_built": np.zeros(n, dtype=int),
    }
    scale = np.array([SIZE_SCALE[s] for s in sizes])
    for name in sorted(set(types.tolist())):
        kind, rows = KINDS[name], np.flatnonzero(types == name)
        low, high = kind.capacity
        seats = low + (high - low) * rng.random(len(rows)) ** 2 * scale[rows]
        seats = np.round(seats, -1).astype(int)
        out["capacity"][rows] = np.where(seats < 50, 0, seats)
        low, high = kind.athletes
        out["athletes_count"][rows] = np.round(
            low + (high - low) * rng.random(len(rows)) * np.sqrt(scale[rows])
        ).astype(int)
        out["owner_kind"][rows] = rng.choice(OWNERS, size=len(rows), p=kind.owners)
        old_until = 1991 if name in ("stadium", "hippodrome") else kind.years[1]
        years = rng.integers(kind.years[0], old_until + 1, size=len(rows))
        renewed = rng.random(len(rows)) < 0.2
        years[renewed] = rng.integers(2008, kind.years[1] + 1, size=int(renewed.sum()))
        out["year_built"][rows] = years
        for row in rows.tolist():
            extra = rng.permutation(kind.sections[kind.core :])[: rng.integers(0, kind.extra + 1)]
            chosen = [*kind.sections[: kind.core], *extra.tolist()] or kind.sections[:1]
            out["sections"][row] = ", ".join(chosen)
    age = SURVEY_YEAR - out["year_built"]
    odds = np.where(
        age[:, None] < 10,
        [0.7, 0.25, 0.05, 0.0],
        np.where(age[:, None] < 30, [0.3, 0.45, 0.2, 0.05], [0.1, 0.4, 0.35, 0.15]),
    )
    draw = rng.random(n)[:, None] > np.cumsum(odds, axis=1)
    out["condition"] = np.array(CONDITIONS)[np.minimum(draw.sum(axis=1), 3)]
    return out


def generate(ctx: Context) -> dict[str, pd.DataFrame]:
    """The `sports_facilities` layer (Point, EPSG:4326)."""
    rng = ctx.rng("sports")
    table = settlement_table(ctx)
    land_m = (
        ctx.to_metric(ctx.country).geometry.iloc[0].difference(ctx.to_metric(ctx.lakes).union_all())
    )
    urban_m = pd.concat(
        [ctx.to_metric(ctx.urban_areas).geometry, ctx.to_metric(ctx.bishkek_boundary).geometry],
        ignore_index=True,
    )
    specials = special_facilities(rng, table, urban_m, land_m)
    total = round(FACILITIES_PER_FACTOR * ctx.scale.factor) - len(specials)
    counts = allocate(table["people"].to_numpy(), total)
    placed = place_facilities(rng, table, counts, urban_m, land_m)
    facilities = pd.concat([specials, placed], ignore_index=True)
    points = gpd.GeoSeries(gpd.points_from_xy(facilities["x"], facilities["y"]), crs=UTM_43N)
    under = gpd.sjoin_nearest(
        gpd.GeoDataFrame(geometry=points), ctx.to_metric(ctx.oblasts[["name", "geometry"]])
    )
    under = under[~under.index.duplicated()].sort_index()["name"].to_numpy()
    of_settlement = table["oblast"].to_numpy()[facilities["settlement"].to_numpy()]
    attributes = facility_attributes(
        rng, facilities["facility_type"].to_numpy(), facilities["size"].to_numpy()
    )
    frame = gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(facilities) + 1),
            "name": facility_names(rng, facilities, table),
            "facility_type": facilities["facility_type"].to_numpy(),
            **{k: attributes[k] for k in ("capacity", "sections", "athletes_count", "owner_kind")},
            "oblast": np.where(facilities["size"] == "special", under, of_settlement),
            "settlement": table["name_en"].to_numpy()[facilities["settlement"].to_numpy()],
            "year_built": attributes["year_built"],
            "condition": attributes["condition"],
        },
        geometry=points.to_crs(4326).values,
        crs=4326,
    )
    return {"sports_facilities": frame}
