"""What route descriptions depend on, and the helpers the families share."""

from __future__ import annotations

from dataclasses import dataclass

from geoportal.server.openapi.model import Param, Reply
from geoportal.server.openapi.schemas import ref
from layers.catalogue import Catalogue
from layers.model import LANGUAGES
from tiles.tilesets import build_registry

JSON = "application/json"
GEOJSON = "application/geo+json"
CQL2_JSON = "application/query-cql-json"
OGC_FEATURES = (
    "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml"
)


@dataclass(frozen=True, kw_only=True)
class RouteContext:
    """What the route descriptions depend on in the catalogue."""

    collections: tuple[str, ...]
    tilesets: tuple[str, ...]
    has_basemap: bool
    editable: tuple[str, ...]


def route_context(catalogue: Catalogue) -> RouteContext:
    """The context of a catalogue."""
    registry = build_registry(catalogue)
    return RouteContext(
        collections=tuple(layer.id for layer in catalogue),
        tilesets=tuple(registry.collections),
        has_basemap=registry.basemap is not None,
        editable=tuple(layer.id for layer in catalogue if layer.is_editable),
    )


def lang_param() -> Param:
    return Param(
        name="lang",
        description="Language of titles and labels (default: the server's)",
        schema={"type": "string", "enum": list(LANGUAGES)},
    )


def json_reply(schema: str, description: str = "OK", headers: tuple[str, ...] = ()) -> Reply:
    return Reply(status=200, description=description, media={JSON: ref(schema)}, headers=headers)
