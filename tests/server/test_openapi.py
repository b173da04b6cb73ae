"""The OpenAPI document: self-contained, valid, and describing every route we serve."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import BaseRoute, Mount, Route

from geoportal.server.app import create_app
from geoportal.server.openapi.vendored import (
    SOURCES,
    UnknownExternalReferenceError,
    inline_external_refs,
    load_vendored,
)
from geoportal.server.security_middleware import UNLIMITED_PATHS
from geoportal.settings import Settings
from layers.catalogue import Catalogue
from tests.support.server import LiveServer

UNDOCUMENTED = {"/openapi"}
"""Served by pygeoapi and described by the document itself."""


@pytest.fixture(scope="module")
def document(live_server: LiveServer) -> dict[str, Any]:
    """The served document."""
    response = httpx.get(f"{live_server.url}/openapi", params={"f": "json"}, timeout=60)
    assert response.status_code == 200
    return response.json()


def references(node: Any) -> Iterator[str]:
    """Every `$ref` in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The target of a local reference (KeyError if there is none)."""
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_reference_is_local_and_resolves(document: dict[str, Any]) -> None:
    refs = set(references(document))
    assert len(refs) > 50
    assert sorted(ref for ref in refs if not ref.startswith("#/")) == []
    for ref in refs:
        resolve(document, ref)


def test_document_validates(document: dict[str, Any]) -> None:
    validate(document)


def test_every_vendored_source_loads() -> None:
    for name in SOURCES.values():
        assert load_vendored(name), name


def test_an_unvendored_reference_is_refused() -> None:
    document = {"paths": {"/x": {"get": {"parameters": [{"$ref": "https://example.org/p.yaml"}]}}}}
    with pytest.raises(UnknownExternalReferenceError, match="example.org/p.yaml"):
        inline_external_refs(document)


def _route_paths(routes: list[BaseRoute]) -> Iterator[tuple[str, set[str]]]:
    for route in routes:
        if isinstance(route, Route) and route.methods:
            yield route.path, {m.lower() for m in route.methods} - {"head"}


def _matches(route_path: str, documented: str) -> bool:
    """Same segments, a path parameter matching any segment on either side."""
    ours, theirs = route_path.split("/"), documented.split("/")
    return len(ours) == len(theirs) and all(
        a == b or a.startswith("{") or b.startswith("{") for a, b in zip(ours, theirs, strict=True)
    )


def test_every_route_is_documented(
    live_server: LiveServer, settings: Settings, document: dict[str, Any]
) -> None:
    app = create_app(settings)
    missing = []
    for path, methods in _route_paths(app.routes):
        for method in methods:
            if path in UNDOCUMENTED:
                continue
            if not any(
                _matches(path, doc) and method in item for doc, item in document["paths"].items()
            ):
                missing.append(f"{method.upper()} {path}")
    assert [r for r in app.routes if isinstance(r, Mount)], "the pygeoapi mount"
    assert missing == []


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "get",
        ),
        ("/tiles/{tileMatrixSetId}/tilejson.json", "get"),
        ("/downloads/pmtiles", "get"),
        ("/search", "get"),
        ("/audit", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/map/config.json", "get"),
        ("/collections/{collectionId}/preview", "get"),
    ],
)
def test_our_routes_are_described(document: dict[str, Any], path: str, method: str) -> None:
    assert method in document["paths"][path]


def test_tiles_are_described_once(document: dict[str, Any], catalogue: Catalogue) -> None:
    """pygeoapi's per-collection tile paths are gone; ours list the collections."""
    tile_paths = [
        p
        for p in document["paths"]
        if "/tiles" in p and p.startswith("/collections/") and "/map/tiles" not in p
    ]
    assert all(p.startswith("/collections/{collectionId}/tiles") for p in tile_paths)
    tile = document["paths"][tile_paths[-1]]["get"]
    assert set(tile["responses"]) >= {"200", "204", "304", "400", "404"}
    assert "application/vnd.mapbox-vector-tile" in tile["responses"]["200"]["content"]


def test_writes_are_described(document: dict[str, Any], catalogue: Catalogue) -> None:
    editable = [layer.id for layer in catalogue if layer.is_editable]
    assert editable
    item = document["paths"][f"/collections/{editable[0]}/items/{{featureId}}"]
    assert {"get", "put", "patch", "delete"} <= set(item)
    put = item["put"]
    assert {p.get("name") for p in put["parameters"]} >= {"Content-Crs", "If-Match"}
    assert {"412", "401", "403"} <= set(put["responses"])
    assert put["security"] == [{"apiKey": []}, {"bearer": []}]
    assert "ETag" in put["responses"]["204"]["headers"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"]["name"] == "X-API-Key" and schemes["bearer"]["bearerFormat"] == "JWT"
    post = document["paths"][f"/collections/{editable[0]}/items"]["post"]
    assert {"application/query-cql-json", "application/geo+json"} <= set(
        post["requestBody"]["content"]
    )


def test_a_retired_parcel_is_documented_as_gone(document: dict[str, Any]) -> None:
    """Only the land register's items answer 410 (a retired parcel, read or written), and
    say so."""
    gone = [
        path
        for path, item in document["paths"].items()
        if path.startswith("/collections/") and "410" in item.get("get", {}).get("responses", {})
    ]
    assert gone == ["/collections/cadastre_parcels/items/{featureId}"]
    item = document["paths"][gone[0]]
    assert all("410" in item[method]["responses"] for method in ("put", "patch", "delete"))


def test_errors_are_problem_documents(document: dict[str, Any]) -> None:
    problem = document["components"]["responses"]["Problem404"]["content"]
    assert "application/problem+json" in problem
    schema = document["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "instance", "code", "requestId"} <= set(schema)


def test_middleware_answers_are_documented(document: dict[str, Any]) -> None:
    """Rate limit (not on health), invalid credentials and masked failures, everywhere."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert {"401", "500"} <= set(operation["responses"]), (method, path)
                assert ("429" in operation["responses"]) != (path in UNLIMITED_PATHS)
