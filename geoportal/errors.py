"""One error table and one error shape for every route, ours and pygeoapi's.

Every error answer is RFC 9457 problem JSON (`application/problem+json`) carrying the OGC API
exception's fields too, so both kinds of client read it::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "no collection 'x'", "instance": "/collections/x/items",
     "code": "NotFound", "description": "no collection 'x'", "requestId": "..."}

`ERRORS` is the single table from exception class to (status, OGC code), in the style of
titiler's `DEFAULT_STATUS_CODES`: domain packages raise their own exceptions, and a package
adds its classes with one line, `register(SomeError, 404, "NotFound")` (or `ERRORS.update`).
`add_exception_handlers(app)` is called once in `create_app`. Errors that pygeoapi or Starlette
answer themselves (`{"code": ..., "description": ...}`, plain-text 404/405) are reshaped by the
security middleware with `normalize_error_body`. Database errors never reach a client: a
psycopg error maps to a generic detail; the log keeps the real message with the request id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout
from pygeoapi.provider.base import (
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from analyses.errors import InvalidInputError, UnknownProcessError, WorkNotSurveyedError
from cadastre.errors import (
    BlockNotFoundError,
    InvalidCadastralCodeError,
    InvalidChangeError,
    InvalidPinError,
    InvalidPlanTokenError,
    ParcelChangedError,
    ParcelNotFoundError,
    RuleViolationError,
    SearchQueryError,
)
from exports.errors import EmptyAreaError, ExportCancelledError, InvalidExportError
from features.errors import (
    DatabaseUnavailableError,
    InvalidQueryError,
    ItemNotFoundError,
    QueryFailedError,
    QueryTimeoutError,
    TableNotFoundError,
)
from geoportal.security.errors import AuthenticationError, PermissionDeniedError
from imagery.bank import BankUnavailableError, InvalidSearchError, StacItemNotFoundError
from ingestion.archive import (
    ArchiveBombError,
    TooManyEntriesError,
    UnreadableArchiveError,
    UnsafeEntryNameError,
)
from jobs.errors import JobNotFoundError, JobStateError, UnknownJobKindError
from layers.errors import LayerNotFoundError
from tiles.errors import (
    InvalidTileRequestError,
    SceneNotFoundError,
    TileMatrixSetNotFoundError,
    TileOutOfRangeError,
    TileQueryTimeoutError,
    TilesetNotFoundError,
    TilesUnavailableError,
)
from tiles.export import ExportEmptyError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
CODES = {  # the OGC exception code of a status, when the raiser named none
    400: "InvalidParameterValue",
    401: "NotAuthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "UnprocessableContent",
    428: "PreconditionRequired",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
    504: "ServiceUnavailable",
}
GENERIC_DETAIL = {
    500: "internal error; quote the request id when reporting it",
    503: "the service is busy or starting; retry shortly",
}
MAX_REWRITTEN_BODY = 256 * 1024
"""Error bodies up to this size are reshaped; larger ones are replaced by a generic detail."""

ERRORS: dict[type[BaseException], tuple[int, str]] = {}
"""Exception class -> (HTTP status, OGC exception code). The nearest class in the MRO wins."""


def register(exc_class: type[BaseException], status: int, code: str | None = None) -> None:
    """Map an exception class to a status (and OGC code; by default the status's code)."""
    ERRORS[exc_class] = (status, code or CODES.get(status, "ServerError"))


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


for _cls, _status in [
    (LayerNotFoundError, 404),
    (TilesetNotFoundError, 404),
    (TileMatrixSetNotFoundError, 404),
    (TileOutOfRangeError, 404),
    (SceneNotFoundError, 404),
    (StacItemNotFoundError, 404),
    (InvalidSearchError, 400),
    (BankUnavailableError, 503),
    (ExportEmptyError, 404),
    (InvalidTileRequestError, 400),
    (ProviderInvalidQueryError, 400),
    (ProviderItemNotFoundError, 404),
    (TileQueryTimeoutError, 503),
    (TilesUnavailableError, 503),
    (ProviderConnectionError, 503),
    (ProviderQueryError, 500),
    (InvalidQueryError, 400),
    (ItemNotFoundError, 404),
    (TableNotFoundError, 500),
    (QueryTimeoutError, 503),
    (DatabaseUnavailableError, 503),
    (QueryFailedError, 500),
    (UnknownJobKindError, 400),
    (InvalidExportError, 400),
    (EmptyAreaError, 404),
    (ExportCancelledError, 503),
    (SearchQueryError, 400),
    (InvalidInputError, 400),
    (UnknownProcessError, 404),
    (WorkNotSurveyedError, 409),
    (JobStateError, 410),
    (ParcelNotFoundError, 404),
    (BlockNotFoundError, 404),
    (InvalidCadastralCodeError, 400),
    (InvalidPinError, 400),
    (InvalidChangeError, 400),
    (InvalidPlanTokenError, 400),
    (ParcelChangedError, 412),
    (RuleViolationError, 422),
    (UnreadableArchiveError, 400),
    (UnsafeEntryNameError, 400),
    (TooManyEntriesError, 413),
    (ArchiveBombError, 413),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (PoolTimeout, 503),
    (psycopg.OperationalError, 503),
    (psycopg.errors.QueryCanceled, 503),
    (psycopg.Error, 500),
]:
    register(_cls, _status)
# OGC API Processes names its own exception for an unknown job (OGC 18-062r2, 7.12.3)
register(
    JobNotFoundError,
    404,
    "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job",
)


def status_of(exc: BaseException) -> tuple[int, str]:
    """(status, OGC code) of an exception from the table; (500, ServerError) if unmapped."""
    if isinstance(exc, HTTPProblem):
        return exc.status, str(exc.extra.get("code") or CODES.get(exc.status, "ServerError"))
    for cls in type(exc).__mro__:
        if cls in ERRORS:
            return ERRORS[cls]
    return 500, "ServerError"


def detail_of(exc: BaseException, status: int) -> str:
    """What the client is told: the exception's message when its class is in the table, a
    generic text for database errors and unmapped 500s (the log keeps the message)."""
    if isinstance(exc, psycopg.Error) or status == 500:
        return GENERIC_DETAIL.get(status, GENERIC_DETAIL[500])
    user_msg = getattr(exc, "user_msg", None)  # pygeoapi provider errors
    return str(user_msg or exc) or TITLES.get(status, "Error")


def problem_body(
    status: int,
    detail: str,
    request_id: str | None,
    *,
    instance: str | None = None,
    code: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON body of a problem (RFC 9457 fields, OGC `code`/`description`, `requestId`)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **({"instance": instance} if instance else {}),
        "code": code or CODES.get(status, "ServerError"),
        "description": detail,
        **extra,
    }
    if request_id:
        body["requestId"] = request_id
    return body


def problem_response(
    status: int,
    detail: str,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem details response."""
    headers = dict(headers or {})
    if status == 503:
        headers.setdefault("Retry-After", "5")
    return JSONResponse(
        problem_body(status, detail, request_id, **extra),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def route_problem(request: Request, status: int, detail: str, **extra: Any) -> JSONResponse:
    """The problem answer of a route for a status and a detail."""
    return problem_response(
        status,
        detail,
        getattr(request.state, "request_id", None),
        instance=request.url.path,
        **extra,
    )


def exception_response(request: Request, exc: BaseException) -> Response:
    """The problem answer of an exception, through the table (logged when 5xx or database)."""
    status, code = status_of(exc)
    request_id = getattr(request.state, "request_id", None)
    if status >= 500 or isinstance(exc, psycopg.Error):
        log.error(
            "%s %s failed (request id %s): %s: %s",
            request.method,
            request.url.path,
            request_id,
            type(exc).__name__,
            str(exc)[:500],
        )
    if isinstance(exc, HTTPProblem):
        extra = {k: v for k, v in exc.extra.items() if k != "code"}
        return problem_response(
            status,
            exc.detail,
            request_id,
            headers=exc.headers,
            instance=request.url.path,
            code=code,
            **extra,
        )
    if isinstance(exc, HTTPException):
        status, code = exc.status_code, CODES.get(exc.status_code, "ServerError")
        detail = exc.detail if exc.detail != TITLES.get(status) else _routing_detail(request)
        return problem_response(
            status, str(detail), request_id, headers=exc.headers, instance=request.url.path
        )
    headers = {"WWW-Authenticate": 'Bearer realm="geoportal"'} if status == 401 else None
    return problem_response(
        status,
        detail_of(exc, status),
        request_id,
        headers=headers,
        instance=request.url.path,
        code=code,
    )


def _routing_detail(request: Request) -> str:
    return f"{request.method} {request.url.path}: no such resource or method"


async def _handle(request: Request, exc: Exception) -> Response:
    return exception_response(request, exc)


def add_exception_handlers(app: Starlette) -> None:
    """Register the table's handlers on an app (once, in `create_app`). An exception of a
    class registered later still gets its status: the security middleware, which catches what
    no handler took, looks the table up at raise time (`status_of`)."""
    app.add_exception_handler(HTTPProblem, _handle)
    app.add_exception_handler(HTTPException, _handle)
    for exc_class in ERRORS:
        app.add_exception_handler(exc_class, _handle)


def normalize_error_body(
    status: int, body: bytes, content_type: str, request_id: str, path: str
) -> bytes | None:
    """The problem JSON an error answer from below should carry; None to leave it as it is
    (HTML pages for browsers). pygeoapi's `{"code", "description"}`, Starlette's plain text
    and our own problems all come out in the one shape; a 5xx never shows what it said."""
    media = content_type.split(";")[0].strip().lower()
    if media in ("text/html", "application/xml", "text/xml"):
        return None
    parsed: Any = None
    if media.endswith("json") and len(body) <= MAX_REWRITTEN_BODY:
        try:
            parsed = json.loads(body or b"null")
        except ValueError:
            parsed = None
    given = parsed if isinstance(parsed, dict) else {}
    code = given.get("code") if isinstance(given.get("code"), str) else None
    detail = given.get("detail") or given.get("description")
    if not isinstance(detail, str) or not detail:
        text = body.decode("utf-8", "replace").strip() if media.startswith("text/") else ""
        detail = text[:500] if text and text != TITLES.get(status) else TITLES.get(status, "")
    if status >= 500:
        detail = GENERIC_DETAIL.get(status, GENERIC_DETAIL[500])
        code = CODES.get(status, "ServerError")
    extra = {
        k: v
        for k, v in given.items()
        if k not in {"type", "title", "status", "detail", "description", "code", "requestId"}
        and status < 500
    }
    extra.setdefault("instance", path)
    return json.dumps(
        problem_body(status, detail, request_id, code=code, **extra), ensure_ascii=False
    ).encode()


Handler = Callable[[Request], Awaitable[Response]]
"""A Starlette endpoint."""


def guarded(handler: Handler, *errors: type[BaseException]) -> Handler:
    """`handler` with the domain errors it raises (`errors`) answered as problems through the
    table, for routes that answer before the app's exception handlers would see them."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except errors as exc:
            return exception_response(request, exc)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
