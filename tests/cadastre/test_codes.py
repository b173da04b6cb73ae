"""Cadastral identification codes: the written form, the range of each part, new numbers."""

from __future__ import annotations

import doctest

import pytest

import cadastre.codes
from cadastre.codes import (
    CadastralCode,
    format_code,
    format_codes,
    is_valid_code,
    next_parcel_code,
    parse_code,
)
from cadastre.errors import CadastreError, InvalidCadastralCodeError


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("1-02-08-0015-0098", (1, 2, 8, 15, 98)),
        ("9-05-99-9999-9999", (9, 5, 99, 9999, 9999)),
        (" 7-12-03-0104-0001\n", (7, 12, 3, 104, 1)),
    ],
)
def test_a_code_reads_into_its_parts_and_writes_back(text: str, parts: tuple) -> None:
    code = parse_code(text)
    assert (code.territory, code.rayon, code.zone, code.block, code.parcel) == parts
    assert str(code) == text.strip() == format_code(*parts)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1-2-8-15-98", "is not a cadastral code"),
        ("1-02-08-0015-00981", "is not a cadastral code"),
        ("10-02-08-0015-0098", "is not a cadastral code"),
        ("1/02/08/0015/0098", "is not a cadastral code"),
        ("", "is not a cadastral code"),
        ("0-02-08-0015-0098", "is not a cadastral code"),
        ("1-00-08-0015-0098", "rayon 0 is outside 1-99"),
        ("1-02-00-0015-0098", "zone 0 is outside 1-99"),
        ("1-02-08-0000-0098", "block 0 is outside 1-9999"),
        ("1-02-08-0015-0000", "parcel 0 is outside 1-9999"),
        ("１-02-08-0015-0098", "is not a cadastral code"),  # a full-width digit
        ("1-０2-08-0015-0098", "is not a cadastral code"),
        ("1-02-08-00١5-0098", "is not a cadastral code"),  # an Arabic-Indic digit
    ],
)
def test_a_malformed_code_is_refused_naming_the_fault(text: str, message: str) -> None:
    with pytest.raises(InvalidCadastralCodeError, match=message):
        parse_code(text)
    assert not is_valid_code(text)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ((0, 1, 1, 1, 1), "territory 0 is not one of 1-9"),
        ((1, 100, 1, 1, 1), "rayon 100 is outside 1-99"),
        ((1, 1, 1, 10_000, 1), "block 10000 is outside 1-9999"),
        ((1, 1, 1, 1, -3), "parcel -3 is outside"),
        ((1, 1, 1, 1, 2.5), "parcel 2.5 is not a whole number"),
        ((1, True, 1, 1, 1), "rayon True is not a whole number"),
    ],
)
def test_parts_out_of_range_are_refused_not_truncated(parts: tuple, message: str) -> None:
    with pytest.raises(InvalidCadastralCodeError, match=message):
        CadastralCode(*parts)


def test_errors_belong_to_the_cadastre_and_are_value_errors() -> None:
    assert issubclass(InvalidCadastralCodeError, CadastreError)
    assert issubclass(InvalidCadastralCodeError, ValueError)


def test_codes_order_as_the_register_does() -> None:
    codes = [parse_code(t) for t in ("2-01-01-0002-0001", "1-09-01-0001-0010", "2-01-01-0001-0005")]
    assert [str(c) for c in sorted(codes)] == [
        "1-09-01-0001-0010",
        "2-01-01-0001-0005",
        "2-01-01-0002-0001",
    ]


def test_many_codes_are_written_at_once_and_checked() -> None:
    assert format_codes([(1, 2, 3, 4, 5), (9, 1, 1, 1, 1)]) == [
        "1-02-03-0004-0005",
        "9-01-01-0001-0001",
    ]
    with pytest.raises(InvalidCadastralCodeError, match="zone 100"):
        format_codes([(1, 2, 100, 4, 5)])


def test_a_new_parcel_takes_the_next_number_of_its_block_only() -> None:
    taken = [parse_code(t) for t in ("3-04-02-0011-0007", "3-04-02-0011-0002", "3-04-02-0012-0950")]
    assert str(next_parcel_code(taken[0], taken)) == "3-04-02-0011-0008"
    assert str(next_parcel_code(parse_code("3-04-02-0013-0001"), [])) == "3-04-02-0013-0001"


def test_a_full_block_has_no_new_number() -> None:
    full = parse_code("5-01-01-0001-9999")
    with pytest.raises(InvalidCadastralCodeError, match="parcel 10000"):
        next_parcel_code(full, [full])


def test_territory_names() -> None:
    assert parse_code("9-01-01-0001-0001").territory_name == "Osh city"


def test_the_module_examples_hold() -> None:
    result = doctest.testmod(cadastre.codes)
    assert result.attempted > 0 and result.failed == 0
