"""Running the real app under uvicorn in a background thread, for tests over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a server process on the cluster of `settings`, with the shipped
    defaults for everything else (no GEOPORTAL_ variable of the caller leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEOPORTAL_", "PYGEOAPI_"))}
    env.update(
        {
            "GEOPORTAL_DATA_DIR": str(settings.data_dir),
            "GEOPORTAL_DB_NAME": settings.db_name,
            "GEOPORTAL_DB_PORT": str(settings.db_port),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
    )
    env.update(extra)
    return env


@contextmanager
def spawn_server(
    settings: Settings, workers: int = 1, stderr: Path | None = None, **env: str
) -> Iterator[LiveServer]:
    """`uvicorn --workers N` in its own processes on the cluster of `settings`, with the
    shipped defaults (security settings included) unless `env` says otherwise; its standard
    error goes to the file `stderr` when given."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "geoportal.server.asgi:app_factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    environment = server_env(settings, GEOPORTAL_PORT=str(port), **env)
    log = stderr.open("ab") if stderr is not None else None
    process = subprocess.Popen(command, env=environment, start_new_session=True, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, url, workers)
        yield LiveServer(url=url, settings=Settings(_env_file=None, **_settings_of(environment)))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        if log is not None:
            log.close()


def _settings_of(env: dict[str, str]) -> dict[str, object]:
    return {
        "data_dir": env["GEOPORTAL_DATA_DIR"],
        "db_name": env["GEOPORTAL_DB_NAME"],
        "db_port": int(env["GEOPORTAL_DB_PORT"]),
        "port": int(env["GEOPORTAL_PORT"]),
    }


def _wait_ready(process: subprocess.Popen, url: str, workers: int) -> None:
    """Until every worker answers (distinct answers are not visible: poll until `workers`
    consecutive successes), at most 120 s."""
    deadline = time.monotonic() + 120
    successes = 0
    while successes < workers * 4:
        if process.poll() is not None:
            raise RuntimeError(f"the server process ended with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the server processes did not start within 120 s")
        try:
            ok = httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            ok = False
        successes = successes + 1 if ok else 0
        time.sleep(0.1)
