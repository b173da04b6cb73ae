"""JSON schemas of the bodies our own routes answer (registered as `components/schemas`).

They say what a client may rely on and leave room for more members (`additionalProperties`
is not closed): a new field in an answer is not a breaking change.
"""

from __future__ import annotations

from typing import Any

OGC_TILES = "https://schemas.opengis.net/ogcapi/tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml"
LINK: dict[str, Any] = {"$ref": f"{OGC_TILES}#/components/schemas/link"}
"""The OGC API - Common link (vendored, inlined at build)."""

LINKS = {"type": "array", "items": LINK}
STRING = {"type": "string"}
BBOX = {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}

STATUS = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]}, "detail": STRING},
}

TILESET_ITEM = {
    "type": "object",
    "required": ["dataType", "links"],
    "properties": {
        "title": STRING,
        "dataType": {"type": "string", "enum": ["vector", "map", "coverage"]},
        "crs": STRING,
        "tileMatrixSetURI": STRING,
        "links": LINKS,
    },
}

TILESETS = {
    "type": "object",
    "required": ["tilesets"],
    "properties": {
        "links": LINKS,
        "tilesets": {"type": "array", "items": {"$ref": "#/components/schemas/TileSetItem"}},
    },
}

TILESET = {
    "type": "object",
    "description": "OGC API - Tiles tileset metadata (2D Tile Matrix Set and Tileset Metadata).",
    "required": ["dataType", "crs", "links"],
    "properties": {
        "title": STRING,
        "description": STRING,
        "attribution": STRING,
        "dataType": {"type": "string", "enum": ["vector", "map", "coverage"]},
        "crs": STRING,
        "tileMatrixSetURI": STRING,
        "tileMatrixSetLimits": {"type": "array", "items": {"type": "object"}},
        "boundingBox": {"type": "object"},
        "layers": {"type": "array", "items": {"type": "object"}},
        "links": LINKS,
    },
}

TILEJSON = {
    "type": "object",
    "description": "TileJSON 3.0.0 (WebMercatorQuad only).",
    "required": ["tilejson", "tiles"],
    "properties": {
        "tilejson": STRING,
        "name": STRING,
        "tiles": {"type": "array", "items": STRING},
        "minzoom": {"type": "integer"},
        "maxzoom": {"type": "integer"},
        "bounds": BBOX,
        "vector_layers": {"type": "array", "items": {"type": "object"}},
    },
}

STYLE = {
    "type": "object",
    "description": "A MapLibre style (version 8) drawing the tileset.",
    "required": ["version", "sources", "layers"],
    "properties": {
        "version": {"type": "integer", "enum": [8]},
        "name": STRING,
        "sources": {"type": "object"},
        "layers": {"type": "array", "items": {"type": "object"}},
    },
}

SEARCH_RESULTS = {
    "type": "object",
    "required": ["query", "lang", "results"],
    "properties": {
        "query": STRING,
        "lang": STRING,
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["collection", "id", "label", "bbox"],
                "properties": {
                    "collection": {"type": "string", "description": "collection id"},
                    "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    "label": {"type": "string", "description": "in the requested language"},
                    "layer": {"type": "string", "description": "the collection's title"},
                    "kind": {
                        "type": "string",
                        "description": "place, water, peak, road, street, address, parcel, "
                        "code or feature",
                    },
                    "score": {"type": "number", "description": "higher is a better match"},
                    "bbox": BBOX,
                },
            },
        },
    },
}

AUDIT_LOAD = {
    "type": "object",
    "description": "One file load's change set (audit.loads).",
    "properties": {
        "id": {"type": "integer"},
        "loaded_at": {"type": "string", "format": "date-time"},
        "user_name": STRING,
        "user_role": STRING,
        "layer_id": STRING,
        "source_file": STRING,
        "mode": {"type": "string", "enum": ["replace", "append", "upsert"]},
        "inserted": {"type": "integer", "minimum": 0},
        "updated": {"type": "integer", "minimum": 0},
        "deleted": {"type": "integer", "minimum": 0},
        "skipped": {"type": "integer", "minimum": 0},
        "job_id": {"type": "string", "format": "uuid", "nullable": True},
        "transaction_id": {"type": "integer"},
        "links": {"type": "array", "items": {"type": "object"}},
        "statements": {
            "type": "array",
            "description": "The load's statements on the layer (`/audit/loads/{loadId}`).",
            "items": {
                "type": "object",
                "properties": {
                    "operation": STRING,
                    "changed_at": {"type": "string", "format": "date-time"},
                },
            },
        },
    },
}

