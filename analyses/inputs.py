"""Checks of process inputs: each returns the typed value or raises `InvalidInputError`
naming the input. Inputs arrive as decoded JSON (OGC API Processes execute request)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

import shapely
from shapely.geometry import shape

from analyses.errors import InvalidInputError

Inputs = Mapping[str, Any]


def reject_unknown(inputs: Inputs, allowed: Collection[str]) -> None:
    """Refuse inputs the process does not declare (a typo must not be ignored silently)."""
    if not isinstance(inputs, Mapping):
        raise InvalidInputError("inputs", "expected an object of named inputs")
    unknown = sorted(set(inputs) - set(allowed))
    if unknown:
        raise InvalidInputError(unknown[0], f"unknown input; expected one of {sorted(allowed)}")


def _value(inputs: Inputs, name: str) -> Any:
    """The value of an input, unwrapping OGC's qualified form `{"value": ...}`."""
    value = inputs.get(name)
    if isinstance(value, Mapping) and set(value) == {"value"}:
        return value["value"]
    return value


def number(
    inputs: Inputs,
    name: str,
    *,
    default: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float:
    """A finite number within bounds (`default` when absent; required when it is None)."""
    value = _value(inputs, name)
    if value is None:
        if default is None:
            raise InvalidInputError(name, "a number is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(name, f"expected a number, got {value!r}")
    if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
        sign = ">" if exclusive_minimum else ">="
        raise InvalidInputError(name, f"expected a number {sign} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidInputError(name, f"expected a number <= {maximum}, got {value}")
    return float(value)


def integer(inputs: Inputs, name: str, *, required: bool = True) -> int | None:
    """A positive whole number (a feature id)."""
    value = _value(inputs, name)
    if value is None:
        if required:
            raise InvalidInputError(name, "a feature id (whole number) is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(name, f"expected a feature id (whole number >= 1), got {value!r}")
    return value


def choice(
    inputs: Inputs, name: str, allowed: Collection[str], *, default: str | None = None
) -> str | None:
    """One of `allowed` (None or `default` when absent)."""
    value = _value(inputs, name)
    if value is None:
        return default
    if value not in allowed:
        raise InvalidInputError(name, f"expected one of {sorted(allowed)}, got {value!r}")
    return str(value)


def choices(inputs: Inputs, name: str, allowed: Collection[str]) -> list[str]:
    """A list of values of `allowed` (empty when absent)."""
    value = _value(inputs, name)
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        raise InvalidInputError(name, f"expected a non-empty list of {sorted(allowed)}")
    bad = [v for v in value if v not in allowed]
    if bad:
        raise InvalidInputError(name, f"expected values of {sorted(allowed)}, got {bad[0]!r}")
    return [str(v) for v in value]


def text_list(inputs: Inputs, name: str, *, limit: int = 1000) -> list[str]:
    """A list of short strings (road numbers); empty when absent."""
    return _bounded_list(
        inputs,
        name,
        limit,
        lambda v: isinstance(v, str) and 0 < len(v) <= 100,
        f"expected a list of 1 to {limit} non-empty strings",
    )


def id_list(inputs: Inputs, name: str, *, limit: int = 10_000) -> list[int]:
    """A list of feature ids; empty when absent."""
    return _bounded_list(
        inputs,
        name,
        limit,
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        f"expected a list of 1 to {limit} feature ids (>= 1)",
    )


def _bounded_list(
    inputs: Inputs, name: str, limit: int, item_ok: Callable[[Any], bool], expected: str
) -> list[Any]:
    """A non-empty list of at most `limit` items each passing `item_ok`; empty when absent."""
    value = _value(inputs, name)
    if value is None:
        return []
    if not isinstance(value, list) or not value or len(value) > limit:
        raise InvalidInputError(name, expected)
    if not all(item_ok(v) for v in value):
        raise InvalidInputError(name, expected)
    return list(value)


def month(inputs: Inputs, name: str) -> dt.date:
    """A month `YYYY-MM`, returned as its first day."""
    value = _value(inputs, name)
    if not isinstance(value, str):
        raise InvalidInputError(name, "a month YYYY-MM is required")
    try:
        first = dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as exc:
        raise InvalidInputError(name, f"expected a month YYYY-MM, got {value!r}") from exc
    if not 1900 <= first.year <= 2200:
        raise InvalidInputError(name, f"month {value!r} is out of range")
    return first


def polygon(inputs: Inputs, name: str, *, max_vertices: int = 100_000) -> str | None:
    """A GeoJSON Polygon or MultiPolygon in CRS84 (lon/lat), valid and non-empty, returned
    as GeoJSON text for the database; None when absent."""
    value = _value(inputs, name)
    if value is None:
        return None
    if not isinstance(value, Mapping) or value.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidInputError(name, "expected a GeoJSON Polygon or MultiPolygon (CRS84)")
    try:
        geometry = shape(value)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise InvalidInputError(name, f"not a readable GeoJSON polygon: {exc}") from exc
    if geometry.is_empty:
        raise InvalidInputError(name, "the polygon is empty")
    if shapely.get_num_coordinates(geometry) > max_vertices:
        raise InvalidInputError(name, f"more than {max_vertices} vertices")
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInputError(name, "coordinates must be longitude, latitude (CRS84)")
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise InvalidInputError(name, f"the polygon is not valid ({reason})")
    return json.dumps(shapely.geometry.mapping(geometry))


def boolean(inputs: Inputs, name: str, *, default: bool) -> bool:
    """true or false."""
    value = _value(inputs, name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInputError(name, f"expected true or false, got {value!r}")
    return value
