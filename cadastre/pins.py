"""The personal identification number (ПИН, персональный идентификационный номер) of a
natural person, as right holders are registered with it.

Its form: 14 digits, `S DDMMYYYY NNNNN`:

- `S`, the sex digit: 1 female, 2 male;
- `DDMMYYYY`, the date of birth (a real calendar date);
- `NNNNN`, a serial: numbers are issued in order for each date of birth across the country.

Fictional numbers: the demo data and the tests need numbers that are valid in form but belong
to nobody. Serials **90000-99999** (`FICTIONAL_SERIALS`) are such a range: with about 470
births a day in Kyrgyzstan, no date of birth ever reaches serial 90,000, so no real person
holds one of these numbers. `is_fictional_pin` tells them apart; `format_pin` writes one.
A PIN is personal data: it lives only in the restricted tables (docs/security.md).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cadastre.errors import InvalidPinError

PIN_PATTERN = re.compile(r"^([12])(\d{2})(\d{2})(\d{4})(\d{5})$", re.ASCII)
"""The written form: sex digit, day, month, year, serial."""

FICTIONAL_SERIALS = (90_000, 99_999)
"""Serials no real date of birth reaches (module docstring): the range of fictional PINs."""

SEX_DIGITS = {"1": "female", "2": "male"}


@dataclass(frozen=True)
class Pin:
    """The parts of a PIN; `str()` writes it.

    >>> str(Pin(female=False, born=dt.date(1985, 3, 15), serial=92345))
    '21503198592345'
    """

    female: bool
    born: dt.date
    serial: int

    def __post_init__(self) -> None:
        if not 0 <= self.serial <= 99_999:
            raise InvalidPinError(f"serial {self.serial} is outside 00000-99999 (5 digits)")
        if not 1 <= self.born.year <= 9999:
            raise InvalidPinError(f"year of birth {self.born.year} does not fit 4 digits")

    def __str__(self) -> str:
        return f"{1 if self.female else 2}{self.born:%d%m%Y}{self.serial:05d}"

    @property
    def is_fictional(self) -> bool:
        """True when the serial is in `FICTIONAL_SERIALS`."""
        return FICTIONAL_SERIALS[0] <= self.serial <= FICTIONAL_SERIALS[1]


def parse_pin(text: str) -> Pin:
    """Read a PIN.

    Args:
        text: 14 digits, no spaces or separators.

    Returns:
        Its parts.

    Raises:
        InvalidPinError: not 14 digits, a sex digit other than 1 or 2, or a date of birth
            that is no calendar date; the message says which.

    >>> parse_pin("11207199000017").born
    datetime.date(1990, 7, 12)
    """
    match = PIN_PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidPinError(f"{text!r} is not a PIN: 14 digits, the first 1 (female) or 2 (male)")
    sex, day, month, year, serial = match.groups()
    try:
        born = dt.date(int(year), int(month), int(day))
    except ValueError as exc:
        raise InvalidPinError(f"{text!r}: {day}.{month}.{year} is no date of birth") from exc
    return Pin(female=sex == "1", born=born, serial=int(serial))


def is_valid_pin(text: str) -> bool:
    """True for a PIN in the national form (`parse_pin` accepts it).

    >>> is_valid_pin("21503198512345"), is_valid_pin("23102198512345")
    (True, False)
    """
    try:
        parse_pin(text)
    except InvalidPinError:
        return False
    return True


def is_fictional_pin(text: str) -> bool:
    """True for a well-formed PIN from the fictional range.

    >>> is_fictional_pin("21503198592345"), is_fictional_pin("21503198512345")
    (True, False)
    """
    try:
        return parse_pin(text).is_fictional
    except InvalidPinError:
        return False


def format_pin(*, female: bool, born: dt.date, serial: int) -> str:
    """The written PIN of these parts.

    >>> format_pin(female=True, born=dt.date(2004, 12, 31), serial=90000)
    '13112200490000'
    """
    return str(Pin(female=female, born=born, serial=serial))


def fictional_pin(*, female: bool, born: dt.date, serial: int) -> str:
    """A fictional PIN: `format_pin`, refusing a serial outside `FICTIONAL_SERIALS`.

    Raises:
        InvalidPinError: the serial could belong to a real person.
    """
    pin = Pin(female=female, born=born, serial=serial)
    if not pin.is_fictional:
        low, high = FICTIONAL_SERIALS
        raise InvalidPinError(f"serial {serial} is outside the fictional range {low}-{high}")
    return str(pin)