AUDIT_RECORDS = {
    "type": "object",
    "required": ["records", "numberReturned"],
    "properties": {
        "kind": {"type": "string", "enum": ["changes", "loads"]},
        "records": {
            "type": "array",
            "items": {
                "anyOf": [
                    {
                        "type": "object",
                        "description": "A change made through the API (kind=changes).",
                        "properties": {
                            "id": {"type": "integer"},
                            "changed_at": {"type": "string", "format": "date-time"},
                            "user_name": {"type": "string", "nullable": True},
                            "user_role": {"type": "string", "nullable": True},
                            "db_role": STRING,
                            "layer_id": STRING,
                            "feature_id": {"type": "integer", "nullable": True},
                            "operation": STRING,
                            "before": {"type": "object", "nullable": True},
                            "after": {"type": "object", "nullable": True},
                        },
                    },
                    AUDIT_LOAD,
                ]
            },
        },
        "numberReturned": {"type": "integer", "minimum": 0},
        "next": {"type": "integer", "description": "`before=` value of the next page"},
    },
}

VIEWER_CONFIG = {
    "type": "object",
    "description": "What the map viewer knows about the layers, themes and languages.",
    "required": ["base", "languages", "layers"],
    "properties": {
        "base": STRING,
        "languages": {"type": "array", "items": STRING},
        "default_language": STRING,
        "basemap": {"type": "object"},
        "layers": {"type": "array", "items": {"type": "object"}},
    },
}

FEATURE_INPUT = {
    "type": "object",
    "description": (
        "A GeoJSON Feature; its properties are checked against the layer's declared fields "
        "(a 400 names the field), its geometry is in the `Content-Crs` of the request."
    ),
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "geometry": {"type": "object", "nullable": True},
        "properties": {"type": "object", "nullable": True},
    },
}

STATUS_INFO = {
    "type": "object",
    "description": "OGC API Processes statusInfo (a job of the geoportal's queue).",
    "required": ["jobID", "status", "type"],
    "properties": {
        "jobID": {"type": "string", "format": "uuid"},
        "type": {"type": "string", "enum": ["process"]},
        "processID": STRING,
        "title": STRING,
        "status": {
            "type": "string",
            "enum": ["accepted", "running", "successful", "failed", "dismissed"],
        },
        "message": {"type": "string", "nullable": True},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "created": {"type": "string", "format": "date-time"},
        "started": {"type": "string", "format": "date-time"},
        "finished": {"type": "string", "format": "date-time"},
        "updated": {"type": "string", "format": "date-time"},
        "links": LINKS,
    },
}

JOB_LIST = {
    "type": "object",
    "required": ["jobs", "links"],
    "properties": {
        "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/StatusInfo"}},
        "links": LINKS,
    },
}

JOB_RESULTS = {
    "type": "object",
    "description": "The results of the job's kind (a layer load: layer, featureCount, ...).",
}

SCHEMAS: dict[str, Any] = {
    "StatusInfo": STATUS_INFO,
    "JobList": JOB_LIST,
    "JobResults": JOB_RESULTS,
    "Status": STATUS,
    "TileSetItem": TILESET_ITEM,
    "TileSets": TILESETS,
    "TileSet": TILESET,
    "TileJSON": TILEJSON,
    "MapLibreStyle": STYLE,
    "SearchResults": SEARCH_RESULTS,
    "AuditRecords": AUDIT_RECORDS,
    "AuditLoad": AUDIT_LOAD,
    "ViewerConfig": VIEWER_CONFIG,
    "FeatureInput": FEATURE_INPUT,
}


def ref(name: str) -> dict[str, str]:
    """A reference to one of `SCHEMAS`."""
    assert name in SCHEMAS, name
    return {"$ref": f"#/components/schemas/{name}"}
