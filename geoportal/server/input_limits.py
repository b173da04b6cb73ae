"""Input bounds checked before any parser or handler runs (400 naming the limit).

pygeofilter parses CQL2 text with a lark grammar, a few milliseconds per kilobyte while
holding the GIL: a megabyte filter is seconds of a stalled server, whatever the answer. So
before anything parses them:

- `filter=` (every route: items, tiles) is at most `MAX_FILTER_CHARS` characters;
- a CQL2 JSON query (`POST .../items` with `application/query-cql-json`) is at most
  `MAX_CQL_JSON_BYTES` bytes, valid JSON and at most `MAX_JSON_DEPTH` levels deep (the CQL2
  JSON parser recurses per level);
- `bbox=` (items, tiles, downloads) is refused with 400 when one of its values is not a
  finite number (NaN, inf), on every route at once; the routes check their ranges
  themselves.

Request bodies are never logged here; the detail names the limit, not the content.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geoportal.errors import problem_response

MAX_FILTER_CHARS = 32_768
"""Longest `filter=` text (a CQL2 polygon of about 1,500 vertices)."""
MAX_CQL_JSON_BYTES = 65_536
"""Largest CQL2 JSON query body."""
MAX_JSON_DEPTH = 64
"""Deepest nesting of a CQL2 JSON query."""
CQL_JSON = "application/query-cql-json"


class InputLimitError(ValueError):
    """A request parameter or body beyond the bounds above."""


def json_depth(document: Any, limit: int) -> int:
    """The nesting depth of a decoded JSON document, counted up to `limit` + 1 (iterative:
    no recursion whatever the depth).

    >>> json_depth({"a": [1, [2]]}, 10)
    3
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth) for child in children)
    return deepest


def check_query(query_string: bytes) -> None:
    """Bounds of `filter` and finiteness of `bbox` in a query string.

    Raises:
        InputLimitError: naming the parameter and the limit.
    """
    if b"filter" not in query_string and b"bbox" not in query_string:
        return
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "filter" and len(value) > MAX_FILTER_CHARS:
            raise InputLimitError(
                f"filter: at most {MAX_FILTER_CHARS} characters, got {len(value)}"
            )
        if name == "bbox":
            check_bbox_finite(value)


def check_bbox_finite(text: str) -> None:
    """Every value of a `bbox` that parses as a number must be finite.

    >>> check_bbox_finite("74,42,75,43")
    >>> check_bbox_finite("NaN,0,1,1")
    Traceback (most recent call last):
    ...
    geoportal.server.input_limits.InputLimitError: bbox: 'NaN' is not a finite number
    """
    for part in text.split(",")[:7]:
        try:
            value = float(part)
        except ValueError:
            continue  # not a number at all: the route's own parser says so
        if not math.isfinite(value):
            raise InputLimitError(f"bbox: {part.strip()[:20]!r} is not a finite number")


def check_cql_json(body: bytes) -> None:
    """Size and nesting of a CQL2 JSON query (invalid JSON is left to the query parser).

    Raises:
        InputLimitError: naming the limit.
    """
    if len(body) > MAX_CQL_JSON_BYTES:
        raise InputLimitError(f"CQL2 JSON query: at most {MAX_CQL_JSON_BYTES} bytes")
    try:
        document = json.loads(body)
    except RecursionError as exc:
        raise InputLimitError(f"CQL2 JSON query: at most {MAX_JSON_DEPTH} levels deep") from exc
    except ValueError:
        return
    if json_depth(document, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InputLimitError(f"CQL2 JSON query: at most {MAX_JSON_DEPTH} levels deep")


class InputLimitsMiddleware:
    """Refuses what the checks above refuse, with a problem (400), before the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_query(scope.get("query_string", b""))
            media = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
            if scope["method"] == "POST" and media == CQL_JSON:
                body = await _read_body(receive, MAX_CQL_JSON_BYTES)
                check_cql_json(body)
                receive = _replay(body, receive)
        except InputLimitError as exc:
            request_id = scope.get("state", {}).get("request_id")
            await problem_response(400, str(exc), request_id)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The body, or the first `limit` + 1 bytes of it (enough to refuse it)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
