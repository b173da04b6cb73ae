"""Shared fixtures: one embedded PostGIS cluster per test run, migrated and loaded once.

The cluster lives in its own temporary data directory, so `make test` never touches the
cluster of a running `make run`, and it is destroyed at the end of the run.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from demo.generate import THEMES, generate, generated_dir
from demo.loader import load_demo, loadable_layers
from geoportal.catalogue.records import sync_datasets
from geoportal.db.database import Database
from geoportal.db.migrate import migrate
from geoportal.security.settings import SecuritySettings
from geoportal.settings import Settings
from layers.catalogue import Catalogue, load_catalogue
from tests.support.imagery import clear_pipeline_tables
from tests.support.oidc import AUDIENCE, ISSUER, LocalIssuer
from tests.support.server import LiveServer, free_port, start_server


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Versions of the geospatial stack the run used."""
    import pyproj
    import shapely

    gdal = subprocess.run(["ogrinfo", "--version"], capture_output=True, text=True).stdout
    return [
        f"GEOS {shapely.geos_version_string}, PROJ {pyproj.proj_version_str}, "
        f"{gdal.strip() or 'GDAL CLI missing'}"
    ]


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for tests: the embedded cluster in `data_dir`, never an external server."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": None,
        "public_database_url": None,
        "port": free_port(),
        "security": SecuritySettings(rate_limit_per_minute=0),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The declared layers."""
    return load_catalogue()


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    """The local OIDC issuer the test server trusts (its key signs valid tokens)."""
    return LocalIssuer(tmp_path_factory.mktemp("oidc"))


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, issuer: LocalIssuer) -> Settings:
    """Settings of the test run's cluster and server: tokens of the local issuer accepted,
    no rate limit (tests send many requests from one address; the limiter has its own
    tests)."""
    security = SecuritySettings(
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks=str(issuer.jwks_path),
        rate_limit_per_minute=0,
    )
    return make_settings(tmp_path_factory.mktemp("geoportal-data"), security=security)


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    """The embedded cluster, started, with the database created and migrated."""
    database = Database(settings)
    cluster = database.cluster
    assert cluster is not None
    cluster.up()
    try:
        database.ensure_database()
        migrate(database.admin_conninfo())
        with psycopg.connect(database.admin_conninfo()) as conn:
            sync_datasets(conn, load_catalogue())
        with psycopg.connect(database.admin_conninfo()) as conn:
            version = conn.execute("SELECT postgis_full_version()").fetchone()
        print(f"\nPostGIS: {version[0] if version else '?'}")
        yield database
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def generated(settings: Settings, catalogue: Catalogue) -> Path:
    """The `small` demo data of every declared theme, generated once (seed 42)."""
    out = generated_dir(settings.data_dir, "small", 42)
    declared = {layer.theme for layer in catalogue}
    generate("small", 42, out, [theme for theme, _ in THEMES if theme in declared])
    return out


@pytest.fixture(scope="session")
def loaded(database: Database, catalogue: Catalogue, generated: Path) -> Database:
    """The database with all the demo data loaded: open base layers and generated ones."""
    load_demo(database.owner_conninfo, loadable_layers(catalogue), generated_dir=generated)
    return database


@pytest.fixture(scope="session")
def live_server(loaded: Database, settings: Settings) -> Iterator[LiveServer]:
    """The real ASGI app served by uvicorn on a free port, over real HTTP."""
    with start_server(settings) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def _provider_test_conninfo(request: pytest.FixtureRequest) -> None:
    """Tests of the features provider read the owner's conninfo from the environment."""
    if any(
        part in str(item.fspath)
        for item in request.session.items
        for part in ("tests/providers", "tests/features")
    ):
        database: Database = request.getfixturevalue("database")
        os.environ["GEOPORTAL_TEST_OWNER_CONNINFO"] = database.admin_conninfo()


@pytest.fixture
def queue_conn(database: Database) -> Iterator[psycopg.Connection]:
    """An owner connection (autocommit) on an empty queue; the queue is emptied again after."""
    with psycopg.connect(database.owner_conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM jobs.jobs")
        yield conn
        conn.execute("DELETE FROM jobs.jobs")


PIPELINE = {layer.id for layer in load_catalogue() if layer.source and layer.source.pipeline}
"""Layers the imagery pipelines fill: their rows come from a small demo season."""


@pytest.fixture(scope="module")
def pipeline_rows(
    loaded: Database, generated: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """A small synthetic season through the pipelines, so that their layers hold rows to
    copy; emptied afterwards (other tests replace the plots these rows reference)."""
    from demo.imagery.season import load_season

    load_season(loaded.owner_conninfo, tmp_path_factory.mktemp("season"), generated, size=96)
    yield
    clear_pipeline_tables(loaded.owner_conninfo)


@pytest.fixture
def rows_of(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Call with a layer id before reading its rows (starts the season for pipeline layers)."""

    def need(layer_id: str) -> None:
        if layer_id in PIPELINE:
            request.getfixturevalue("pipeline_rows")

    return need
