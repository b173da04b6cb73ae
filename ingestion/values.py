"""One value of a layer field: converted to the field's type and checked against the
declaration. Used by the file loader (ingestion/vector.py) and by the API's writes, so it
imports nothing heavy: pandas only for timestamps in spellings other than ISO 8601."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from layers.model import LayerField


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
            number = float(value)
            if not number.is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            return int(number)
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
