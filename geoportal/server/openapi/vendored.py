"""A self-contained document: every `$ref` to an OGC document on the internet is read from
the copy vendored in `ogc/` (no network at build time) and inlined into `components`.

`SOURCES` maps each external document to its vendored file; a reference to a document not
listed there is an error at start-up, not a broken link in a closed network.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

SOURCES: dict[str, str] = {
    "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml": (
        "ogcapi-features-1.yaml"
    ),
    "https://schemas.opengis.net/ogcapi/tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml": (
        "ogcapi-tiles-1.yaml"
    ),
    "https://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi/schemas/exception.yaml": (
        "processes-exception.yaml"
    ),
    "https://schemas.opengis.net/cql2/1.0/cql2.json": "cql2.yaml",
    "https://raw.githubusercontent.com/opengeospatial/ogcapi-coverages/refs/heads/master/"
    "standard/openapi/ogcapi-coverages-1.yaml": "coverages-subset.yaml",
    "https://raw.githubusercontent.com/opengeospatial/ogcapi-records/master/core/openapi/"
    "parameters/q.yaml": "records-q.yaml",
    "https://raw.githubusercontent.com/opengeospatial/ogcapi-records/master/core/openapi/"
    "parameters/sortby.yaml": "records-sortby.yaml",
}
"""External document -> vendored file in `geoportal/server/openapi/ogc/`."""

KINDS = ("schemas", "parameters", "responses", "headers", "requestBodies", "examples")


class UnknownExternalReferenceError(ValueError):
    """A `$ref` names a document that is not vendored in `ogc/`."""


@cache
def load_vendored(name: str) -> Any:
    """A vendored OGC document, parsed."""
    text = resources.files("geoportal.server.openapi").joinpath("ogc", name).read_text("utf-8")
    return yaml.safe_load(text)


def _child_kind(key: str, kind: str) -> str:
    """What a `$ref` found below `key` refers to (schemas stay schemas)."""
    if kind == "schemas":
        return kind
    if key in ("schema", "schemas", "items", "properties", "additionalProperties"):
        return "schemas"
    if key in ("parameters", "responses", "headers", "requestBodies", "examples"):
        return key
    if key == "requestBody":
        return "requestBodies"
    return kind


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in filter(None, pointer.split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@dataclass
class Inliner:
    """Inlines vendored components into one document's `components`."""

    components: dict[str, dict[str, Any]]
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    """(vendored file, JSON pointer) -> the local `$ref` it was inlined as."""

    def walk(self, node: Any, kind: str, base: str | None = None) -> Any:
        """`node` with its external references (or, inside a vendored file `base`, all its
        references) replaced by references into `components`."""
        if isinstance(node, list):
            return [self.walk(item, kind, base) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and (base is not None or not ref.startswith("#")):
            return {"$ref": self.local_ref(ref, kind, base)}
        return {key: self.walk(value, _child_kind(key, kind), base) for key, value in node.items()}

    def walk_components(self) -> None:
        """Inline the external references of the components themselves."""
        for kind, section in list(self.components.items()):
            for name in list(section):  # components inlined meanwhile are already walked
                section[name] = self.walk(section[name], kind)

    def local_ref(self, ref: str, kind: str, base: str | None) -> str:
        """The `#/components/...` reference of `ref`, inlining its target on first use."""
        document, _, pointer = ref.partition("#")
        if not document:
            if base is None:
                return ref
            name = base
        elif base is not None and "://" not in document:
            name = document  # a file beside the vendored one
        elif document in SOURCES:
            name = SOURCES[document]
        else:
            raise UnknownExternalReferenceError(
                f"$ref {ref!r} names a document that is not vendored; add it to "
                "geoportal/server/openapi/ogc/ and to vendored.SOURCES"
            )
        key = (name, pointer)
        if key not in self.names:
            self._inline(name, pointer, kind)
        return self.names[key]

    def _inline(self, name: str, pointer: str, kind: str) -> None:
        parts = [part for part in pointer.split("/") if part]
        if len(parts) == 3 and parts[0] == "components" and parts[1] in KINDS:
            kind, wanted = parts[1], parts[2]
        elif parts:
            wanted = parts[-1]
        else:
            wanted = name.rsplit(".", 1)[0]
        section = self.components.setdefault(kind, {})
        target = copy.deepcopy(_pointer(load_vendored(name), pointer))
        local = wanted
        counter = 1
        while local in section and section[local] != target:
            counter += 1
            local = f"{wanted}-{counter}"
        self.names[(name, pointer)] = f"#/components/{kind}/{local}"
        section[local] = {}  # taken before walking: the definitions may be recursive
        section[local] = self.walk(target, kind, base=name)


def inline_external_refs(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every external `$ref` inlined from the vendored OGC documents.

    Raises:
        UnknownExternalReferenceError: a reference to a document that is not vendored.
    """
    components: dict[str, dict[str, Any]] = copy.deepcopy(document.get("components", {}))
    inliner = Inliner(components)
    rest = {key: value for key, value in document.items() if key != "components"}
    walked = inliner.walk(rest, "")
    inliner.walk_components()
    return {**walked, "components": components}
