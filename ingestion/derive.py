"""Named derivations a declaration may apply to a source column (`derive:` in a field source).

Each takes the raw cell value and returns the derived value (None when nothing fits).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ingestion.errors import UnknownDerivationError

_CYRILLIC = re.compile(r"^[\u0400-\u04FF\s\-.'’()0-9]+$")
_KYRGYZ_LETTERS = set("өүңӨҮҢ")


def _names(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [name.strip() for name in str(value).split(";") if name.strip()]


def first_cyrillic(value: Any) -> str | None:
    """The first `;`-separated name written in Cyrillic.

    >>> first_cyrillic("Bishkek;Frunze;Бишкек;Бишкек ош")
    'Бишкек'
    """
    return next((n for n in _names(value) if _CYRILLIC.match(n)), None)


def kyrgyz_name(value: Any) -> str | None:
    """The first Cyrillic name with a Kyrgyz letter (ө, ү, ң), else the first Cyrillic one.

    >>> kyrgyz_name("Issyk;Иссык-Куль;Ысык-Көл")
    'Ысык-Көл'
    """
    names = [n for n in _names(value) if _CYRILLIC.match(n)]
    return next((n for n in names if _KYRGYZ_LETTERS & set(n)), names[0] if names else None)


DERIVATIONS: dict[str, Callable[[Any], Any]] = {
    "first_cyrillic": first_cyrillic,
    "kyrgyz_name": kyrgyz_name,
}


def get_derivation(name: str) -> Callable[[Any], Any]:
    """The derivation called `name`.

    Raises:
        UnknownDerivationError: listing the known ones.
    """
    try:
        return DERIVATIONS[name]
    except KeyError:
        raise UnknownDerivationError(
            f"unknown derivation {name!r}; known: {', '.join(sorted(DERIVATIONS))}"
        ) from None
