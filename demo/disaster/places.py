"""Real places the hazard zones are drawn around: active faults, mountain roads and passes,
landslide and forest areas, and Russian names of the rivers (coordinates are lon, lat,
approximate: they steer where zones go, the zones themselves come from the terrain)."""

from __future__ import annotations

RIVER_NAMES_RU: dict[str, str] = {
    "Chu": "Чу",
    "Talas": "Талас",
    "Naryn": "Нарын",
    "Kara-Darya": "Карадарья",
    "Chatkal": "Чаткал",
    "Kökömeren": "Кокомерен",
    "Chong-Kemin": "Чон-Кемин",
    "Kyzyl-Suu": "Кызыл-Суу",
    "Ak-Buura": "Ак-Буура",
    "Isfayram-Say": "Исфайрамсай",
}

FAULTS: dict[str, list[tuple[float, float]]] = {
    # Active faults of the seismic zonation: the northern front of the Kyrgyz Range along the
    # Chuy valley, the Kemin-Chilik zone (1911 Kemin earthquake), both shores of Issyk-Kul,
    # the Talas-Fergana strike-slip fault, Suusamyr (1992), both rims of the Fergana valley,
    # the Alay valley (2008 Nura) and the Atbashy-Inylchek zone.
    "chuy": [(72.9, 42.62), (73.6, 42.74), (74.3, 42.76), (74.9, 42.74), (75.6, 42.74)],
    "kemin_chilik": [(75.5, 42.80), (76.3, 42.86), (77.2, 42.96), (78.2, 43.05), (79.1, 43.0)],
    "terskey": [(76.2, 42.22), (77.0, 42.07), (77.9, 42.17), (78.6, 42.40), (79.4, 42.55)],
    "kungey": [(76.3, 42.62), (77.1, 42.72), (78.1, 42.84)],
    "talas_fergana": [
        (71.0, 42.90),
        (72.0, 42.30),
        (72.9, 41.65),
        (73.6, 41.00),
        (74.1, 40.50),
        (74.7, 40.15),
    ],
    "suusamyr": [(73.3, 42.05), (73.9, 42.12), (74.5, 42.10)],
    "north_fergana": [(70.9, 41.20), (71.7, 41.28), (72.4, 41.15), (73.1, 40.92)],
    "south_fergana": [
        (69.3, 40.02),
        (70.4, 40.00),
        (71.4, 40.15),
        (72.4, 40.30),
        (73.2, 40.45),
        (73.9, 40.60),
    ],
    "alay": [(72.2, 39.60), (73.0, 39.55), (73.7, 39.47), (74.3, 39.40)],
    "atbashy_inylchek": [(74.9, 41.00), (75.9, 41.20), (77.0, 41.45), (78.0, 41.75), (79.2, 42.00)],
    "son_kul": [(74.6, 41.95), (75.3, 41.80), (75.9, 41.90)],
}
SEISMIC_CORES = ("kemin_chilik", "suusamyr", "alay", "talas_fergana")
"""Faults whose near field is zoned 9 and more (>= 9) on MSK-64."""

MOUNTAIN_ROADS: dict[str, list[tuple[float, float]]] = {
    # Main roads over the passes, where avalanches close traffic each winter.
    "Бишкек - Ош (Тоо-Ашуу, Ала-Бель)": [
        (73.88, 42.62),
        (73.82, 42.45),
        (73.80, 42.33),
        (73.88, 42.18),
        (73.45, 42.13),
        (73.10, 42.15),
        (73.05, 42.00),
        (72.94, 41.87),
    ],
    "Ош - Сары-Таш - Иркештам (Чийырчык, Талдык)": [
        (72.80, 40.53),
        (73.44, 40.31),
        (73.55, 40.20),
        (73.40, 39.95),
        (73.15, 39.78),
        (73.25, 39.73),
        (73.60, 39.68),
        (73.95, 39.75),
    ],
    "Бишкек - Нарын - Торугарт (Долон)": [
        (75.76, 42.22),
        (75.75, 42.00),
        (75.75, 41.82),
        (75.99, 41.43),
        (75.80, 41.17),
        (75.55, 40.85),
        (75.40, 40.56),
    ],
    "Суусамыр - Талас (Отмок)": [
        (73.88, 42.18),
        (73.55, 42.25),
        (73.25, 42.28),
        (72.90, 42.40),
        (72.24, 42.52),
    ],
    "Барскоон - Кумтор (Барскоон)": [
        (77.60, 42.15),
        (77.68, 42.00),
        (77.70, 41.85),
        (78.15, 41.85),
    ],
    "Джалал-Абад - Казарман (Калмак-Ашуу)": [
        (73.00, 40.95),
        (73.35, 41.10),
        (73.55, 41.25),
        (74.03, 41.40),
    ],
    "Кочкор - Чаек (Кызарт)": [(75.76, 42.22), (75.02, 42.02), (74.52, 41.93)],
    "Каракол - Энильчек": [(78.39, 42.49), (78.70, 42.20), (79.00, 42.05), (79.40, 42.00)],
}

LANDSLIDE_HOTSPOTS: dict[str, tuple[float, float]] = {
    # Notorious landslide areas of the Fergana rim (MES monitoring points).
    "Майлуу-Суу": (72.45, 41.27),
    "Узген": (73.30, 40.77),
    "Кара-Кульджа": (73.59, 40.63),
    "Кок-Джангак": (73.20, 41.03),
    "Ноокат": (72.62, 40.27),
    "Кара-Куль": (72.67, 41.63),
}

SOUTH_OBLASTS = ("Osh", "Jalal-Abad", "Batken")

WALNUT_FORESTS: dict[str, tuple[float, float]] = {
    # Walnut-fruit forests on the slopes of the Fergana and Chatkal ranges.
    "Арсланбоб": (72.93, 41.33),
    "Кара-Алма": (73.33, 41.22),
    "Кызыл-Ункур": (73.05, 41.38),
    "Сары-Челек": (71.98, 41.85),
}

FAULT_NAMES_RU: dict[str, str] = {
    "chuy": "Иссык-Атинский разлом (Чуйская впадина)",
    "kemin_chilik": "Кемин-Чиликская зона разломов",
    "terskey": "Южно-Иссыккульский (Терскейский) разлом",
    "kungey": "Кунгейский разлом",
    "talas_fergana": "Таласо-Ферганский разлом",
    "suusamyr": "Суусамырская зона (землетрясение 1992 г.)",
    "north_fergana": "северный борт Ферганской впадины",
    "south_fergana": "южный борт Ферганской впадины",
    "alay": "Алайская долина (Нуринское землетрясение 2008 г.)",
    "atbashy_inylchek": "Атбаши-Иныльчекский разлом",
    "son_kul": "Сонкульская зона разломов",
}

OBLAST_RU: dict[str, tuple[str, str]] = {
    # (the oblast's name, its emergency department)
    "Bishkek": ("г. Бишкек", "Управление МЧС КР по г. Бишкек"),
    "Chuy": ("Чуйская область", "Управление МЧС КР по Чуйской области"),
    "Ysyk-Köl": ("Иссык-Кульская область", "Управление МЧС КР по Иссык-Кульской области"),
    "Naryn": ("Нарынская область", "Управление МЧС КР по Нарынской области"),
    "Talas": ("Таласская область", "Управление МЧС КР по Таласской области"),
    "Jalal-Abad": ("Джалал-Абадская область", "Управление МЧС КР по Джалал-Абадской области"),
    "Osh": ("Ошская область", "Управление МЧС КР по Ошской области"),
    "Batken": ("Баткенская область", "Управление МЧС КР по Баткенской области"),
}
