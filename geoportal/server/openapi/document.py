"""The OpenAPI document we serve: pygeoapi's, corrected where we answer ourselves, plus our
route families, made self-contained.

Steps, in order:

1. pygeoapi's description of what our routes replace is removed (its per-collection tile
   paths: `tiles_routes.py` serves `/collections/{collectionId}/tiles/...`; its processes
   and jobs paths: `families/processes.py` and `families/jobs.py` describe them);
2. every `$ref` to an OGC document on the internet is inlined from `ogc/` (`vendored.py`),
   for pygeoapi's operations first, for ours at the end;
3. pygeoapi's operations are corrected to what is answered (`pygeoapi_fixes.py`);
4. the operations of `families.FAMILIES` are added (replacing pygeoapi's on the same path and
   method), with the shared components (`components.py`, `schemas.py`);
5. what the security middleware answers in front of every route is added to every
   operation: 401 (credentials sent but invalid), 429 (rate limit of anonymous clients),
   413 (a body too large), 500 (any failure, without internals).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from geoportal.server.openapi.components import problem_response_name, shared_components
from geoportal.server.openapi.context import route_context
from geoportal.server.openapi.families import FAMILIES
from geoportal.server.openapi.model import add_operations
from geoportal.server.openapi.pygeoapi_fixes import correct_components, correct_operation
from geoportal.server.openapi.schemas import SCHEMAS
from geoportal.server.openapi.vendored import Inliner
from geoportal.server.security_middleware import UNLIMITED_PATHS
from layers.catalogue import Catalogue

REPLACED_PATHS = re.compile(r"^(/collections/[^/{]+/tiles|/processes|/jobs)(/|$)")
"""pygeoapi paths that our own routes or families describe instead (tiles; processes and jobs,
whose pygeoapi description names OGC API Processes documents on the internet)."""

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def build_document(pygeoapi_document: dict[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    """The whole, self-contained OpenAPI document of the geoportal.

    Raises:
        UnknownExternalReferenceError: a `$ref` to a document that is not vendored.
    """
    document = copy.deepcopy(pygeoapi_document)
    components: dict[str, dict[str, Any]] = document.setdefault("components", {})
    for kind, entries in shared_components().items():
        components.setdefault(kind, {}).update(entries)
    components.setdefault("schemas", {}).update(SCHEMAS)
    inliner = Inliner(components)
    paths = {
        path: inliner.walk(item, "")
        for path, item in document["paths"].items()
        if not REPLACED_PATHS.match(path)
    }
    inliner.walk_components()
    correct_components(components)
    for path, item in paths.items():
        for method in METHODS:
            if method in item:
                item[method] = correct_operation(path, method, item[method], inliner)
    context = route_context(catalogue)
    for family in FAMILIES:
        add_operations(paths, family(context))
    document["paths"] = {path: inliner.walk(item, "") for path, item in paths.items()}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                add_middleware_responses(path, item[method])
    return document


def add_middleware_responses(path: str, operation: dict[str, Any]) -> None:
    """The answers of the security middleware, where the operation does not list them."""
    statuses = [401, 500]
    if path not in UNLIMITED_PATHS:
        statuses.append(429)
    if "requestBody" in operation:
        statuses.append(413)
    responses = operation.setdefault("responses", {})
    for status in statuses:
        name = problem_response_name(status)
        responses.setdefault(str(status), {"$ref": f"#/components/responses/{name}"})
