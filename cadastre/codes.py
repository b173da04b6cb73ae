"""Cadastral identification codes (идентификационный код, ИКК) of land parcels.

A code is five numbers joined by hyphens, `T-RR-ZZ-BBBB-PPPP`, from the largest unit down:

- `T`, territory, one digit: 1 Bishkek city, 2 Chuy, 3 Issyk-Kul, 4 Naryn, 5 Talas,
  6 Jalal-Abad, 7 Osh oblast, 8 Batken, 9 Osh city (`TERRITORIES`);
- `RR`, rayon (in the oblasts) or city district, two digits;
- `ZZ`, cadastral zone within the rayon, two digits;
- `BBBB`, block (квартал) within the zone, four digits;
- `PPPP`, parcel within the block, four digits.

Every part below the territory is a rank counted from 1 (0 is no rank); a part that needs more
digits than the form gives cannot be written, and is refused rather than truncated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cadastre.errors import InvalidCadastralCodeError

TERRITORIES: dict[int, str] = {
    1: "Bishkek city",
    2: "Chuy",
    3: "Issyk-Kul",
    4: "Naryn",
    5: "Talas",
    6: "Jalal-Abad",
    7: "Osh oblast",
    8: "Batken",
    9: "Osh city",
}
"""The first digit of a code: the oblasts and the two cities of republican significance."""

PART_DIGITS: tuple[tuple[str, int], ...] = (
    ("territory", 1),
    ("rayon", 2),
    ("zone", 2),
    ("block", 4),
    ("parcel", 4),
)
"""The parts of a code, largest first, and how many digits each is written with."""

CODE_PATTERN = r"^[1-9]-\d{2}-\d{2}-\d{4}-\d{4}$"
"""The written form (a regular expression, for declarations and SQL `~` checks)."""
_CODE = re.compile(CODE_PATTERN, re.ASCII)  # `\d` is 0-9 only, not other scripts' digits


@dataclass(frozen=True, order=True)
class CadastralCode:
    """One parcel's code; `str()` writes it, `parse_code` reads it.

    >>> str(CadastralCode(territory=1, rayon=2, zone=8, block=15, parcel=98))
    '1-02-08-0015-0098'
    """

    territory: int
    rayon: int
    zone: int
    block: int
    parcel: int

    def __post_init__(self) -> None:
        if self.territory not in TERRITORIES:
            raise InvalidCadastralCodeError(
                f"territory {self.territory} is not one of 1-9 ({_territory_list()})"
            )
        for name, digits in PART_DIGITS[1:]:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidCadastralCodeError(f"{name} {value!r} is not a whole number")
            if not 1 <= value < 10**digits:
                raise InvalidCadastralCodeError(
                    f"{name} {value} is outside 1-{10**digits - 1} ({digits} digits)"
                )

    def __str__(self) -> str:
        return (
            f"{self.territory}-{self.rayon:02d}-{self.zone:02d}-{self.block:04d}-{self.parcel:04d}"
        )

    @property
    def block_key(self) -> tuple[int, int, int, int]:
        """The block the parcel lies in: territory, rayon, zone, block."""
        return (self.territory, self.rayon, self.zone, self.block)

    @property
    def territory_name(self) -> str:
        """The territory's name in English (`TERRITORIES`)."""
        return TERRITORIES[self.territory]


def _territory_list() -> str:
    return ", ".join(f"{number} {name}" for number, name in TERRITORIES.items())


def parse_code(text: str) -> CadastralCode:
    """Read a written code.

    Args:
        text: the code, `T-RR-ZZ-BBBB-PPPP`; surrounding spaces are ignored.

    Returns:
        The code's parts.

    Raises:
        InvalidCadastralCodeError: the text is not in the form, or a part is out of range;
            the message names the text and what is wrong.

    >>> parse_code("9-03-01-0042-0007").block
    42
    >>> parse_code("1-2-8-15-98")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cadastre.errors.InvalidCadastralCodeError: '1-2-8-15-98' is not a cadastral code ...
    """
    stripped = text.strip() if isinstance(text, str) else text
    if not isinstance(stripped, str) or not _CODE.match(stripped):
        raise InvalidCadastralCodeError(f"{text!r} is not a cadastral code T-RR-ZZ-BBBB-PPPP")
    try:
        return CadastralCode(*(int(part) for part in stripped.split("-")))
    except InvalidCadastralCodeError as exc:
        raise InvalidCadastralCodeError(f"{text!r}: {exc}") from exc


def is_valid_code(text: str) -> bool:
    """True when `parse_code` accepts the text.

    >>> is_valid_code("1-02-08-0015-0098"), is_valid_code("0-02-08-0015-0098")
    (True, False)
    """
    try:
        parse_code(text)
    except InvalidCadastralCodeError:
        return False
    return True


def format_code(territory: int, rayon: int, zone: int, block: int, parcel: int) -> str:
    """The written code of these parts (checked as `CadastralCode` checks them).

    >>> format_code(7, 12, 3, 104, 1)
    '7-12-03-0104-0001'
    """
    return str(CadastralCode(territory, rayon, zone, block, parcel))


def format_codes(parts: Iterable[tuple[int, int, int, int, int]]) -> list[str]:
    """The written codes of many parts at once (e.g. a generated or imported register)."""
    return [format_code(*(int(p) for p in row)) for row in parts]


def next_parcel_code(block: CadastralCode, taken: Iterable[CadastralCode]) -> CadastralCode:
    """A new code in the block of `block`: one above the highest parcel number in use there.

    Numbers of parcels that were split or merged are never reused, so a new number is always
    above every number the block has had (`taken` holds them all, retired ones included).

    Raises:
        InvalidCadastralCodeError: the block has no number left (9999 in use).

    >>> taken = [parse_code("1-02-08-0015-0098"), parse_code("1-02-08-0016-0120")]
    >>> str(next_parcel_code(taken[0], taken))
    '1-02-08-0015-0099'
    """
    highest = max((c.parcel for c in taken if c.block_key == block.block_key), default=0)
    return CadastralCode(*block.block_key, parcel=highest + 1)
