"""Personal identification numbers: the national form and the fictional range."""

from __future__ import annotations

import datetime as dt
import doctest

import pytest

import cadastre.pins
from cadastre.errors import CadastreError, InvalidPinError
from cadastre.pins import (
    FICTIONAL_SERIALS,
    Pin,
    fictional_pin,
    format_pin,
    is_fictional_pin,
    is_valid_pin,
    parse_pin,
)


@pytest.mark.parametrize(
    ("text", "female", "born", "serial"),
    [
        ("21503198512345", False, dt.date(1985, 3, 15), 12345),
        ("12902200090000", True, dt.date(2000, 2, 29), 90000),
        ("10101190000000", True, dt.date(1900, 1, 1), 0),
    ],
)
def test_a_pin_reads_into_its_parts_and_writes_back(
    text: str, female: bool, born: dt.date, serial: int
) -> None:
    pin = parse_pin(text)
    assert pin == Pin(female=female, born=born, serial=serial)
    assert str(pin) == format_pin(female=female, born=born, serial=serial) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2150319851234", "is not a PIN: 14 digits"),  # 13 digits
        ("215031985123456", "is not a PIN"),  # 15 digits
        ("31503198512345", "is not a PIN"),  # sex digit 3
        ("2150319851234a", "is not a PIN"),
        ("2 1503198512345", "is not a PIN"),
        ("", "is not a PIN"),
        ("2150319851234５", "is not a PIN"),  # a full-width digit
        ("22902200112345", "29.02.2001 is no date of birth"),  # not a leap year
        ("23213198512345", "32.13.1985 is no date of birth"),
        ("20000000012345", "00.00.0000 is no date of birth"),
    ],
)
def test_a_malformed_pin_is_refused_naming_the_fault(text: str, message: str) -> None:
    with pytest.raises(InvalidPinError, match=message):
        parse_pin(text)
    assert not is_valid_pin(text)
    assert not is_fictional_pin(text)


@pytest.mark.parametrize(
    ("serial", "fictional"),
    [(0, False), (89_999, False), (FICTIONAL_SERIALS[0], True), (FICTIONAL_SERIALS[1], True)],
)
def test_only_the_documented_range_is_fictional(serial: int, fictional: bool) -> None:
    pin = format_pin(female=True, born=dt.date(1970, 6, 1), serial=serial)
    assert is_valid_pin(pin)
    assert is_fictional_pin(pin) is fictional
    assert FICTIONAL_SERIALS == (90_000, 99_999)


def test_a_fictional_pin_refuses_a_real_serial() -> None:
    born = dt.date(1990, 7, 12)
    assert is_fictional_pin(fictional_pin(female=False, born=born, serial=95_000))
    with pytest.raises(InvalidPinError, match="outside the fictional range 90000-99999"):
        fictional_pin(female=False, born=born, serial=17)


@pytest.mark.parametrize("serial", [-1, 100_000])
def test_a_serial_beyond_five_digits_is_refused(serial: int) -> None:
    with pytest.raises(InvalidPinError, match="5 digits"):
        Pin(female=True, born=dt.date(1990, 1, 1), serial=serial)


def test_errors_belong_to_the_cadastre() -> None:
    assert issubclass(InvalidPinError, CadastreError) and issubclass(InvalidPinError, ValueError)


def test_the_module_examples_hold() -> None:
    result = doctest.testmod(cadastre.pins)
    assert result.attempted > 0 and result.failed == 0
