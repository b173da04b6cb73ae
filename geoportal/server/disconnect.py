"""Cancel-on-disconnect: work done for a request (and so its database statement) stops when
the client goes away, in every route that may run long (writes, tiles, PMTiles downloads).

psycopg cancels the statement in the server when the task awaiting it is cancelled, so
cancelling the task is enough; the helper watches the ASGI `receive` channel for
`http.disconnect` beside the work and cancels whichever is still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)

CLIENT_CLOSED = 499
"""The status logged for a request whose client left before the answer (nginx's 499)."""


class ClientDisconnectedError(Exception):
    """The client went away before the work was done; the work was cancelled."""


async def until_disconnected(request: Request) -> None:
    """Return when the client disconnects (reads and drops anything else it sends)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def cancel_on_disconnect[T](request: Request, work: Coroutine[Any, Any, T]) -> T:
    """The result of `work`, cancelled (with its database statement) if the client leaves.

    When the server itself cancels the request (shutdown), the work is cancelled too.

    Raises:
        ClientDisconnectedError: the client left first; whatever the cancelled work raised
            on its way out is dropped (nobody is left to answer).
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(until_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the server is stopping
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise ClientDisconnectedError(request.url.path)
    return task.result()


async def respond_unless_disconnected(
    request: Request, work: Coroutine[Any, Any, Response]
) -> Response:
    """The response `work` builds, or a bodyless 499 when the client left first (the work
    and its statement cancelled)."""
    try:
        return await cancel_on_disconnect(request, work)
    except ClientDisconnectedError:
        log.info("cancelled: the client went away (%s)", request.url.path)
        return Response(status_code=CLIENT_CLOSED)
