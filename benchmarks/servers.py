"""The servers under test, each under gunicorn with uvicorn workers on its own free port.

- `ours`: the geoportal app (`geoportal.server.asgi:app_factory`) on the bench data dir;
- `stock`: pygeoapi 0.24 with its own `PostgreSQLProvider` on the same table;
- `tipg`: tipg on the same table;
- `ceiling`: pygeoapi answering from `benchmarks.stub_provider` (prepared results of the
  same size), i.e. what pygeoapi's own request handling allows at best;
- `httpfloor`: `benchmarks.http_floor`, a bare ASGI app replaying our answers' bytes: what
  HTTP itself costs on the same workers.

Every server reads the data as the `geoportal_public` role over the cluster's unix socket.
Servers are started in their own process group and stopped by that group's id.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import yaml

from benchmarks.cases import Target
from benchmarks.data import REPO, BenchDatabase, geoportal_env
from benchmarks.standin import app_spec
from geoportal.db.database import AGENCY_ROLE
from layers.geography import CRS84, KYRGYZSTAN_EXTENT_4326
from layers.model import Layer

WORKERS = 2


@dataclass
class ServerSpec:
    """How to start one server."""

    name: str
    label: str
    app: str
    env: dict[str, str]
    target: Target
    cwd: Path
    port: int

    @property
    def base_url(self) -> str:
        """Where it answers."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class RunningServer:
    """A started server: its gunicorn master and log."""

    spec: ServerSpec
    process: subprocess.Popen[bytes]
    log_path: Path
    memory: dict[str, Any] = field(default_factory=dict)

    def log_tail(self, lines: int = 25) -> str:
        """The end of its log, for error messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bin_path(name: str) -> str:
    """An executable of this virtual environment."""
    return str(Path(sys.executable).parent / name)


def ours_spec(db: BenchDatabase, layer: Layer, workdir: Path) -> ServerSpec:
    """Our app, configured by GEOPORTAL_* variables for the bench data dir."""
    port = free_port()
    env = geoportal_env(
        db.settings,
        GEOPORTAL_HOST="127.0.0.1",
        GEOPORTAL_PORT=str(port),
        GEOPORTAL_LOG_LEVEL="warning",
    )
    return ServerSpec(
        "ours",
        "ours (geoportal)",
        app_spec(layer.id, db.admin_conninfo),
        env,
        Target(layer.id),
        REPO,
        port,
    )


def pygeoapi_config(port: int, collection: str, resource: dict[str, Any]) -> dict[str, Any]:
    """A minimal pygeoapi configuration with one collection, sharing our server limits."""
    base = yaml.safe_load((REPO / "config" / "pygeoapi-base.yml").read_text("utf-8"))
    base["server"].update(
        {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "languages": ["en"],
        }
    )
    for key in ("identification", "provider", "contact"):
        base["metadata"][key]["url"] = f"http://127.0.0.1:{port}"
    base["resources"] = {collection: resource}
    return base


def collection_resource(
    layer: Layer, provider: dict[str, Any], bbox: list[float]
) -> dict[str, Any]:
    """The pygeoapi collection block around a provider."""
    return {
        "type": "collection",
        "title": layer.title.en,
        "description": layer.abstract.en,
        "keywords": list(layer.keywords.en),
        "links": [],
        "extents": {"spatial": {"bbox": bbox, "crs": CRS84}},
        "providers": [provider],
    }


def pygeoapi_spec(
    name: str,
    label: str,
    config: dict[str, Any],
    workdir: Path,
    port: int,
    collection: str,
    env: dict[str, str],
) -> ServerSpec:
    """Write the config, generate its OpenAPI document with pygeoapi's CLI, return the spec."""
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    config_path, openapi_path = folder / "pygeoapi-config.yml", folder / "openapi.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    env = {**env, "PYGEOAPI_CONFIG": str(config_path), "PYGEOAPI_OPENAPI": str(openapi_path)}
    result = subprocess.run(
        [
            bin_path("pygeoapi"),
            "openapi",
            "generate",
            str(config_path),
            "--output-file",
            str(openapi_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pygeoapi openapi generate failed for {name}:\n{result.stderr}")
    return ServerSpec(
        name, label, "pygeoapi.starlette_app:APP", env, Target(collection), folder, port
    )


def layer_bbox(db: BenchDatabase, layer: Layer) -> list[float]:
    """The loaded extent from `catalog.layer_stats`."""
    with psycopg.connect(db.public_conninfo) as conn:
        row = conn.execute(
            "SELECT bbox_4326 FROM catalog.layer_stats WHERE layer_id = %s", [layer.id]
        ).fetchone()
    return list(row[0]) if row and row[0] else list(KYRGYZSTAN_EXTENT_4326)


def stock_spec(db: BenchDatabase, layer: Layer, workdir: Path) -> ServerSpec:
    """pygeoapi's own PostgreSQLProvider (SQLAlchemy + psycopg2) on the same table."""
    port = free_port()
    parts = psycopg.conninfo.conninfo_to_dict(db.public_conninfo)
    provider = {
        "type": "feature",
        "name": "PostgreSQL",
        "data": {
            "host": parts["host"],
            "port": int(str(parts["port"])),
            "dbname": parts["dbname"],
            "user": parts["user"],
            "search_path": [layer.schema_name],
        },
        "id_field": "id",
        "table": layer.table,
        "geom_field": "geom",
    }
    if layer.storage_srid != 4326:
        provider["storage_crs"] = f"http://www.opengis.net/def/crs/EPSG/0/{layer.storage_srid}"
    config = pygeoapi_config(
        port, layer.id, collection_resource(layer, provider, layer_bbox(db, layer))
    )
    return pygeoapi_spec(
        "stock", "stock pygeoapi 0.24", config, workdir, port, layer.id, geoportal_env(db.settings)
    )


def ceiling_spec(db: BenchDatabase, layer: Layer, workdir: Path, canned: Path) -> ServerSpec:
    """pygeoapi serving prepared results of the same size (no database at all).

    The configuration is the one our app generated (server block, the collection with its
    CRS list, storage CRS, titles in three languages), with only the provider swapped for
    the stub: what remains is pygeoapi's own handling of our requests.
    """
    port = free_port()
    ours = yaml.safe_load((db.settings.server_dir / "pygeoapi-config.yml").read_text("utf-8"))
    resource = ours["resources"][layer.id]
    provider = resource["providers"][0]
    provider.update({"name": "benchmarks.stub_provider.CannedFeatureProvider", "data": str(canned)})
    resource["providers"] = [provider]
    ours["resources"] = {layer.id: resource}
    ours["server"].update(
        {"bind": {"host": "127.0.0.1", "port": port}, "url": f"http://127.0.0.1:{port}"}
    )
    return pygeoapi_spec(
        "ceiling",
        "pygeoapi ceiling (stub)",
        ours,
        workdir,
        port,
        layer.id,
        geoportal_env(db.settings),
    )


def http_floor_spec(db: BenchDatabase, layer: Layer, workdir: Path, answers: Path) -> ServerSpec:
    """A bare ASGI app replaying our answers' bytes: what HTTP alone costs on these workers."""
    port = free_port()
    env = geoportal_env(db.settings, BENCH_HTTP_FLOOR_ANSWERS=str(answers))
    return ServerSpec(
        "httpfloor",
        "HTTP floor (bare ASGI, same bytes)",
        "benchmarks.http_floor:app",
        env,
        Target(layer.id),
        REPO,
        port,
    )


def tipg_spec(db: BenchDatabase, layer: Layer, workdir: Path) -> ServerSpec:
    """tipg restricted to the layer's table, through asyncpg on the unix socket.

    tipg lists only tables the role may SELECT as a whole (`has_table_privilege`), and the
    public role may read the public columns only, so tipg reads as `geoportal_agency`, which
    has table-level SELECT; the roles differ in privileges, not in speed.
    """
    port = free_port()
    parts = psycopg.conninfo.conninfo_to_dict(db.database.role_conninfo(AGENCY_ROLE))
    folder = workdir / "tipg"
    folder.mkdir(parents=True, exist_ok=True)  # its cwd: tipg reads a `.env` from there
    qualified = f"{layer.schema_name}.{layer.table}"
    env = geoportal_env(db.settings)
    env.update(
        {
            # The socket folder as a percent-encoded host: tipg's pydantic DSN refuses an empty
            # host, and asyncpg ignores `?host=` when the URL names one.
            "DATABASE_URL": f"postgresql://{parts['user']}@{quote(str(parts['host']), safe='')}"
            f":{parts['port']}/{parts['dbname']}",
            "TIPG_DB_SCHEMAS": json.dumps([layer.schema_name]),
            "TIPG_DB_TABLES": json.dumps([qualified]),
            "TIPG_DB_FUNCTIONS": "[]",
            "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": json.dumps(["public", layer.schema_name]),
            "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        }
    )
    return ServerSpec(
        "tipg", "tipg 1.6", "tipg.main:app", env, Target(qualified, ("f", "geojson")), folder, port
    )


def start(spec: ServerSpec, workdir: Path) -> RunningServer:
    """Start gunicorn with uvicorn workers; return at once (see `wait_ready`)."""
    log_path = workdir / f"{spec.name}.log"
    command = [
        bin_path("gunicorn"),
        "-k",
        "uvicorn.workers.UvicornWorker",
        "-w",
        str(WORKERS),
        "-b",
        f"127.0.0.1:{spec.port}",
        "--log-level",
        "warning",
        "--timeout",
        "120",
        "--pythonpath",
        str(REPO),
        spec.app,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=spec.cwd,
            env=spec.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return RunningServer(spec, process, log_path)


def wait_ready(server: RunningServer, probe_path: str, timeout_s: float = 120) -> None:
    """Wait until the probe path answers 200 (the server loaded its collection)."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.spec.name} exited ({server.process.returncode}):\n{server.log_tail()}"
            )
        try:
            response = httpx.get(server.spec.base_url + probe_path, timeout=30)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:300]}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(
        f"{server.spec.name} not ready after {timeout_s:.0f} s ({last}):\n{server.log_tail()}"
    )


def stop(server: RunningServer, timeout_s: float = 20) -> None:
    """SIGTERM to the server's own process group, SIGKILL to it if it lingers."""
    if server.process.poll() is not None:
        return
    pgid = os.getpgid(server.process.pid)
    os.killpg(pgid, signal.SIGTERM)
    try:
        server.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        server.process.wait(timeout=5)


@contextmanager
def serving(
    specs: list[ServerSpec], workdir: Path, probe: str = "?limit=1"
) -> Iterator[list[RunningServer]]:
    """Start all servers, wait until each answers, stop them all at the end (also when the
    run is ended by SIGTERM, as `kill` or `timeout` send: it becomes SystemExit here)."""
    servers: list[RunningServer] = []
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        for spec in specs:
            servers.append(start(spec, workdir))
        for server in servers:
            target = server.spec.target
            wait_ready(server, f"/collections/{target.collection}/items{probe}")
        yield servers
    finally:
        for server in servers:
            stop(server)
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def process_tree(pid: int) -> list[int]:
    """The pid and all its descendants (from /proc)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def memory(server: RunningServer) -> dict[str, Any]:
    """Resident memory of master + workers now, and the sum of each process' peak (MB)."""
    rss = hwm = 0
    pids = process_tree(server.process.pid)
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss += int(values.get("VmRSS", "0 kB").split()[0])
        hwm += int(values.get("VmHWM", "0 kB").split()[0])
    return {
        "processes": len(pids),
        "rss_mb": round(rss / 1024, 1),
        "peak_rss_mb": round(hwm / 1024, 1),
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root_pid: int) -> float:
    """CPU time used so far by a process tree: user + system time of the live processes plus
    that of their children already exited and reaped (PostgreSQL backends of closed
    connections are reaped by the postmaster, so they still count)."""
    total = 0
    for pid in process_tree(root_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / CLOCK_TICKS
