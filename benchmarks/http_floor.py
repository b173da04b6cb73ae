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

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def load_answers(path: str | None) -> dict[str, bytes]:
    """Request (`/path?query`) -> answer bytes, from the file the benchmark wrote."""
    if not path:
        return {}
    return {key: text.encode() for key, text in json.loads(Path(path).read_text("utf-8")).items()}


_ANSWERS = load_answers(os.environ.get("BENCH_HTTP_FLOOR_ANSWERS"))
_GEOJSON = [(b"content-type", b"application/geo+json")]


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
    query = scope.get("query_string", b"").decode("latin-1")
    body = _ANSWERS.get(f"{scope['path']}?{query}" if query else scope["path"])
    status = 200 if body is not None else 404
    body = body if body is not None else b"{}"
    headers = [*_GEOJSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
