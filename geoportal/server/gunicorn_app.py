"""`geoportal serve` under gunicorn: a master process and N uvicorn workers (uvicorn-worker).

Each worker builds the app itself (`geoportal.server.asgi.app_factory`, nothing preloaded in
the master: pools and the tile change listener belong to one process). The Prometheus
metrics of all workers meet in `PROMETHEUS_MULTIPROC_DIR` (`geoportal.server.metrics`); a
worker that exits has its live gauges marked dead by `child_exit`.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

WORKER_CLASS = "uvicorn_worker.UvicornWorker"


def child_exit(server: Arbiter, worker: Worker) -> None:
    """Gunicorn hook: drop an exited worker's live gauges from the multiprocess metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class GeoportalServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn configured from our settings instead of its command line."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply the options (gunicorn setting names)."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """The ASGI app of one worker."""
        from geoportal.server.asgi import app_factory

        return app_factory()


def gunicorn_options(host: str, port: int, workers: int, log_level: str) -> dict[str, Any]:
    """The gunicorn settings of `geoportal serve`."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": WORKER_CLASS,
        "loglevel": log_level,
        "accesslog": None,
        "graceful_timeout": 30,
        "timeout": 120,
        "forwarded_allow_ips": "127.0.0.1",
        "child_exit": child_exit,
        "proc_name": "geoportal",
    }
