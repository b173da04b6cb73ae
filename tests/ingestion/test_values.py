"""One value of a field: conversion to the field's type and the declaration's checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ingestion.values import check_value, coerce_value, is_null
from layers.model import LayerField, Trilingual

TITLE = Trilingual(ky="талаа", ru="поле", en="field")


def field(type_: str, **rules: Any) -> LayerField:
    return LayerField(name="value", type=type_, title=TITLE, **rules)


@pytest.mark.parametrize(
    ("value", "null"),
    [
        (None, True),
        (float("nan"), True),
        (np.float64("nan"), True),
        (pd.NA, True),
        (pd.NaT, True),
        (0, False),
        ("", False),
        (False, False),
        (pd.Timestamp("2024-05-01"), False),
    ],
)
def test_null_is_none_nan_na_and_nat(value: Any, null: bool) -> None:
    assert is_null(value) is null


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("text", 42, "42"),
        ("text", "Бишкек", "Бишкек"),
        ("integer", "7", 7),
        ("integer", 7.0, 7),
        ("bigint", "1e3", 1000),
        ("integer", np.int64(-3), -3),
        ("double", "2.5", 2.5),
        ("double", 1, 1.0),
        ("boolean", "Yes", True),
        ("boolean", "0", False),
        ("boolean", 1, True),
        ("date", "2024-02-29", dt.date(2024, 2, 29)),
        ("date", dt.date(1999, 1, 1), dt.date(1999, 1, 1)),
        ("timestamptz", "2024-05-01T10:00:00", dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)),
        (
            "timestamptz",
            "2024-05-01T10:00:00+06:00",
            dt.datetime(2024, 5, 1, 4, tzinfo=dt.UTC),
        ),
        (
            "timestamptz",
            pd.Timestamp("2024-05-01 10:00", tz="Asia/Bishkek"),
            dt.datetime(2024, 5, 1, 4, tzinfo=dt.UTC),
        ),
        ("timestamptz", "1 May 2024 10:00", dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)),
    ],
)
def test_values_convert_to_the_field_type(type_: str, value: Any, expected: Any) -> None:
    converted = coerce_value(field(type_), value)
    assert converted == expected
    assert type(converted) is type(expected)
    if isinstance(expected, dt.datetime):
        assert converted.tzinfo is not None  # never a naive timestamp


@pytest.mark.parametrize(
    ("type_", "value", "message"),
    [
        ("integer", "3.5", "not a whole number"),
        ("integer", "seven", "not a whole number"),
        ("double", "2,5", "could not convert"),
        ("boolean", "maybe", "not a boolean"),
        ("date", "2023-02-29", "day is out of range"),
        ("date", "29.02.2024", "Invalid isoformat"),
    ],
)
def test_values_that_do_not_convert_raise_value_error(type_: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        coerce_value(field(type_), value)


def test_an_unparseable_timestamp_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError):
        coerce_value(field("timestamptz"), "the day after tomorrow")


@pytest.mark.parametrize("type_", ["text", "integer", "double", "boolean", "date", "timestamptz"])
@pytest.mark.parametrize("null", [None, float("nan"), pd.NA, pd.NaT])
def test_every_null_becomes_none(type_: str, null: Any) -> None:
    assert coerce_value(field(type_), null) is None


@pytest.mark.parametrize(
    ("rules", "value", "broken"),
    [
        ({"required": True}, None, "a value is required"),
        ({}, None, None),
        ({"minimum": 0}, -0.5, "below the minimum 0.0"),
        ({"minimum": 0}, 0, None),
        ({"maximum": 100}, 100.0001, "above the maximum 100.0"),
        ({"maximum": 100}, 100, None),
        ({"enum": ["a", "b"]}, "c", "not one of ['a', 'b']"),
        ({"enum": ["a", "b"]}, "b", None),
    ],
)
def test_declared_rules_are_checked(rules: dict[str, Any], value: Any, broken: str | None) -> None:
    type_ = "text" if "enum" in rules else "double"
    assert check_value(field(type_, **rules), value) == broken
