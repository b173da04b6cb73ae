"""Problem details (RFC 9457) for the errors of our routes and middleware: a title, the
status, a detail that says what is wrong in the request, the request id; never a stack trace
or SQL."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
CODES = {400: "InvalidParameterValue", 404: "NotFound", 503: "ServiceUnavailable"}
CORS = {"Access-Control-Allow-Origin": "*"}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class HTTPProblem(Exception):
    """Raised by our handlers; turned into a problem details response."""

    def __init__(
        self, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_body(status: int, detail: str, request_id: str | None, **extra: Any) -> dict:
    """The JSON body of a problem."""
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    if request_id:
        body["requestId"] = request_id
    return body


def problem_response(
    status: int,
    detail: str,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem details response."""
    return JSONResponse(
        problem_body(status, detail, request_id, **extra),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def route_problem(request: Request, status: int, detail: str) -> JSONResponse:
    """The problem answer of a public read route: the OGC exception code beside the status,
    the path, the request id, CORS for browsers elsewhere (and Retry-After on a 503)."""
    code = CODES.get(status, "ServerError")
    headers = dict(CORS, **({"Retry-After": "5"} if status == 503 else {}))
    return JSONResponse(
        problem_body(
            status,
            detail,
            getattr(request.state, "request_id", None),
            instance=request.url.path,
            code=code,
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )
