"""`GET /collections/cadastre_parcels/items/{id}` of a retired parcel: 410 Gone, not 404.

A DELETE on the table of current parcels retires the parcel (migration 0024): it leaves the
collection, its register entry and versions stay. This ASGI wrapper sits in front of the
features app (the fast path and pygeoapi); when that app answers 404 for an item of
`cadastre_parcels`, it looks the id up in the register and, for a retired parcel, answers
410 with a problem saying when and how it was retired and where its history is (the
`history` member and a `Link: <...>; rel="version-history"` header).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cadastre.history import REGISTER_LAYERS, find_retired
from geoportal.errors import HTTPProblem, problem_response

log = logging.getLogger(__name__)

_ITEM = re.compile(r"/collections/(?P<collection>[^/]+)/items/(?P<item>\d{1,18})")


class RetiredParcels:
    """Wraps the features app: a 404 for a retired parcel becomes a 410 with its history."""

    def __init__(
        self, app: ASGIApp, pool: Callable[[], AsyncConnectionPool | None], public_url: str
    ) -> None:
        self.app = app
        self.pool = pool
        self.public_url = public_url.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _ITEM.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or match["collection"] not in REGISTER_LAYERS or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold_404(message: Message) -> None:
            if held or (message["type"] == "http.response.start" and message["status"] == 404):
                held.append(message)
            else:
                await send(message)

        await self.app(scope, receive, hold_404)
        if not held:
            return
        retired = await self._retired(int(match["item"]))
        if retired is None:
            for message in held:
                await send(message)
            return
        response = self._gone(scope, match["collection"], retired)
        await response(scope, receive, send)

    async def _retired(self, parcel_id: int) -> dict[str, Any] | None:
        pool = self.pool()
        if pool is None:
            return None
        try:
            async with pool.connection() as conn:
                return await find_retired(conn, parcel_id)
        except (PoolTimeout, psycopg.Error) as exc:  # the 404 stands; the log says why
            log.warning("register lookup of parcel %s failed: %s", parcel_id, exc)
            return None

    def _gone(self, scope: Scope, collection: str, retired: dict[str, Any]) -> Any:
        gone = retired_problem(retired, collection, self.public_url)
        state = scope.get("state") or {}
        return problem_response(
            410,
            gone.detail,
            state.get("request_id"),
            headers=gone.headers,
            instance=scope.get("path"),
            **gone.extra,
        )


def retired_problem(retired: dict[str, Any], collection: str, public_url: str) -> HTTPProblem:
    """The 410 of a retired parcel (`find_retired`'s entry): when and how it was retired, and
    its history (in the detail, a member and a `Link: rel="version-history"` header)."""
    code = retired["cadastral_code"]
    history = f"{public_url.rstrip('/')}/cadastre/parcels/{code}/history"
    how = {"retire": "retired", "split": "retired by a split", "merge": "retired by a merge"}
    detail = (
        f"parcel {code} (feature {retired['parcel_id']} of {collection}) was "
        f"{how.get(retired['retired_by'], 'retired')} on {retired['retired_at'].isoformat()}; "
        f"nothing in the register is deleted: its history is at {history}"
    )
    return HTTPProblem(
        410,
        detail,
        headers={"Link": f'<{history}>; rel="version-history"'},
        cadastralCode=code,
        retiredAt=retired["retired_at"].isoformat(),
        retiredBy=retired["retired_by"],
        history=history,
    )
