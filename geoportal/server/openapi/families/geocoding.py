"""Geocoding: `/geocode` (forward, GeoJSON in the style of Photon) and `/reverse` (the
nearest addresses to a point with their parcel and building)."""

from __future__ import annotations

from typing import Any

from geoportal.server.openapi.context import RouteContext, lang_param
from geoportal.server.openapi.model import Operation, Param, Reply
from geoportal.server.search_routes import (
    GEOJSON,
    MAX_LIMIT,
    MAX_QUERY_LENGTH,
    MAX_REVERSE_LIMIT,
    MIN_QUERY_LENGTH,
)

NUMBER = {"type": "number"}
POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2},
    },
}
FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string", "description": "collection.featureId"},
        "geometry": POINT,
        "bbox": {"type": "array", "items": NUMBER, "minItems": 4, "maxItems": 4},
        "properties": {
            "type": "object",
            "description": "collection, id, label, layer, kind, score, name, extent (west, "
            "north, east, south); for addresses housenumber, street, city, district, state, "
            "country, countrycode, building_id, parcel_id, cadastral_code; from /reverse "
            "distance_m and the parcel and building (public fields)",
            "additionalProperties": True,
        },
    },
}
COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": FEATURE},
    },
}


def _reply(description: str) -> Reply:
    schema: dict[str, Any] = COLLECTION
    return Reply(status=200, description=description, media={GEOJSON: schema})


def _limit(maximum: int) -> Param:
    return Param(name="limit", schema={"type": "integer", "minimum": 1, "maximum": maximum})


def _coordinate(name: str, bound: int) -> Param:
    return Param(
        name=name,
        required=True,
        description=f"{'Longitude' if name == 'lon' else 'Latitude'} (decimal degrees, CRS84)",
        schema={"type": "number", "minimum": -bound, "maximum": bound},
    )


def geocoding(ctx: RouteContext) -> list[Operation]:
    """Forward and reverse geocoding."""
    return [
        Operation(
            method="get",
            path="/geocode",
            operation_id="geocode",
            summary="Addresses, places, roads and codes matching a text, tolerant of script "
            "(Kyrgyz, Russian, Latin) and spelling, as GeoJSON points (Photon style)",
            tags=("search",),
            params=(
                Param(
                    name="q",
                    required=True,
                    description="The text, e.g. `bishkek chui 12` or `Чуйский пр 12`",
                    schema={
                        "type": "string",
                        "minLength": MIN_QUERY_LENGTH,
                        "maxLength": MAX_QUERY_LENGTH,
                    },
                ),
                lang_param(),
                _limit(MAX_LIMIT),
            ),
            replies=(_reply("The matches, best first"),),
            errors=(400, 500, 503),
        ),
        Operation(
            method="get",
            path="/reverse",
            operation_id="reverseGeocode",
            summary="The nearest addresses to a point, nearest first, with the parcel and "
            "the building of each",
            tags=("search",),
            params=(
                _coordinate("lon", 180),
                _coordinate("lat", 90),
                lang_param(),
                _limit(MAX_REVERSE_LIMIT),
            ),
            replies=(_reply("The nearest addresses"),),
            errors=(400, 500, 503),
        ),
    ]
