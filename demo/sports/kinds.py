"""The kinds of sports facility: how each looks (seats, athletes, build years, owners,
sections, name patterns), the size classes of the places they stand in, and the club names
the generated facility names draw from."""

from __future__ import annotations

from dataclasses import dataclass

SIZE_SCALE = {"city": 1.0, "town": 0.45, "village": 0.2, "special": 1.0}
CONDITIONS = ("good", "satisfactory", "poor", "dilapidated")
OWNERS = ("state", "municipal", "private", "public_association")
WRESTLING = ["freestyle wrestling", "greco-roman wrestling", "kurosh", "judo", "sambo", "alysh"]


@dataclass(frozen=True)
class FacilityKind:
    """How one type of facility looks: spectator seats, athletes, build years, owners
    (probabilities in `OWNERS` order), sections (the first `core` always offered), names."""

    capacity: tuple[int, int]
    athletes: tuple[int, int]
    years: tuple[int, int]
    owners: tuple[float, float, float, float]
    sections: list[str]
    core: int
    extra: int
    ru: str
    ky: str
    ru_local: str
    ky_local: str


KINDS: dict[str, FacilityKind] = {
    "stadium": FacilityKind(
        (1500, 22000),
        (80, 900),
        (1950, 2023),
        (0.3, 0.6, 0.05, 0.05),
        ["football", "athletics", "futsal"],
        1,
        1,
        "Стадион «{n}»",
        "«{n}» стадиону",
        "Центральный стадион {p}",
        "{k} борбордук стадион",
    ),
    "sports_hall": FacilityKind(
        (150, 3000),
        (60, 600),
        (1960, 2024),
        (0.25, 0.45, 0.25, 0.05),
        [
            "volleyball",
            "basketball",
            "futsal",
            "boxing",
            "judo",
            "taekwondo",
            "gymnastics",
            "table tennis",
            "kickboxing",
            "chess",
            "togyz korgool",
        ],
        0,
        4,
        "Спорткомплекс «{n}»",
        "«{n}» спорт комплекси",
        "Спортзал {p}",
        "{k} спорт залы",
    ),
    "swimming_pool": FacilityKind(
        (50, 800),
        (50, 500),
        (1965, 2024),
        (0.2, 0.4, 0.4, 0.0),
        ["swimming", "water polo", "diving"],
        1,
        1,
        "Бассейн «{n}»",
        "«{n}» сууда сүзүү бассейни",
        "Бассейн {p}",
        "{k} бассейн",
    ),
    "football_pitch": FacilityKind(
        (0, 1500),
        (20, 220),
        (1970, 2024),
        (0.05, 0.7, 0.15, 0.1),
        ["football", "futsal"],
        1,
        1,
        "Футбольное поле «{n}»",
        "«{n}» футбол талаасы",
        "Футбольное поле {p}",
        "{k} футбол талаасы",
    ),
    "gym": FacilityKind(
        (0, 0),
        (40, 700),
        (2005, 2024),
        (0.0, 0.05, 0.9, 0.05),
        ["fitness", "weightlifting", "powerlifting", "boxing", "arm wrestling", "mas-wrestling"],
        1,
        2,
        "Фитнес-клуб «{n}»",
        "«{n}» фитнес клубу",
        "Тренажёрный зал {p}",
        "{k} машыгуу залы",
    ),
    "ski_base": FacilityKind(
        (0, 0),
        (50, 600),
        (1960, 2019),
        (0.4, 0.0, 0.5, 0.1),
        ["alpine skiing", "cross-country skiing", "snowboard", "biathlon"],
        1,
        2,
        "Лыжная база «{n}»",
        "«{n}» лыжа базасы",
        "Лыжная база {p}",
        "{k} лыжа базасы",
    ),
    "hippodrome": FacilityKind(
        (2000, 10000),
        (30, 300),
        (1955, 2014),
        (0.2, 0.4, 0.0, 0.4),
        ["kok-boru", "at chabysh", "kyz kuumai", "equestrian"],
        2,
        2,
        "Ипподром «{n}»",
        "«{n}» ипподрому",
        "Ипподром {p}",
        "{k} ипподром",
    ),
    "wrestling_hall": FacilityKind(
        (100, 1500),
        (40, 400),
        (1970, 2024),
        (0.3, 0.4, 0.1, 0.2),
        WRESTLING,
        1,
        2,
        "Зал борьбы «{n}»",
        "«{n}» күрөш залы",
        "Зал борьбы {p}",
        "{k} күрөш залы",
    ),
    "tennis_court": FacilityKind(
        (0, 2500),
        (20, 250),
        (1985, 2024),
        (0.0, 0.3, 0.6, 0.1),
        ["tennis"],
        1,
        0,
        "Теннисный корт «{n}»",
        "«{n}» теннис корту",
        "Теннисный корт {p}",
        "{k} теннис корту",
    ),
    "sports_school": FacilityKind(
        (0, 300),
        (150, 1500),
        (1955, 2018),
        (0.4, 0.6, 0.0, 0.0),
        [
            "football",
            "freestyle wrestling",
            "greco-roman wrestling",
            "boxing",
            "judo",
            "athletics",
            "volleyball",
            "basketball",
            "kurosh",
            "taekwondo",
            "chess",
            "weightlifting",
            "kok-boru",
        ],
        0,
        5,
        "ДЮСШ №{n} {p}",
        "{k} №{n} балдар-өспүрүмдөр спорт мектеби",
        "ДЮСШ {p}",
        "{k} балдар-өспүрүмдөр спорт мектеби",
    ),
}
FACILITY_TYPES = tuple(KINDS)
NAMES = [
    "Спартак",
    "Динамо",
    "Манас",
    "Ала-Тоо",
    "Алга",
    "Достук",
    "Келечек",
    "Жаштык",
    "Олимп",
    "Локомотив",
    "Энергетик",
    "Тулпар",
    "Илбирс",
    "Ак-Жол",
    "Чемпион",
    "Арстан",
    "Семетей",
    "Байтерек",
    "Эр-Төштүк",
    "Нуржолдош",
    "Ак-Бата",
    "Мурас",
    "Береке",
    "Дельфин",
    "Нептун",
    "Атлет",
    "Титан",
    "Бүркүт",
    "Баатыр",
    "Темир",
    "Жеңиш",
    "Ордо",
    "Ынтымак",
    "Кутман",
    "Асман",
    "Айкөл",
    "Тянь-Шань",
    "Сокол",
    "Восток",
    "Заря",
    "Факел",
    "Старт",
    "Рекорд",
    "Медет",
    "Акжар",
    "Сузак",
    "Улан",
    "Көк-Жал",
    "Шумкар",
    "Алтын-Күз",
]
