"""Names of farms and water users' associations: fictional organisations, never persons.

Names are built from Kyrgyz words that farms and associations commonly take (abundance,
unity, harvest, golden grain...) and from place names, never from personal names.
"""

from __future__ import annotations

import numpy as np

WORDS = [
    "Береке",
    "Ынтымак",
    "Бирлик",
    "Ырыс",
    "Достук",
    "Мурас",
    "Ак-Жол",
    "Алтын-Дан",
    "Жашыл-Өрөөн",
    "Кут",
    "Ала-Тоо",
    "Жер-Ана",
    "Түшүм",
    "Жемиш",
    "Эмгек",
    "Ишеним",
    "Байлык",
    "Ата-Мекен",
    "Ак-Булак",
    "Көк-Жайык",
    "Жаңы-Жер",
    "Жаңы-Турмуш",
    "Кең-Талаа",
    "Алтын-Күз",
    "Ак-Бидай",
    "Көк-Сай",
    "Таза-Суу",
    "Дыйкан",
    "Мол-Түшүм",
    "Нур-Агро",
    "Агро-Сервис",
    "Бак-Береке",
    "Ак-Терек",
    "Кызыл-Алма",
    "Өрүк-Бак",
    "Ак-Мөңгү",
    "Жайкалган-Талаа",
    "Дан-Азык",
    "Эл-Ырысы",
    "Агро-Бирлик",
    "Тоо-Бети",
    "Сары-Өзөн",
    "Көк-Арык",
    "Жибек-Жолу",
    "Кыргыз-Жери",
    "Агро-Ордо",
    "Мээнет",
    "Ийгилик",
]
ADJECTIVES = [
    "Ак",
    "Көк",
    "Алтын",
    "Жашыл",
    "Кызыл",
    "Сары",
    "Жаңы",
    "Мол",
    "Кең",
    "Таза",
    "Бай",
    "Улуу",
    "Нурлуу",
]
NOUNS = [
    "Жер",
    "Дан",
    "Бак",
    "Талаа",
    "Өрөөн",
    "Булак",
    "Сай",
    "Жайык",
    "Арык",
    "Түшүм",
    "Кырман",
    "Бакча",
    "Күз",
    "Жаз",
    "Терек",
    "Арча",
    "Өзөн",
    "Адыр",
    "Кыштак",
]
STEMS = WORDS + [f"{a}-{n}" for a in ADJECTIVES for n in NOUNS]
SUFFIXES = [
    "",
    "",
    "",
    "",
    "",
    "-Агро",
    "-Плюс",
    "-Бак",
    "-Дан",
    "-Нур",
    "-1",
    "-2",
    "-3",
    "-4",
    "-5",
    "-7",
    "-9",
]
LEGAL_FORMS = {  # by farm kind: peasant farm, limited company, cooperative, farm enterprise
    "smallholder": (["КФХ"], [1.0]),
    "medium": (["КФХ", "ОсОО", "СПК"], [0.55, 0.3, 0.15]),
    "large": (["СПК", "ОсОО", "Агрофирма"], [0.45, 0.35, 0.2]),
}
WUA_WORDS = [
    "Суу-Берекеси",
    "Ынтымак-Суу",
    "Агын",
    "Ак-Арык",
    "Таза-Булак",
    "Көк-Арык",
    "Суу-Ырысы",
    "Бирлик-Суу",
    "Жашыл-Арык",
    "Кара-Арык",
    "Мол-Суу",
    "Суу-Жолу",
    "Өзөн",
    "Булак-Баш",
    "Чоң-Арык",
]


def farm_names(kinds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One name per farm, its legal form following the farm kind (`FARM_KINDS` values)."""
    words = rng.choice(STEMS, size=len(kinds))
    suffixes = rng.choice(SUFFIXES, size=len(kinds))
    forms = np.empty(len(kinds), dtype=object)
    for kind, (choices, weights) in LEGAL_FORMS.items():
        mine = kinds == kind
        forms[mine] = rng.choice(choices, size=int(mine.sum()), p=weights)
    return np.array(
        [
            f"{form} «{word}{suffix}»"
            for form, word, suffix in zip(forms, words, suffixes, strict=True)
        ],
        dtype=object,
    )
