"""Tileset documents: OGC API - Tiles tileset lists and metadata, TileJSON 3.0 and a MapLibre
style. Plain dicts for the server to serialise; URLs are built from the base URL it gives."""

from __future__ import annotations

from typing import Any

from layers.geography import CRS84
from layers.model import Layer, Trilingual
from tiles.rules import all_tile_fields
from tiles.settings import TileSettings
from tiles.tilematrix import TileMatrixSet
from tiles.tilesets import Tileset
from tiles.types import BBox

MVT = "application/vnd.mapbox-vector-tile"
TILING_SCHEME_REL = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
BASEMAP_TITLE = Trilingual(
    ky="Улуттук негизги карта", ru="Национальная базовая карта", en="National basemap"
)
BASEMAP_ABSTRACT = Trilingual(
    ky="Административдик чек аралар, суулар, жолдор, калктуу конуштар жана имараттар бир "
    "вектордук плиткада.",
    ru="Административные границы, водные объекты, дороги, населённые пункты и здания в одной "
    "векторной плитке.",
    en="Administrative boundaries, water, roads, places and buildings in one vector tile.",
)
_JSON_TYPES = {
    "text": "string",
    "integer": "integer",
    "bigint": "integer",
    "double": "number",
    "boolean": "boolean",
    "date": "string",
    "timestamptz": "string",
}
_TILEJSON_TYPES = {
    "string": "String",
    "integer": "Number",
    "number": "Number",
    "boolean": "Boolean",
}
_DIMENSION = {
    "Point": 0,
    "MultiPoint": 0,
    "LineString": 1,
    "MultiLineString": 1,
    "Polygon": 2,
    "MultiPolygon": 2,
}


def tileset_title(tileset: Tileset, language: str) -> str:
    """The tileset's title in `language`."""
    return (tileset.layers[0].layer.title if tileset.is_collection else BASEMAP_TITLE).get(language)


def tileset_description(tileset: Tileset, language: str) -> str:
    """The tileset's description in `language`."""
    text = tileset.layers[0].layer.abstract if tileset.is_collection else BASEMAP_ABSTRACT
    return text.get(language)


def _attribution(tileset: Tileset) -> str:
    return " ".join(dict.fromkeys(item.layer.attribution.strip() for item in tileset.layers))


def properties_schema(layer: Layer) -> dict[str, Any]:
    """JSON schema of the attributes a layer's tiles may carry (public fields only)."""
    props: dict[str, Any] = {}
    for f in all_tile_fields(layer):
        schema: dict[str, Any] = {"type": _JSON_TYPES[f.type], "title": f.title.en}
        if f.type == "date":
            schema["format"] = "date"
        elif f.type == "timestamptz":
            schema["format"] = "date-time"
        if f.enum:
            schema["enum"] = list(f.enum)
        props[f.name] = schema
    return {"type": "object", "properties": props}


def tile_template(tiles_url: str, tms: TileMatrixSet) -> str:
    """The OGC URL template of a tileset's tiles."""
    return f"{tiles_url}/{tms.id}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"


def tilesets_list(
    tileset: Tileset, tiles_url: str, sets: list[TileMatrixSet], base_url: str, language: str
) -> dict[str, Any]:
    """`/collections/{id}/tiles` or `/tiles`: the tilesets, one per tile matrix set."""
    return {
        "links": [{"rel": "self", "type": "application/json", "href": tiles_url}],
        "tilesets": [
            {
                "title": tileset_title(tileset, language),
                "dataType": "vector",
                "crs": tms.crs_uri,
                "tileMatrixSetURI": tms.uri,
                "links": [
                    {"rel": "self", "type": "application/json", "href": f"{tiles_url}/{tms.id}"},
                    {
                        "rel": "item",
                        "type": MVT,
                        "templated": True,
                        "href": tile_template(tiles_url, tms),
                    },
                    {
                        "rel": TILING_SCHEME_REL,
                        "type": "application/json",
                        "href": f"{base_url}/TileMatrixSets/{tms.id}",
                    },
                ],
            }
            for tms in sets
        ],
    }


