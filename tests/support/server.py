"""Running the real app under uvicorn in a background thread, for tests over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from geoportal.server.app import create_app
from geoportal.settings import Settings


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    """A running server and its base URL."""

    url: str
    settings: Settings

    def client(self) -> httpx.Client:
        """An HTTP client for this server."""
        return httpx.Client(base_url=self.url, timeout=60)


@contextmanager
def serve_asgi(app: object, host: str, port: int) -> Iterator[None]:
    """Serve an ASGI app with uvicorn in a background thread until the block ends."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",  # type: ignore[arg-type]
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def start_server(settings: Settings) -> Iterator[LiveServer]:
    """Serve `create_app(settings)` on settings.host:settings.port until the block ends."""
    with serve_asgi(create_app(settings), settings.host, settings.port):
        yield LiveServer(url=settings.public_url, settings=settings)
