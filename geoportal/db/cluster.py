"""The embedded PostGIS cluster: a private PostgreSQL instance in the data directory.

It listens on a unix socket in its own folder (TCP only when asked), so a newcomer needs no
database administration and tests never touch a server someone else runs. PostgreSQL refuses
to run as root: under root the cluster is run by an unprivileged system user and lives where
that user can reach it (`/var/lib/geoportal/clusters/<hash of the data dir>`), because a clone
under `/root` is not traversable by others.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from geoportal.db.errors import ClusterStartError, PostgresNotInstalledError
from geoportal.settings import Settings, is_root

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
ROOT_CLUSTERS_DIR = Path("/var/lib/geoportal/clusters")
MAX_SOCKET_PATH = 100  # sun_path holds 107 bytes; keep room for "/.s.PGSQL.NNNNN"
INSTALL_HINT = (
    "Install PostgreSQL 15+ with PostGIS 3, e.g. on Debian/Ubuntu: "
    "`sudo apt-get install postgresql postgresql-15-postgis-3 gdal-bin` "
    "(or set GEOPORTAL_DATABASE_URL to an existing PostGIS server)."
)


@dataclass(frozen=True)
class ClusterStatus:
    """What `geoportal db status` reports for the embedded cluster."""

    cluster_dir: Path
    socket_dir: Path
    initialised: bool
    running: bool
    pid: int | None
    version: str | None
    run_user: str


def find_bin_dir(configured: Path | None = None) -> Path:
    """The folder holding `initdb`, `pg_ctl` and `postgres`.

    Looks at `configured`, then Debian's `/usr/lib/postgresql/<newest>/bin`, then `PATH`.

    Raises:
        PostgresNotInstalledError: with the packages to install.
    """
    candidates: list[Path] = []
    if configured:
        candidates.append(configured)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if all((candidate / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise PostgresNotInstalledError(f"PostgreSQL server binaries not found. {INSTALL_HINT}")


def check_postgis(bin_dir: Path) -> None:
    """Raise PostgresNotInstalledError unless PostGIS is installed for this PostgreSQL."""
    version = server_major_version(bin_dir)
    share_dirs = [Path(f"/usr/share/postgresql/{version}")]
    pg_config = bin_dir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        if out.returncode == 0:
            share_dirs.insert(0, Path(out.stdout.strip()))
    if not any((d / "extension" / "postgis.control").exists() for d in share_dirs):
        raise PostgresNotInstalledError(
            f"PostGIS is not installed for PostgreSQL {version}: install the package "
            f"`postgresql-{version}-postgis-3` (Debian/Ubuntu), or see {INSTALL_HINT}"
        )


def server_major_version(bin_dir: Path) -> str:
    """Major version of the server binaries, e.g. `15`."""
    out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True)
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if not match:
        raise PostgresNotInstalledError(f"cannot read the version of {bin_dir / 'postgres'}")
    return match.group(1)


class EmbeddedCluster:
    """Create, start, stop and inspect the private cluster of one data directory."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.run_user = settings.pg_run_user if is_root() else pwd.getpwuid(os.getuid()).pw_name
        key = hashlib.sha1(str(settings.data_dir).encode()).hexdigest()[:12]
        self.cluster_dir = ROOT_CLUSTERS_DIR / key if is_root() else settings.data_dir / "postgres"
        self.pgdata = self.cluster_dir / "pgdata"
        socket_dir = self.cluster_dir / "run"
        if len(str(socket_dir)) > MAX_SOCKET_PATH - 16:
            socket_dir = Path(f"/tmp/geoportal-{key}")
        self.socket_dir = socket_dir
        self.log_file = self.cluster_dir / "postgres.log"

    # -- connection -------------------------------------------------------------------------

    def conninfo(self, user: str = SUPERUSER, dbname: str | None = None) -> str:
        """A libpq connection string to this cluster over its unix socket."""
        return psycopg.conninfo.make_conninfo(
            host=str(self.socket_dir),
            port=str(self.settings.db_port),
            dbname=dbname or self.settings.db_name,
            user=user,
        )

    # -- inspection -------------------------------------------------------------------------

    @property
    def initialised(self) -> bool:
        """True once initdb has run."""
        return (self.pgdata / "PG_VERSION").exists()

    def running_pid(self) -> int | None:
        """PID of the live postmaster of this cluster, None when it is not running."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            first_line = pid_file.read_text().splitlines()[0]
            pid = int(first_line.strip())
        except (FileNotFoundError, IndexError, ValueError, PermissionError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return None
        # A reused PID (after a crash or a container restart) belongs to another program.
        if not cmdline or not cmdline[0].endswith((b"postgres", b"postmaster")):
            return None
        return pid

    def status(self) -> ClusterStatus:
        """The cluster's state, without changing anything."""
        version = None
        if self.initialised:
            version = (self.pgdata / "PG_VERSION").read_text().strip()
        pid = self.running_pid()
        return ClusterStatus(
            cluster_dir=self.cluster_dir,
            socket_dir=self.socket_dir,
            initialised=self.initialised,
            running=pid is not None,
            pid=pid,
            version=version,
            run_user=self.run_user,
        )

    # -- lifecycle --------------------------------------------------------------------------

    def up(self, timeout_s: float = 60.0) -> bool:
        """Initialise (first time) and start the cluster; wait until it accepts connections.

        Idempotent: returns False when it was already running, True when it was started.

        Raises:
            PostgresNotInstalledError: PostgreSQL or PostGIS is missing.
            ClusterStartError: the server did not come up; the message quotes its log.
        """
        bin_dir = find_bin_dir(self.settings.pg_bin_dir)
        check_postgis(bin_dir)
        self._ensure_run_user()
        self._prepare_dirs()
        if not self.initialised:
            self._initdb(bin_dir)
        if self.running_pid() is not None:
            self._wait_ready(timeout_s)
            return False
        self._remove_stale_locks()
        options = f"-c port={self.settings.db_port}"
        command = [
            str(bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(int(timeout_s)),
            "-o",
            options,
        ]
        result = self._run(command, check=False)
        if result.returncode != 0:
            raise ClusterStartError(
                f"PostgreSQL did not start ({result.stderr.strip() or result.stdout.strip()}). "
                f"Last lines of {self.log_file}:\n{self._log_tail()}"
            )
        self._wait_ready(timeout_s)
        log.info("embedded PostGIS started in %s (socket %s)", self.cluster_dir, self.socket_dir)
        return True

    def down(self, timeout_s: float = 60.0) -> bool:
        """Stop the cluster (fast shutdown). Returns False when it was not running."""
        if self.running_pid() is None:
            self._remove_stale_locks()
            return False
        bin_dir = find_bin_dir(self.settings.pg_bin_dir)
        self._run(
            [
                str(bin_dir / "pg_ctl"),
                "stop",
                "-D",
                str(self.pgdata),
                "-m",
                "fast",
                "-w",
                "-t",
                str(int(timeout_s)),
            ]
        )
        log.info("embedded PostGIS stopped (%s)", self.cluster_dir)
        return True

    def destroy(self) -> None:
        """Stop the cluster and delete its files (tests and `db reset`)."""
        self.down()
        shutil.rmtree(self.cluster_dir, ignore_errors=True)
        if self.socket_dir != self.cluster_dir / "run":
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    # -- internals --------------------------------------------------------------------------

    def _ensure_run_user(self) -> None:
        """Under root, create the unprivileged system user that runs PostgreSQL if missing."""
        if not is_root():
            return
        try:
            pwd.getpwnam(self.run_user)
        except KeyError:
            log.info("creating system user %s to run PostgreSQL", self.run_user)
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    self.run_user,
                ],
                check=True,
            )

    def _prepare_dirs(self) -> None:
        for folder in (self.cluster_dir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            if is_root():
                user = pwd.getpwnam(self.run_user)
                os.chown(folder, user.pw_uid, user.pw_gid)
            folder.chmod(0o700)
        if is_root():
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            (self.settings.data_dir / "postgres.location").write_text(f"{self.cluster_dir}\n")

    def _initdb(self, bin_dir: Path) -> None:
        log.info("initialising the embedded cluster in %s", self.pgdata)
        command = [
            str(bin_dir / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]
        # C.UTF-8 sorts by code point like C, and knows the case of Cyrillic letters, so
        # that ILIKE search finds "Каракол" for "каракол". Systems without it get plain C.
        result = self._run([*command, "--locale=C.UTF-8"], check=False)
        if result.returncode != 0:
            log.warning(
                "locale C.UTF-8 unavailable (%s); case-insensitive search will only "
                "fold ASCII letters",
                result.stderr.strip().splitlines()[-1:],
            )
            shutil.rmtree(self.pgdata, ignore_errors=True)
            self._run([*command, "--no-locale"])
        listen = "127.0.0.1" if self.settings.db_listen_tcp else ""
        conf = (
            "\n# geoportal embedded cluster\n"
            f"listen_addresses = '{listen}'\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "unix_socket_permissions = 0700\n"
            "max_connections = 100\n"
            "shared_buffers = 256MB\n"
            "work_mem = 16MB\n"
            "maintenance_work_mem = 256MB\n"
            "fsync = on\n"
            "synchronous_commit = off\n"
            "log_min_duration_statement = 5000\n"
            "timezone = 'UTC'\n"
        )
        with (self.pgdata / "postgresql.conf").open("a") as handle:
            handle.write(conf)

    def _remove_stale_locks(self) -> None:
        """Delete a postmaster.pid and socket lock left by a server that is gone."""
        if self.running_pid() is not None:
            return
        stale = [
            self.pgdata / "postmaster.pid",
            self.socket_dir / f".s.PGSQL.{self.settings.db_port}.lock",
            self.socket_dir / f".s.PGSQL.{self.settings.db_port}",
        ]
        for path in stale:
            if path.exists() or path.is_symlink():
                log.warning("removing stale %s", path)
                path.unlink()

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.conninfo(dbname="postgres"), connect_timeout=5):
                    return
            except psycopg.OperationalError as exc:
                last_error = exc
                time.sleep(0.2)
        raise ClusterStartError(
            f"PostgreSQL does not accept connections: {last_error}\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _run(self, command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        if is_root():
            user = pwd.getpwnam(self.run_user)
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            env["HOME"] = user.pw_dir
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd="/", **kwargs)  # type: ignore[call-overload]
        if check and result.returncode != 0:
            raise ClusterStartError(f"{Path(command[0]).name} failed: {result.stderr.strip()}")
        return result
