"""A GeoJSON feature sent by a client (OGC API Features Part 4), checked against the layer
declaration: every property declared, of the declared type, within the declared rules; the
geometry of the declared type. Errors name the field at fault (400)."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

from geoportal.errors import HTTPProblem
from ingestion.values import check_value, coerce_value
from layers.model import Layer

GEOJSON_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


@dataclass(frozen=True)
class FeatureInput:
    """Checked values of a feature: properties by field name, geometry as GeoJSON text."""

    properties: dict[str, Any]
    geometry: str | None


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body (400 otherwise)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPProblem(400, f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # the C decoder's guard against deep nesting
        raise HTTPProblem(400, "the body is nested too deeply to be a GeoJSON feature") from exc
    if not isinstance(document, dict):
        raise HTTPProblem(400, "the body must be a GeoJSON Feature object")
    return document


def _value(layer: Layer, name: str, value: Any) -> Any:
    field = layer.field(name)
    if isinstance(value, (dict, list)):
        raise HTTPProblem(
            400,
            f"property {name!r}: expected a {field.type}, got JSON {type(value).__name__}",
            field=name,
        )
    if field.type in ("integer", "bigint", "double") and isinstance(value, (bool, str)):
        raise HTTPProblem(400, f"property {name!r}: expected a number, got {value!r}", field=name)
    if field.type == "boolean" and not isinstance(value, bool) and value is not None:
        raise HTTPProblem(400, f"property {name!r}: expected true or false", field=name)
    if field.type == "text" and value is not None and not isinstance(value, str):
        raise HTTPProblem(400, f"property {name!r}: expected a string", field=name)
    if isinstance(value, str) and "\x00" in value:
        raise HTTPProblem(400, f"property {name!r}: contains a NUL character", field=name)
    try:
        coerced = coerce_value(field, value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise HTTPProblem(400, f"property {name!r}: {exc}", field=name) from exc
    if (
        field.type == "timestamptz"
        and isinstance(coerced, dt.datetime)
        and isinstance(value, str)
        and "T" not in value
        and ":" not in value
    ):
        raise HTTPProblem(400, f"property {name!r}: expected an ISO 8601 date-time", field=name)
    if field.type in ("integer",) and coerced is not None and abs(coerced) > 2**31 - 1:
        raise HTTPProblem(400, f"property {name!r}: out of range", field=name)
    broken = check_value(field, coerced)
    if broken:
        raise HTTPProblem(400, f"property {name!r}: {broken}", field=name)
    return coerced


def check_feature(layer: Layer, document: dict[str, Any], partial: bool = False) -> FeatureInput:
    """The checked properties and geometry of a Feature (all fields, or with `partial` only
    those sent, for PATCH; a null in a PATCH removes the value).

    Raises:
        HTTPProblem: 400 naming the property or the geometry at fault.
    """
    if document.get("type") != "Feature":
        raise HTTPProblem(400, 'the body must be a GeoJSON Feature ("type": "Feature")')
    properties = document.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise HTTPProblem(400, '"properties" must be an object')
    declared = [f.name for f in layer.fields]
    unknown = sorted(set(properties) - set(declared))
    if unknown:
        raise HTTPProblem(
            400, f"unknown properties {unknown}; layer {layer.id} has {declared}", field=unknown[0]
        )
    names = [n for n in declared if n in properties] if partial else declared
    values = {name: _value(layer, name, properties.get(name)) for name in names}
    return FeatureInput(values, _geometry(layer, document, partial))


def _geometry(layer: Layer, document: dict[str, Any], partial: bool) -> str | None:
    if not layer.has_geometry:
        if document.get("geometry") is not None:
            raise HTTPProblem(
                400, f'layer {layer.id} has no geometry; send "geometry": null', field="geometry"
            )
        return None
    geometry = document.get("geometry")
    if geometry is None:
        if partial and "geometry" not in document:
            return None
        raise HTTPProblem(
            400, f"layer {layer.id} needs a {layer.geometry_type} geometry", field="geometry"
        )
    if (
        not isinstance(geometry, dict)
        or geometry.get("type") not in GEOJSON_TYPES
        or not isinstance(geometry.get("coordinates"), list)
    ):
        raise HTTPProblem(
            400, '"geometry" must be a GeoJSON geometry with coordinates', field="geometry"
        )
    declared = layer.geometry_type or ""
    sent = geometry["type"]
    if sent != declared and f"Multi{sent}" != declared:
        raise HTTPProblem(
            400, f"geometry: layer {layer.id} holds {declared}, got {sent}", field="geometry"
        )
    check_coordinates(sent, geometry["coordinates"])
    return json.dumps({"type": sent, "coordinates": geometry["coordinates"]})


# nesting of GeoJSON coordinates below the positions, and the fewest items at each level
_NESTING = {
    "Point": (),
    "MultiPoint": (1,),
    "LineString": (2,),
    "MultiLineString": (1, 2),
    "Polygon": (1, 4),
    "MultiPolygon": (1, 1, 4),
}


def check_coordinates(geometry_type: str, coordinates: Any) -> None:
    """GeoJSON coordinates of `geometry_type` (RFC 7946 3.1): arrays nested as the type
    says, none empty, lines of two positions or more, rings of four or more, every position
    two finite numbers (longitude/easting, latitude/northing; the layers are 2-D).

    Raises:
        HTTPProblem: 400 naming the field `geometry` and what is wrong.
    """
    level: list[Any] = [coordinates]
    for fewest in _NESTING[geometry_type]:
        inner: list[Any] = []
        for part in level:
            if not isinstance(part, list) or len(part) < fewest:
                raise HTTPProblem(
                    400,
                    f"geometry: {geometry_type} coordinates must be nested arrays "
                    f"(at least {fewest} item(s) at each level)",
                    field="geometry",
                )
            inner.extend(part)
        level = inner
    for position in level:
        _check_position(position)


def _check_position(position: Any) -> None:
    if not isinstance(position, list) or len(position) != 2:
        raise HTTPProblem(
            400,
            "geometry: every position must be two numbers [x, y] (2-D; no elevation)",
            field="geometry",
        )
    for value in position:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise HTTPProblem(
                400, f"geometry: coordinate {value!r} is not a number", field="geometry"
            )
        if not math.isfinite(value):
            raise HTTPProblem(400, f"geometry: coordinate {value} is not finite", field="geometry")
