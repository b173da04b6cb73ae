"""The components every route family shares: the problem document and its responses, the
security schemes of the write and admin routes, and the caching headers."""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request: a parameter or the body is invalid (the detail names it)",
    401: "Credentials missing or invalid",
    403: "The credentials do not allow this",
    404: "No such resource",
    405: "Method not allowed on this resource",
    409: "Conflict with the stored data",
    410: "Gone: it existed and was removed (a dismissed job, a retired parcel: the detail says "
    "when, and links its history)",
    412: "Precondition failed: the feature changed since the client read it (If-Match)",
    413: "Request body too large",
    415: "Unsupported media type of the request body",
    422: "The job failed (the detail says why)",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal error (the detail carries no internals; quote the requestId)",
    503: "Temporarily unavailable; retry after the Retry-After delay",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "An error (RFC 9457 problem details, plus the OGC exception's `code` and "
        "`description`, and the request id to quote to the operators)."
    ),
    "properties": {
        "type": {"type": "string", "description": "URI of the problem type"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string", "description": "What is wrong in this request"},
        "instance": {"type": "string", "description": "The path of the request"},
        "code": {"type": "string", "description": "OGC exception code"},
        "description": {"type": "string", "description": "OGC exception description"},
        "requestId": {"type": "string"},
    },
    "additionalProperties": True,
}

SECURITY_SCHEMES: dict[str, Any] = {
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key issued by `geoportal users` (`gpk_...`).",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "An OIDC access token of the configured issuer (a JWT), or an API key as the "
            "bearer credentials."
        ),
    },
}
WRITE_SECURITY = ("apiKey", "bearer")

HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "Entity tag of the representation (If-None-Match, If-Match)",
        "schema": {"type": "string"},
    },
    "Location": {"description": "URL of the created resource", "schema": {"type": "string"}},
    "Cache-Control": {"description": "Caching policy", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}},
}


def problem_response_name(status: int, engine: bool = False) -> str:
    """The name of the shared response of an error status (`Problem404`; `EngineProblem404`
    for pygeoapi's handlers)."""
    return f"{'Engine' if engine else ''}Problem{status}"


def problem_response(status: int, engine: bool = False) -> dict[str, Any]:
    """The response object of an error status.

    Our routes answer `application/problem+json`. pygeoapi's own handlers (`engine`) answer
    in the format asked with `f`: `application/json` (`code`, `description`), JSON-LD, or
    an HTML page.
    """
    schema = {"$ref": "#/components/schemas/Problem"}
    content: dict[str, Any] = {PROBLEM_JSON: {"schema": schema}}
    if engine:
        content |= {
            "application/json": {"schema": schema},
            "application/ld+json": {"schema": schema},
            "text/html": {"schema": {"type": "string"}},
        }
    response: dict[str, Any] = {"description": TITLES.get(status, "Error"), "content": content}
    if status == 503:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return response


def shared_components() -> dict[str, dict[str, Any]]:
    """Components to merge into the document's `components`."""
    responses = {
        problem_response_name(status, engine): problem_response(status, engine)
        for engine in (False, True)
        for status in TITLES
    }
    return {
        "schemas": {"Problem": PROBLEM_SCHEMA},
        "responses": responses,
        "securitySchemes": SECURITY_SCHEMES,
        "headers": HEADERS,
    }
