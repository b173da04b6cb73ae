"""The viewer's configuration document (`/map/config.json`), derived from the catalogue.

Everything the map page knows about the layers comes from here: themes and trilingual
titles, MapLibre style layers generated from each declaration's `style`, legends, public
fields for popups, the time field and temporal extent, 3D extrusion of buildings, related
tables (sensor readings) and which downloads the server really offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyproj

from exports.formats import FORMATS
from geoportal.catalogue.records import CATALOGUE_ID, THEME_TITLES
from geoportal.viewer.attribution import translated_attribution
from geoportal.viewer.legend import COLOR_PAINT, layer_legend
from geoportal.viewer.neighbours import NEIGHBOURS
from layers.catalogue import Catalogue
from layers.geography import KYRGYZSTAN_BBOX_4326
from layers.model import LANGUAGES, Layer, Trilingual
from tiles.tilesets import BASEMAP_LAYERS

TMS = "WebMercatorQuad"
HEIGHT_FIELD = "height_m"
DEFAULT_VISIBLE = frozenset(
    {"country", "oblasts", "lakes", "rivers", "roads", "settlements", "buildings"}
    | {"glaciers", "peaks", "urban_areas"}  # the basemap to find one's way by (labels, fills)
)
KYRGYZSTAN_VIEW = {"center": [74.6, 41.4], "zoom": 6, "bounds": list(KYRGYZSTAN_BBOX_4326)}
"""The first view: the whole country (Talas and Batken included) framed on any screen."""
POPUP_TITLES = {"hazard_zones": ["hazard_type", "hazard_level"]}
"""Layers whose title field is a long text: the popup title joins these fields' labels."""


@dataclass(frozen=True)
class Capabilities:
    """What the running server offers beyond the OGC API (checked, never assumed)."""

    pmtiles: bool = False
    """`GET /downloads/pmtiles?layers=&bbox=&maxzoom=` is routed."""
    geopackage: bool = False
    """A GeoPackage export endpoint is routed."""
    exports: bool = False
    """`GET /downloads/{format}?layers=&bbox=&datetime=` is routed (every file format)."""
    csv_collections: frozenset[str] = frozenset()
    """Collections whose items pygeoapi serves as `f=csv` (a CSV formatter is configured)."""
    max_items: int = 10_000
    """pygeoapi's largest page (`server.limits.max_items`): a GeoJSON download's cap."""
    external_basemap: str | None = None
    """XYZ template of optional raster tiles under the layers (deployments with internet)."""
    external_attribution: str = ""


KYRG06_ZONES = (7692, 7693, 7694, 7695, 7696)
"""Kyrg-06 / zones 1-5 (EPSG), the national grid shown beside the pointer's WGS 84."""


def grid_zones() -> list[dict[str, Any]]:
    """The transverse Mercator parameters of the Kyrg-06 zones, from PROJ."""
    zones = []
    for code in KYRG06_ZONES:
        crs = pyproj.CRS.from_epsg(code)
        params = {p.name: p.value for p in crs.coordinate_operation.params}
        zones.append(
            {
                "epsg": code,
                "name": crs.name.replace(" / zone ", " z"),
                "lon0": params["Longitude of natural origin"],
                "k0": params["Scale factor at natural origin"],
                "x0": params["False easting"],
                "y0": params["False northing"],
            }
        )
    return zones


def trilingual(text: Trilingual | dict[str, str]) -> dict[str, str]:
    """A {ky, ru, en} dict."""
    if isinstance(text, Trilingual):
        return {lang: text.get(lang) for lang in LANGUAGES}
    return {lang: text.get(lang) or text.get("en", "") for lang in LANGUAGES}


def style_layers(layer: Layer, source: str) -> list[dict[str, Any]]:
    """MapLibre style layers of `layer` drawn from `source`, ids `<layer id>-<n>`."""
    out = []
    for index, declared in enumerate(layer.style):
        entry = dict(declared)
        entry.update({"id": f"{layer.id}-{index}", "source": source, "source-layer": layer.id})
        entry.setdefault("minzoom", layer.zoom.min)
        out.append(entry)
    return out


def extrusion(layer: Layer) -> dict[str, Any] | None:
    """A fill-extrusion layer for polygons with a height (city twins), or None."""
    if layer.geometry_type not in ("Polygon", "MultiPolygon") or HEIGHT_FIELD not in {
        f.name for f in layer.fields
    }:
        return None
    fill = next((s for s in layer.style if s.get("type") == "fill"), {})
    color = fill.get("paint", {}).get(COLOR_PAINT["fill"], "#cccccc")
    return {
        "id": f"{layer.id}-3d",
        "type": "fill-extrusion",
        "source-layer": layer.id,
        "minzoom": layer.zoom.min,
        "paint": {
            "fill-extrusion-color": color,
            "fill-extrusion-height": ["get", HEIGHT_FIELD],
            "fill-extrusion-opacity": 0.9,
        },
    }


def related_tables(catalogue: Catalogue, layer: Layer) -> list[dict[str, Any]]:
    """Tables without geometry that reference `layer` (e.g. a sensor's readings)."""
    out = []
    for other in catalogue:
        if other.has_geometry:
            continue
        for f in other.fields:
            if f.references == layer.id:
                numeric = [
                    g
                    for g in other.public_fields
                    if g.type in ("double", "integer") and g.name != f.name
                ]
                out.append(
                    {
                        "collection": other.id,
                        "field": f.name,
                        "time_field": other.time_field,
                        "title": trilingual(other.title),
                        "values": [{"name": g.name, "title": trilingual(g.title)} for g in numeric],
                    }
                )
    return out


