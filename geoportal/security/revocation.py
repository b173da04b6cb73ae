"""Revocation at once: every server process LISTENs on `geoportal_auth` (sent at commit by
the triggers of migration 0012 on `auth.users` and `auth.api_keys`) and forgets the keys it
verified. While a process is not listening (starting, connection lost) it must not trust a
cache: `listening` is False and the authenticator checks every key in the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "geoportal_auth"


class AuthChangeListener:
    """Calls `on_change` for every change of users or keys, and when (re)connecting."""

    def __init__(self, conninfo: str, on_change: Callable[[], None], retry_s: float = 1.0):
        self.conninfo = conninfo
        self.on_change = on_change
        self.retry_s = retry_s
        self.listening = False
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, wait_s: float = 10.0) -> bool:
        """Start listening in the background; True when listening within `wait_s`."""
        self._task = asyncio.create_task(self._run(), name="auth-change-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), wait_s)
        return self.listening

    async def stop(self) -> None:
        """Stop listening."""
        self.listening = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=10
                ) as conn:
                    await conn.execute("SET application_name = 'geoportal-auth-listener'")
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.on_change()  # what changed while not listening is unknown
                    self.listening = True
                    self._ready.set()
                    async for _ in conn.notifies():
                        self.on_change()
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                log.warning("auth change listener lost its connection: %s", exc)
            finally:
                self.listening = False
                self.on_change()
            await asyncio.sleep(self.retry_s)
