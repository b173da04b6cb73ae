"""The HTTP floor: a bare ASGI app that replays our server's answers byte for byte.

Run under the same gunicorn + uvicorn workers as the servers under test, it measures what
HTTP itself costs here (parsing, the event loop, the socket, responses of the same size), so
a row reads as ours against SQL floor + HTTP floor (CONVENTIONS.md, "Performance targets,
read sensibly"). `BENCH_HTTP_FLOOR_ANSWERS` names a JSON file mapping each request the
benchmark sends (path and query string) to our server's answer text for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def request_key(path_and_query: str) -> str:
    """A request's key with percent-escapes undone: the correctness pass's client (aiohttp)
    and the load generator (h2load) escape the same query differently.

    >>> request_key("/i?f=a%20%3D%20%27b%27") == request_key("/i?f=a%20=%20'b'")
    True
    """
    return unquote(path_and_query)


def load_answers(path: str | None) -> dict[str, bytes]:
    """Request key (`request_key` of `/path?query`) -> answer bytes, from the benchmark's file."""
    if not path:
        return {}
    answers = json.loads(Path(path).read_text("utf-8"))
    return {request_key(key): text.encode() for key, text in answers.items()}


_ANSWERS = load_answers(os.environ.get("BENCH_HTTP_FLOOR_ANSWERS"))
_GEOJSON = [(b"content-type", b"application/geo+json")]
PROBE = b"limit=1"
"""The query of `benchmarks.servers.serving`'s readiness probe, answered with an empty page."""
_EMPTY = b'{"type":"FeatureCollection","features":[]}'


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Answer a known request with its prepared bytes (404 otherwise)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    raw_query = scope.get("query_string", b"")
    query = raw_query.decode("latin-1")
    body = _ANSWERS.get(request_key(f"{scope['path']}?{query}" if query else scope["path"]))
    if body is None and raw_query == PROBE:
        body = _EMPTY
    status = 200 if body is not None else 404
    body = body if body is not None else b"{}"
    headers = [*_GEOJSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
