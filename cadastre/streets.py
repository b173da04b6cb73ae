"""Street names of the address registry in its three forms: Russian (as registered),
Kyrgyz and Latin.

The Kyrgyz form puts the street type after the name (`проспект Чуй` -> `Чуй проспекти`,
`улица Гоголя` -> `Гоголь көчөсү`) and turns the Russian genitive of a person's name into
the nominative by rule (`Орозбекова` -> `Орозбеков`), with the irregular names listed in
`KYRGYZ_NAMES`. The Latin form is the Kyrgyz form transliterated (`latin`). These are rules,
not a street register: a real registry records each official form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STREET_TYPES: dict[str, str] = {
    "улица": "көчөсү",
    "проспект": "проспекти",
    "бульвар": "бульвары",
    "переулок": "тыкыр көчөсү",
    "площадь": "аянты",
    "микрорайон": "кичи району",
}
"""Russian street type (written before the name) -> the Kyrgyz one (written after it)."""

KYRGYZ_NAMES: dict[str, str] = {
    "Льва Толстого": "Лев Толстой",
    "Горького": "Горький",
    "Гоголя": "Гоголь",
    "Молодой Гвардии": "Жаш Гвардия",
    "Чингиза Айтматова": "Чыңгыз Айтматов",
    "Шабдан Баатыра": "Шабдан Баатыр",
    "Шабдана": "Шабдан",
    "Южная магистраль": "Түштүк магистраль",
    "Юсуфа Баласагына": "Жусуп Баласагын",
    "Алымбек Датки": "Алымбек Датка",
    "Курманжан Датки": "Курманжан Датка",
    "Мамажан Датки": "Мамажан Датка",
    "Мусы Джалиля": "Муса Жалил",
    "Льва": "Лев",
    "Жумабека": "Жумабек",
    "Ахматбека": "Ахматбек",
    "Сагынбая": "Сагынбай",
    "Кожомкула": "Кожомкул",
    "Осмонкула": "Осмонкул",
    "Жусупа Абдрахманова": "Жусуп Абдрахманов",
    "Калыка Акиева": "Калык Акиев",
    "Молдо Кылыча": "Молдо Кылыч",
    "Первомайская": "Биринчи Май",
}
"""Names whose Kyrgyz form no rule gives."""

_GENITIVE = (
    (re.compile(r"(ов|ев|ин|ын)ой$"), r"\1а"),  # Кайназаровой -> Кайназарова
    (re.compile(r"(ов|ев|ин|ын)а$"), r"\1"),  # Орозбекова -> Орозбеков
    (re.compile(r"([бвгдзклмнпрстфхчшщ])а$"), r"\1"),  # Фучика -> Фучик
)

_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "ң": "ng",
    "о": "o", "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ү": "ü",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
"""Kyrgyz Cyrillic -> Latin, one readable spelling (ө ö, ү ü, ң ng, ж j)."""


@dataclass(frozen=True)
class StreetName:
    """One street's name in the registry's three forms."""

    ru: str
    ky: str
    latin: str


def latin(text: str) -> str:
    """Kyrgyz or Russian Cyrillic written in Latin letters (capitals kept).

    >>> latin("Чуй проспекти"), latin("Жалал-Абад"), latin("Үч-Коргон"), latin("Бишкек")
    ('Chuy prospekti', 'Jalal-Abad', 'Üch-Korgon', 'Bishkek')
    """
    out = []
    for char in text:
        lower = char.lower()
        if lower not in _LATIN:
            out.append(char)
            continue
        spelt = _LATIN[lower]
        out.append(spelt[:1].upper() + spelt[1:] if char != lower else spelt)
    return "".join(out)


def kyrgyz_name(name_ru: str) -> str:
    """The Kyrgyz nominative of a street's proper name given in Russian.

    >>> kyrgyz_name("Орозбекова"), kyrgyz_name("Кайназаровой"), kyrgyz_name("Чуй")
    ('Орозбеков', 'Кайназарова', 'Чуй')
    >>> kyrgyz_name("Гоголя"), kyrgyz_name("Ала-Арча"), kyrgyz_name("Тоголок Молдо")
    ('Гоголь', 'Ала-Арча', 'Тоголок Молдо')
    """
    if name_ru in KYRGYZ_NAMES:
        return KYRGYZ_NAMES[name_ru]
    if "-" in name_ru or " " in name_ru:
        return name_ru  # compound place names (Ала-Арча, Кок-Жар) are Kyrgyz already
    for pattern, replacement in _GENITIVE:
        if pattern.search(name_ru):
            return pattern.sub(replacement, name_ru)
    return name_ru


def street_name(name_ru: str) -> StreetName:
    """The three forms of a street registered under its Russian name.

    >>> street_name("проспект Чуй")
    StreetName(ru='проспект Чуй', ky='Чуй проспекти', latin='Chuy prospekti')
    >>> street_name("улица Льва Толстого").ky
    'Лев Толстой көчөсү'
    """
    kind, _, proper = name_ru.partition(" ")
    if kind not in STREET_TYPES or not proper:
        kind, proper = "улица", name_ru
    ky = f"{kyrgyz_name(proper)} {STREET_TYPES[kind]}"
    return StreetName(ru=name_ru, ky=ky, latin=latin(ky))
