"""Job queue fixtures: workers as real processes (the clean queue is `queue_conn`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from geoportal.settings import Settings


def worker_process(settings: Settings, *args: str, **env: str) -> subprocess.Popen[str]:
    """`geoportal worker` as a real process on the test cluster (fast heartbeats)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GEOPORTAL_")}
    environment.pop("DATABASE_URL", None)
    environment.update(
        GEOPORTAL_DATA_DIR=str(settings.data_dir),
        GEOPORTAL_JOBS__HEARTBEAT_S="0.5",
        GEOPORTAL_JOBS__STALE_AFTER_S="2",
        GEOPORTAL_JOBS__POLL_S="0.5",
        **env,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "geoportal.cli", "worker", *args],
        env=environment,
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_worker(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Send `sig` (SIGKILL: `kill -9`), wait for the process, return what it printed."""
    process.send_signal(sig)
    output, _ = process.communicate(timeout=60)
    return output
