"""The pygeoapi configuration, generated from the layer catalogue.

Nothing about a collection is written by hand: titles, abstracts and keywords in three
languages, extents, CRS lists, queryables and the provider plugin all come from the layer
declarations in `layers/` and the load bookkeeping in `catalog.layer_stats`.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import yaml

from geoportal.catalogue.records import CATALOGUE_ID
from geoportal.catalogue.resource import catalogue_resource
from geoportal.providers.tiles import tile_provider_config
from layers.catalogue import Catalogue
from layers.geography import CRS84, KYRGYZSTAN_EXTENT_4326
from layers.model import LANGUAGES, SUPPORTED_CRS, Layer, RasterLayer, Trilingual

PROVIDER = "geoportal.providers.features.PostGISFeatureProvider"


def crs_uri(srid: int) -> str:
    """OGC URI of an EPSG code; 4326 storage is lon/lat, i.e. CRS84."""
    return f"http://www.opengis.net/def/crs/EPSG/0/{srid}"


def trilingual(text: Trilingual) -> dict[str, str]:
    """pygeoapi's language struct."""
    return {lang: text.get(lang) for lang in ("en", "ru", "ky")}


@dataclass(frozen=True)
class Extent:
    """What the database knows of a loaded layer's extent."""

    bbox: tuple[float, float, float, float] | None
    time_min: dt.datetime | None = None
    time_max: dt.datetime | None = None


def read_extents(conninfo: str) -> dict[str, Extent]:
    """Spatial (CRS84) and temporal extent of every loaded layer; empty before migrations."""
    try:
        with psycopg.connect(conninfo, connect_timeout=10) as conn:
            rows = conn.execute(
                "SELECT layer_id, bbox_4326, time_min, time_max FROM catalog.layer_stats"
            ).fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        return {}
    return {
        layer_id: Extent(tuple(bbox) if bbox else None, t0, t1)  # type: ignore[arg-type]
        for layer_id, bbox, t0, t1 in rows
    }


