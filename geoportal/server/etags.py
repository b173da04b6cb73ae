"""ETag on single features of editable layers (`GET /collections/{id}/items/{fid}`), so a
client can send it back as `If-Match` on a write, and `If-None-Match` -> 304.

The tag is `writes.etag_sql` of the stored row. The features fast path selects it in its own
by-id statement and answers `If-None-Match` itself; this middleware covers what pygeoapi
answers (HTML, JSON-LD, HEAD): when a 200 arrives without an `ETag`, it looks the tag up by
primary key and adds it, or turns the answer into a 304."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from geoportal.server.security_middleware import ASGIApp, Message, Receive, Scope, Send
from geoportal.server.writes import entity_tags, item_etag
from layers.catalogue import Catalogue

log = logging.getLogger(__name__)
ITEM_PATH = re.compile(r"^/collections/([a-z][a-z0-9_]{0,62})/items/(\d{1,18})$")


class ItemETagMiddleware:
    """Adds `ETag` to 200 answers of editable layers' items that have none; answers 304 to a
    matching `If-None-Match`. Any database trouble only means no ETag."""

    def __init__(
        self, app: ASGIApp, catalogue: Catalogue, pool: Callable[[], AsyncConnectionPool | None]
    ) -> None:
        self.app = app
        self.layers = {layer.id: layer for layer in catalogue if layer.is_editable}
        self.pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = ITEM_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        layer = self.layers.get(match.group(1)) if match else None
        if layer is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        assert match is not None
        fid = int(match.group(2))
        not_modified = False

        async def tagged(message: Message) -> None:
            nonlocal not_modified
            if not_modified:  # the body of the answer replaced by a 304
                return
            if (
                message["type"] == "http.response.start"
                and message["status"] == 200
                and not any(name == b"etag" for name, _ in message.get("headers", []))
            ):
                etag = await self._etag(layer, fid)
                wanted = dict(scope["headers"]).get(b"if-none-match", b"").decode("latin-1")
                if etag is not None and etag in entity_tags(wanted):
                    not_modified = True
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 304,
                            "headers": [(b"etag", etag.encode())],
                        }
                    )
                    await send({"type": "http.response.body", "body": b""})
                    return
                if etag is not None:
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), (b"etag", etag.encode())],
                    }
            await send(message)

        await self.app(scope, receive, tagged)

    async def _etag(self, layer: Any, fid: int) -> str | None:
        pool = self.pool()
        if pool is None:
            return None
        try:
            async with pool.connection(timeout=2) as conn:
                return await item_etag(conn, layer, fid)
        except (psycopg.Error, PoolTimeout):
            log.warning("no ETag for %s/%s: database unavailable", layer.id, fid)
            return None