def tileset_metadata(
    tileset: Tileset,
    tms: TileMatrixSet,
    zooms: tuple[int, int],
    tiles_url: str,
    base_url: str,
    settings: TileSettings,
    language: str,
) -> dict[str, Any]:
    """OGC API - Tiles tileset metadata (`/collections/{id}/tiles/{tileMatrixSetId}`)."""
    bounds = BBox(*settings.bounds_4326)
    layers = []
    for item in tileset.layers:
        low = tms.zoom_from_web_mercator(item.minzoom)
        high = tms.zoom_from_web_mercator(item.maxzoom)
        layers.append(
            {
                "id": item.name,
                "title": item.layer.title.get(language),
                "description": item.layer.abstract.get(language),
                "dataType": "vector",
                "geometryDimension": _DIMENSION[item.layer.geometry_type or "Point"],
                "minTileMatrix": str(low),
                "maxTileMatrix": str(high),
                "propertiesSchema": properties_schema(item.layer),
            }
        )
    return {
        "title": tileset_title(tileset, language),
        "description": tileset_description(tileset, language),
        "attribution": _attribution(tileset),
        "dataType": "vector",
        "crs": tms.crs_uri,
        "tileMatrixSetURI": tms.uri,
        "tileMatrixSetLimits": tms.limits(bounds, *zooms),
        "boundingBox": {
            "lowerLeft": [bounds.xmin, bounds.ymin],
            "upperRight": [bounds.xmax, bounds.ymax],
            "crs": CRS84,
        },
        "layers": layers,
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{tiles_url}/{tms.id}"},
            {"rel": "item", "type": MVT, "templated": True, "href": tile_template(tiles_url, tms)},
            {
                "rel": TILING_SCHEME_REL,
                "type": "application/json",
                "href": f"{base_url}/TileMatrixSets/{tms.id}",
            },
            {
                "rel": "alternate",
                "type": "application/vnd.mapbox.tile+json",
                "href": f"{tiles_url}/{tms.id}/tilejson.json",
            },
        ],
    }


def tilejson(
    tileset: Tileset,
    tms: TileMatrixSet,
    zooms: tuple[int, int],
    tiles_url: str,
    settings: TileSettings,
    language: str,
) -> dict[str, Any]:
    """TileJSON 3.0.0 of a Web Mercator tileset (what MapLibre reads as a `vector` source)."""
    bounds = BBox(*settings.bounds_4326)
    vector_layers = []
    for item in tileset.layers:
        props = properties_schema(item.layer)["properties"]
        vector_layers.append(
            {
                "id": item.name,
                "description": item.layer.title.get(language),
                "minzoom": item.minzoom,
                "maxzoom": item.maxzoom,
                "fields": {name: _TILEJSON_TYPES[s["type"]] for name, s in props.items()},
            }
        )
    return {
        "tilejson": "3.0.0",
        "name": tileset_title(tileset, language),
        "description": tileset_description(tileset, language),
        "attribution": _attribution(tileset),
        "scheme": "xyz",
        "tiles": [f"{tiles_url}/{tms.id}/{{z}}/{{y}}/{{x}}"],
        "minzoom": zooms[0],
        "maxzoom": zooms[1],
        "bounds": list(bounds),
        "center": [
            (bounds.xmin + bounds.xmax) / 2,
            (bounds.ymin + bounds.ymax) / 2,
            max(zooms[0], 6),
        ],
        "vector_layers": vector_layers,
    }


def style(tileset: Tileset, tilejson_url: str, source_id: str = "geoportal") -> dict[str, Any]:
    """A MapLibre style drawing the tileset with each layer's declared default style."""
    layers = []
    for item in tileset.layers:
        for index, style_layer in enumerate(item.layer.style):
            entry = dict(style_layer)
            entry.setdefault("id", f"{item.name}-{index}")
            entry.update({"source": source_id, "source-layer": item.name})
            entry.setdefault("minzoom", item.minzoom)
            layers.append(entry)
    return {
        "version": 8,
        "name": tileset.id,
        "sources": {source_id: {"type": "vector", "url": tilejson_url}},
        "layers": layers,
    }