def extents_config(extent: Extent | None) -> dict[str, Any]:
    """pygeoapi's `extents` block."""
    bbox = extent.bbox if extent and extent.bbox else KYRGYZSTAN_EXTENT_4326
    block: dict[str, Any] = {"spatial": {"bbox": list(bbox), "crs": CRS84}}
    if extent and extent.time_min and extent.time_max:
        # datetime objects, not text: pygeoapi's `datetime` validation compares with them
        # (with strings every `datetime=` request answers "Configured times should be RFC3339").
        block["temporal"] = {
            "begin": extent.time_min.astimezone(dt.UTC),
            "end": extent.time_max.astimezone(dt.UTC),
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return block


def provider_config(layer: Layer, conninfo: str, statement_timeout_ms: int) -> dict[str, Any]:
    """The feature provider block of one collection."""
    storage = CRS84 if layer.storage_srid == 4326 else crs_uri(layer.storage_srid)
    crs_list = [CRS84] + [crs_uri(srid) for srid in SUPPORTED_CRS]
    return {
        "type": "feature",
        "name": PROVIDER,
        "data": {
            "conninfo": conninfo,
            "schema": layer.schema_name,
            "table": layer.table,
            "layer_id": layer.id,
            "search_fields": list(layer.search_fields),
        },
        "id_field": "id",
        "geom_field": "geom" if layer.has_geometry else None,
        "time_field": layer.time_field,
        "title_field": layer.title_field,
        "storage_crs": storage,
        "crs": crs_list,
        "options": {"statement_timeout_ms": statement_timeout_ms},
        "properties": [f.name for f in layer.public_fields],
    }


def collection_config(
    layer: Layer,
    conninfo: str,
    extent: Extent | None,
    statement_timeout_ms: int,
) -> dict[str, Any]:
    """One pygeoapi collection (resource) from a layer declaration."""
    provider = {
        key: value
        for key, value in provider_config(layer, conninfo, statement_timeout_ms).items()
        if value is not None
    }
    return {
        "type": "collection",
        "title": trilingual(layer.title),
        "description": trilingual(layer.abstract),
        "keywords": {lang: list(getattr(layer.keywords, lang)) for lang in LANGUAGES},
        "links": [
            {
                "type": "text/plain",
                "rel": "license",
                "title": layer.licence,
                "href": "https://creativecommons.org/licenses/"
                if "CC" in layer.licence
                else "https://www.naturalearthdata.com/about/terms-of-use/",
            }
        ],
        "extents": extents_config(extent),
        "providers": [provider] + ([tile_provider_config(layer)] if layer.has_geometry else []),
    }


COVERAGE_PROVIDER = "geoportal.providers.coverage.ImageBankCoverageProvider"
"""pygeoapi's rasterio provider answering `f=GeoTIFF`, on the collection's latest COG at
request time (imported by pygeoapi on first use)."""


@dataclass(frozen=True)
class CoverageSource:
    """Where a raster collection's coverage comes from: the image bank's root (its latest
    scene, looked up per request) and a shipped file used while it has none."""

    bank: Path
    fallback: Path | None = None


def coverage_provider_config(raster_id: str, source: CoverageSource) -> dict[str, Any]:
    """The provider block of a raster collection's coverage."""
    options: dict[str, Any] = {"collection": raster_id}
    if source.fallback is not None:
        options["fallback"] = str(source.fallback)
    return {
        "type": "coverage",
        "name": COVERAGE_PROVIDER,
        "data": str(source.bank),
        "options": options,
        "format": {"name": "GeoTIFF", "mimetype": "image/tiff; application=geotiff"},
    }


def coverage_config(raster: RasterLayer, source: CoverageSource) -> dict[str, Any]:
    """One pygeoapi coverage collection of a raster declaration, declared whether or not
    it has a scene yet (the provider finds the latest COG per request)."""
    return {
        "type": "collection",
        "title": trilingual(raster.title),
        "description": trilingual(raster.abstract),
        "keywords": {lang: list(getattr(raster.keywords, lang)) for lang in LANGUAGES},
        "links": [
            {
                "type": "image/png",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map",
                "title": "Map tilesets",
                "href": f"../collections/{raster.id}/map/tiles",
            }
        ],
        "extents": extents_config(Extent(KYRGYZSTAN_EXTENT_4326)),
        "providers": [coverage_provider_config(raster.id, source)],
    }


def default_base_path() -> Path:
    """`config/pygeoapi-base.yml` of the source tree."""
    return Path(__file__).resolve().parents[2] / "config" / "pygeoapi-base.yml"


def build_config(
    catalogue: Catalogue,
    *,
    public_url: str,
    host: str,
    port: int,
    conninfo: str,
    extents: dict[str, Extent],
    statement_timeout_ms: int,
    default_language: str = "en",
    base_path: Path | None = None,
    coverages: dict[str, CoverageSource] | None = None,
) -> dict[str, Any]:
    """The whole pygeoapi configuration: the base file plus one resource per layer, and a
    coverage per raster declaration in `coverages` (id -> where its COG comes from)."""
    config: dict[str, Any] = yaml.safe_load((base_path or default_base_path()).read_text("utf-8"))
    others = [lang for lang in ("en", "ru", "ky") if lang != default_language]
    config["server"].update(
        {
            "bind": {"host": host, "port": port},
            "url": public_url,
            "languages": [default_language, *others],
        }
    )
    config["metadata"]["identification"]["url"] = public_url
    config["metadata"]["provider"]["url"] = public_url
    config["metadata"]["contact"]["url"] = public_url
    config["resources"] = {
        layer.id: collection_config(layer, conninfo, extents.get(layer.id), statement_timeout_ms)
        for layer in catalogue
    }
    for raster in catalogue.rasters:
        if raster.id in (coverages or {}):
            config["resources"][raster.id] = coverage_config(raster, (coverages or {})[raster.id])
    config["resources"][CATALOGUE_ID] = catalogue_resource(
        catalogue,
        conninfo=conninfo,
        public_url=public_url,
        served=list(config["resources"]),
        statement_timeout_ms=statement_timeout_ms,
        default_language=default_language,
    )
    return config


def write_config(config: dict[str, Any], path: Path) -> Path:
    """Write the configuration (mode 0600: it holds connection strings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path