def composite_members(catalogue: Catalogue) -> dict[str, list[str]]:
    """Per theme, the layers drawn from one composite tile source (`/tiles/...?collections=`):
    every layer with a style outside the basemap (the time slider's `datetime=` filters the
    layers of a composite tile that have a time field)."""
    out: dict[str, list[str]] = {}
    for layer in catalogue:
        if layer.has_geometry and layer.style and layer.id not in BASEMAP_LAYERS:
            out.setdefault(layer.theme, []).append(layer.id)
    return out


def layer_source(
    layer: Layer, base_url: str, composites: dict[str, list[str]]
) -> tuple[str, str | None]:
    """The MapLibre source id of a layer and its tile URL template (None: the basemap)."""
    if layer.id in BASEMAP_LAYERS:
        return "basemap", None
    members = composites.get(layer.theme, [])
    if layer.id in members:
        return (
            f"theme-{layer.theme}",
            f"{base_url}/tiles/{TMS}/{{z}}/{{y}}/{{x}}?collections={','.join(members)}",
        )
    return f"layer-{layer.id}", f"{base_url}/collections/{layer.id}/tiles/{TMS}/{{z}}/{{y}}/{{x}}"


def layer_config(
    layer: Layer,
    catalogue: Catalogue,
    base_url: str,
    temporal: dict[str, Any] | None,
    capabilities: Capabilities,
) -> dict[str, Any]:
    """One layer of the viewer's panel."""
    source, tiles = layer_source(layer, base_url, composite_members(catalogue))
    downloads = {
        "geojson": f"{base_url}/collections/{layer.id}/items?f=json",
        "csv": (
            f"{base_url}/collections/{layer.id}/items?f=csv"
            if layer.id in capabilities.csv_collections
            else None
        ),
    }
    time = None
    if layer.time_field and temporal:
        time = {
            "field": layer.time_field,
            "begin": temporal.get("begin"),
            "end": temporal.get("end"),
        }
    return {
        "id": layer.id,
        "theme": layer.theme,
        "title": trilingual(layer.title),
        "geometry": layer.geometry_type,
        "minzoom": layer.zoom.min,
        "maxzoom": layer.zoom.max,
        "source": source,
        "tiles": tiles,
        "style": style_layers(layer, source),
        "extrusion": extrusion(layer),
        "legend": layer_legend(layer),
        "attribution": layer.attribution,
        "attribution_i18n": translated_attribution(layer.attribution),
        "licence": layer.licence,
        "visible": layer.id in DEFAULT_VISIBLE,
        "title_field": layer.title_field,
        "fields": [
            {
                "name": f.name,
                "type": f.type,
                "title": trilingual(f.title),
                "labels": {v: trilingual(label) for v, label in f.labels.items()}
                if f.labels
                else None,
            }
            for f in layer.public_fields
        ],
        "popup_title": POPUP_TITLES.get(layer.id),
        "time": time,
        "related": related_tables(catalogue, layer),
        "items": f"{base_url}/collections/{layer.id}/items",
        "record": f"{base_url}/collections/{CATALOGUE_ID}/items/{layer.id}",
        "downloads": downloads,
    }


def viewer_config(
    catalogue: Catalogue,
    base_url: str,
    default_language: str,
    temporal: dict[str, dict[str, Any]],
    capabilities: Capabilities,
) -> dict[str, Any]:
    """The whole `/map/config.json` document.

    Args:
        catalogue: the declared layers (those without geometry are left out of the panel).
        base_url: public URL of the server, no trailing slash.
        default_language: the language of a first visit.
        temporal: per collection id, pygeoapi's temporal extent (`begin`, `end`).
        capabilities: the optional endpoints this server really has.
    """
    layers = [
        layer_config(layer, catalogue, base_url, temporal.get(layer.id), capabilities)
        for layer in catalogue
        if layer.has_geometry and layer.style
    ]
    themes = list(dict.fromkeys(layer["theme"] for layer in layers))
    return {
        "base": base_url,
        "languages": list(LANGUAGES),
        "default_language": default_language,
        "view": KYRGYZSTAN_VIEW,
        "grid": grid_zones(),
        "basemap": {
            "tilejson": f"{base_url}/tiles/{TMS}/tilejson.json",
            "layers": [lid for lid in BASEMAP_LAYERS if lid in catalogue.ids],
        },
        "external_basemap": {
            "tiles": capabilities.external_basemap,
            "attribution": capabilities.external_attribution,
        }
        if capabilities.external_basemap
        else None,
        "themes": [
            {"id": theme, "title": trilingual(THEME_TITLES.get(theme, {"en": theme}))}
            for theme in themes
        ],
        "layers": layers,
        "neighbours": list(NEIGHBOURS),
        "search": f"{base_url}/search",
        "downloads": {
            "pmtiles": f"{base_url}/downloads/pmtiles" if capabilities.pmtiles else None,
            "geopackage": f"{base_url}/downloads/geopackage"
            if capabilities.geopackage or capabilities.exports
            else None,
            "export": f"{base_url}/downloads" if capabilities.exports else None,
            "formats": list(FORMATS) if capabilities.exports else [],
            "max_items": capabilities.max_items,
        },
        "links": {
            "api": f"{base_url}/",
            "collections": f"{base_url}/collections",
            "catalogue": f"{base_url}/collections/{CATALOGUE_ID}/items",
        },
    }
