"""Small typed descriptions of our operations, turned into OpenAPI 3.0 path items.

A route family (`families.py`) lists `Operation`s; `Operation.to_openapi()` writes the
operation object. Errors are named by status only: each becomes a reference to the shared
problem response of that status (`components.problem_response_name`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from geoportal.server.openapi.components import problem_response_name

Schema = Mapping[str, Any]
ParamLocation = Literal["query", "path", "header"]

STRING: Schema = {"type": "string"}
BINARY: Schema = {"type": "string", "format": "binary"}
HTML: Schema = {"type": "string"}


@dataclass(frozen=True, kw_only=True)
class Param:
    """A parameter written in place (`ref` empty) or a reference to a shared one (`ref`)."""

    name: str = ""
    where: ParamLocation = "query"
    description: str = ""
    schema: Schema = field(default_factory=lambda: STRING)
    required: bool = False
    ref: str = ""
    """`#/components/parameters/...` or an OGC document's parameter (vendored at build)."""

    def to_openapi(self) -> dict[str, Any]:
        """The parameter object (or its reference)."""
        if self.ref:
            return {"$ref": self.ref}
        explode = {"style": "form", "explode": False} if self.where == "query" else {}
        return {
            "name": self.name,
            "in": self.where,
            "description": self.description,
            "required": self.required or self.where == "path",
            "schema": dict(self.schema),
            **explode,
        }


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A successful (or not-modified) answer: its status, media types and headers."""

    status: int
    description: str
    media: Mapping[str, Schema] = field(default_factory=dict)
    """Media type -> schema of the body; empty for 204 and 304."""
    headers: tuple[str, ...] = ()
    """Names of header components (`#/components/headers/<name>`)."""

    def to_openapi(self) -> dict[str, Any]:
        """The response object."""
        response: dict[str, Any] = {"description": self.description}
        if self.media:
            response["content"] = {
                media: {"schema": dict(schema)} for media, schema in self.media.items()
            }
        if self.headers:
            response["headers"] = {
                name: {"$ref": f"#/components/headers/{name}"} for name in self.headers
            }
        return response


@dataclass(frozen=True, kw_only=True)
class Body:
    """A request body: media type -> schema."""

    media: Mapping[str, Schema]
    description: str = ""
    required: bool = True

    def to_openapi(self) -> dict[str, Any]:
        """The request body object."""
        return {
            "description": self.description,
            "required": self.required,
            "content": {media: {"schema": dict(schema)} for media, schema in self.media.items()},
        }


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One method on one path, as a client sees it."""

    method: Literal["get", "post", "put", "patch", "delete"]
    path: str
    operation_id: str
    summary: str
    tags: tuple[str, ...]
    replies: tuple[Reply, ...]
    errors: tuple[int, ...] = (400, 500)
    """Statuses answered with a problem document."""
    params: tuple[Param, ...] = ()
    body: Body | None = None
    description: str = ""
    security: tuple[str, ...] = ()
    """Security schemes, any one of which is accepted; empty for a public operation."""

    def to_openapi(self) -> dict[str, Any]:
        """The operation object."""
        responses = {str(reply.status): reply.to_openapi() for reply in self.replies}
        for status in self.errors:
            responses[str(status)] = {
                "$ref": f"#/components/responses/{problem_response_name(status)}"
            }
        operation: dict[str, Any] = {
            "operationId": self.operation_id,
            "summary": self.summary,
            "tags": list(self.tags),
            "responses": responses,
        }
        if self.description:
            operation["description"] = self.description
        if self.params:
            operation["parameters"] = [param.to_openapi() for param in self.params]
        if self.body is not None:
            operation["requestBody"] = self.body.to_openapi()
        if self.security:
            operation["security"] = [{scheme: []} for scheme in self.security]
        return operation


def add_operations(paths: dict[str, Any], operations: list[Operation]) -> None:
    """Write operations into `paths`, replacing an operation already on the same path and
    method (pygeoapi's description of something we serve ourselves)."""
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method] = operation.to_openapi()
