"""Corrections of pygeoapi's generated operations to what the server actually answers.

pygeoapi 0.24 documents one media type per answer where it answers one per `f` value, gives
`/conformance` and `/collections` the landing page's schema, documents errors as OGC
exceptions where it (and the geoportal's routes) answer problem documents in the format
asked, and documents `POST .../items` with `application/json` as a CQL2 search, which the
geoportal answers as a Part 4 write (a search is `application/query-cql-json`).
"""

from __future__ import annotations

import copy
from typing import Any

from cadastre.history import REGISTER_LAYERS
from geoportal.server.openapi.components import problem_response_name
from geoportal.server.openapi.context import CQL2_JSON, JSON, OGC_FEATURES
from geoportal.server.openapi.vendored import Inliner

F_MEDIA = {
    "json": JSON,
    "html": "text/html",
    "jsonld": "application/ld+json",
    "csv": "text/csv",
}
"""What pygeoapi answers for each value of `f`."""

RESPONSE_FIXES = {
    "/conformance": "ConformanceDeclaration",
    "/collections": "Collections",
}
"""Paths whose 200 answer pygeoapi documents as the landing page, and the right response."""

RETIRING_ITEMS = frozenset(f"/collections/{layer}/items/{{featureId}}" for layer in REGISTER_LAYERS)
"""Items of the land register: a retired one answers 410 (`server/cadastre_retired.py`)."""

QUERYABLES: dict[str, Any] = {
    "type": "object",
    "description": (
        "The queryables (or the schema) of a collection: a JSON Schema document whose "
        "`properties` are the fields (OGC API - Features - Part 3)."
    ),
    "required": ["type", "properties"],
    "properties": {
        "$schema": {"type": "string"},
        "$id": {"type": "string"},
        "type": {"type": "string", "enum": ["object"]},
        "title": {"type": "string"},
        "properties": {"type": "object", "additionalProperties": {"type": "object"}},
    },
}
"""What `/collections/{id}/queryables` and `/schema` answer (pygeoapi documents a list)."""

SCHEMA_JSON = "application/schema+json"
ANY_JSON: dict[str, Any] = {"type": "object"}


def correct_components(components: dict[str, dict[str, Any]]) -> None:
    """Components of pygeoapi's that describe something else than what is answered."""
    if "queryables" in components.get("schemas", {}):
        components["schemas"]["queryables"] = QUERYABLES
    # its description of the tile paths it no longer documents (families/tiles.py does)
    components.get("responses", {}).pop("Tiles", None)
    for name in ("tiles", "tilematrixsetlink"):
        components.get("schemas", {}).pop(name, None)


def resolve(components: dict[str, dict[str, Any]], node: Any) -> Any:
    """`node`, or the component its local `$ref` names."""
    while isinstance(node, dict) and "$ref" in node:
        _, _, kind, name = node["$ref"].split("/", 3)
        node = components[kind][name]
    return node


def f_values(operation: dict[str, Any], components: dict[str, dict[str, Any]]) -> list[str]:
    """The values the operation's `f` parameter admits."""
    for parameter in operation.get("parameters", []):
        parameter = resolve(components, parameter)
        if parameter.get("name") == "f" and parameter.get("in") == "query":
            return list(parameter.get("schema", {}).get("enum", []))
    return []


def correct_operation(
    path: str, method: str, operation: dict[str, Any], inliner: Inliner
) -> dict[str, Any]:
    """One pygeoapi operation, describing what is actually answered (`inliner` holds the
    document's components and inlines the OGC responses it refers to)."""
    components = inliner.components
    responses = operation.get("responses", {})
    for status in list(responses):
        if status[:1] in ("4", "5"):
            name = problem_response_name(int(status), engine=True)
            responses[status] = {"$ref": f"#/components/responses/{name}"}
    if method == "get" and path in RETIRING_ITEMS:
        responses["410"] = {"$ref": f"#/components/responses/{problem_response_name(410)}"}
    if path in RESPONSE_FIXES and "200" in responses:
        ogc = f"{OGC_FEATURES}#/components/responses/{RESPONSE_FIXES[path]}"
        responses["200"] = inliner.walk({"$ref": ogc}, "responses")
    if "200" in responses:
        responses["200"] = _with_formats(path, operation, responses["200"], components)
    body = operation.get("requestBody", {}).get("content", {})
    if method == "post" and str(operation.get("operationId", "")).startswith("getCQL2"):
        body[CQL2_JSON] = body.pop(JSON, {"schema": {}})
    return operation


def _with_formats(
    path: str,
    operation: dict[str, Any],
    response: dict[str, Any],
    components: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The 200 answer with a media type for each `f` value (an inline copy if shared)."""
    answer = copy.deepcopy(resolve(components, response))
    content = answer.setdefault("content", {})
    documented = next(iter(content.values()), {}).get("schema", ANY_JSON)
    wanted = [F_MEDIA[f] for f in f_values(operation, components) if f in F_MEDIA]
    if path.endswith(("/schema", "/queryables")):
        wanted.append(SCHEMA_JSON)  # pygeoapi's JSON answer of a schema
    for media in wanted:
        if media not in content:
            content[media] = {"schema": _schema_of(media, documented)}
    if content.get(JSON) is None and "application/geo+json" in content:
        content[JSON] = content["application/geo+json"]  # the fast path answers JSON
    return answer


def _schema_of(media: str, documented: Any) -> Any:
    """The schema of an answer in `media`, given the documented JSON one."""
    if media.startswith("text/"):
        return {"type": "string"}
    if media == "application/ld+json":
        return ANY_JSON  # schema.org terms, not the JSON document's members
    return documented
