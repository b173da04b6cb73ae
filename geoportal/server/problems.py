"""RFC 9457 problem details for our own routes (the OGC exception `code` alongside)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

CODES = {400: "InvalidParameterValue", 404: "NotFound", 503: "ServiceUnavailable"}
CORS = {"Access-Control-Allow-Origin": "*"}


def problem_response(request: Request, status: int, detail: str) -> JSONResponse:
    """A problem details answer: status, the OGC code for it and what is wrong."""
    code = CODES.get(status, "ServerError")
    headers = dict(CORS, **({"Retry-After": "5"} if status == 503 else {}))
    return JSONResponse({"type": "about:blank", "title": code, "status": status,
                         "detail": detail, "instance": request.url.path, "code": code},
                        status_code=status, media_type="application/problem+json",
                        headers=headers)
