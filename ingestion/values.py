"""One value of a layer field: converted to the field's type and checked against the
declaration. Used by the file loader (ingestion/vector.py) and by the API's writes, so it
imports nothing heavy: pandas only for timestamps in spellings other than ISO 8601."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
from typing import Any

from layers.model import LayerField

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
"""Smallest and largest value of each integer field type (PostgreSQL integer, bigint)."""


def is_null(value: Any) -> bool:
    """None, NaN or pandas' NA and NaT (a missing cell of a data frame; GDAL's null date or
    datetime reads as NaT)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    if type(value).__module__.startswith("pandas"):
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    return False


def coerce_value(field: LayerField, value: Any) -> Any:
    """Convert a cell to the field's Python type (ValueError when it cannot be)."""
    if is_null(value):
        return None
    match field.type:
        case "text":
            return str(value)
        case "integer" | "bigint":
            return _whole_number(value, INTEGER_RANGES[field.type])
        case "double":
            return float(value)
        case "boolean":
            if isinstance(value, str):
                if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                    raise ValueError(f"{value!r} is not a boolean")
                return value.lower() in {"true", "1", "yes"}
            return bool(value)
        case "date":
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        case "timestamptz":
            stamp = _timestamp(value)
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    raise ValueError(f"unsupported type {field.type}")  # pragma: no cover


def check_value(field: LayerField, value: Any) -> str | None:
    """A description of the broken rule, None when the value is acceptable."""
    if value is None:
        return "a value is required" if field.required else None
    if field.minimum is not None and value < field.minimum:
        return f"below the minimum {field.minimum}"
    if field.maximum is not None and value > field.maximum:
        return f"above the maximum {field.maximum}"
    if field.enum is not None and value not in field.enum:
        return f"not one of {field.enum}"
    return None


def _whole_number(value: Any, bounds: tuple[int, int]) -> int:
    """An exact int from an int (numpy's too), a float with no fraction (up to 2^53, where
    floats are still exact), or a decimal text; never through float for ints and texts, so
    64-bit values keep every digit.

    Raises:
        ValueError: not a whole number, or outside `bounds` (no silent overflow).
    """
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, float):
        if not value.is_integer():  # also NaN and infinities
            raise ValueError(f"{value!r} is not a whole number")
        if abs(value) > 2**53:  # a float this large stands for many integers
            raise ValueError(
                f"{value!r} is a floating-point number beyond 2^53, not an exact whole "
                "number; give the integer itself"
            )
        number = int(value)
    else:
        text = str(value).strip()
        if len(text) > 100:
            raise ValueError(f"{text[:20]!r}... is not a whole number in range")
        try:
            exact = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise ValueError(f"{value!r} is not a whole number") from None
        if not exact.is_finite() or exact != exact.to_integral_value():
            raise ValueError(f"{value!r} is not a whole number")
        if exact.adjusted() > 30:  # far beyond any bound: refused before building the int
            raise ValueError(f"{value!r} is outside the range {bounds[0]} to {bounds[1]}")
        number = int(exact)
    if not bounds[0] <= number <= bounds[1]:
        shown = str(number) if number.bit_length() <= 128 else f"a {number.bit_length()}-bit value"
        raise ValueError(f"{shown} is outside the range {bounds[0]} to {bounds[1]}")
    return number


def _timestamp(value: Any) -> dt.datetime:
    """A datetime from a datetime (pandas' too), an ISO 8601 text, or any spelling pandas
    parses (files carry many; pandas is imported only for those)."""
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        import pandas as pd

        return pd.Timestamp(value).to_pydatetime()
