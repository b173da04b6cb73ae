"""Entity tags of single features of editable layers (`GET /collections/{id}/items/{fid}`),
so a client can send one back as `If-Match` on a write, and `If-None-Match` -> 304.

One home for the tag and its header parsing, shared by the read path (the fast path, this
middleware) and the write path (`writes.py`), so reads never import the write routes.
The tag is `etag_sql` of the stored row. The features fast path selects it in its own
by-id statement and answers `If-None-Match` itself; this middleware covers what pygeoapi
answers (HTML, JSON-LD, HEAD): when a 200 arrives without an `ETag`, it looks the tag up by
primary key and adds it, or turns the answer into a 304."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from geoportal.server.security_middleware import ASGIApp, Message, Receive, Scope, Send
from layers.catalogue import Catalogue
from layers.model import Layer

log = logging.getLogger(__name__)
ITEM_PATH = re.compile(r"^/collections/([a-z][a-z0-9_]{0,62})/items/(\d{1,18})$")


def etag_sql(layer: Layer, alias: str = "t") -> sql.Composable:
    """SQL of a feature's entity tag: md5 of the row's text (id, fields, geometry), the same
    whichever role or path computes it. Clients get it quoted (`"<md5>"`)."""
    columns = ["id", *(f.name for f in layer.fields), *(["geom"] if layer.has_geometry else [])]
    row = sql.SQL(", ").join(sql.Identifier(alias, c) for c in columns)
    return sql.SQL("md5(ROW({})::text)").format(row)


async def item_etag(conn: psycopg.AsyncConnection[Any], layer: Layer, fid: int) -> str | None:
    """The quoted ETag of one feature, None when it does not exist."""
    query = sql.SQL("SELECT {} FROM {} AS t WHERE t.id = %s").format(
        etag_sql(layer), sql.Identifier(*layer.qualified_table)
    )
    row = await (await conn.execute(query, [fid])).fetchone()
    return f'"{row[0]}"' if row else None


def entity_tags(header: str) -> set[str]:
    """The entity tags of an `If-Match` or `If-None-Match` value (weak compared as strong)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def if_match_tags(header: str | None) -> set[str] | None:
    """The tags of an `If-Match` header, None when the request has none (no precondition)."""
    return None if header is None else entity_tags(header)


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
