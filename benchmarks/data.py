"""The benchmark database: its own embedded cluster and data directory, migrated, with the
layer under test loaded (the `national` demo data, or the SQL stand-in with `--synthetic`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from geoportal.db.cluster import EmbeddedCluster
from geoportal.db.database import Database
from geoportal.db.errors import MigrationError
from geoportal.db.migrate import migrate
from geoportal.settings import Settings
from layers.ddl import create_table_sql
from layers.model import Layer, LayerField

REPO = Path(__file__).resolve().parents[1]
SYNTHETIC_SQL = Path(__file__).with_name("sql") / "synthetic_plots.sql"
SYNTHETIC_COLUMNS = (
    "plot_code",
    "farm_name",
    "soil_type",
    "irrigation",
    "crop",
    "oblast",
    "area_ha",
)
NATIONAL_MIN_PLOTS = 250_000  # national: about 300,000 plots (298,762 for seed 42); small: 20,000
# The stand-in grid: the Chui valley between Kara-Balta and Kemin.
CHUI = {"west": 74.0, "south": 42.6, "width_deg": 1.5, "height_deg": 0.35}


@dataclass(frozen=True)
class BenchDatabase:
    """Where the benchmark's data lives and how to reach it."""

    settings: Settings
    started_cluster: bool

    @property
    def database(self) -> Database:
        """The project's view of the connection strings."""
        return Database(self.settings)

    @property
    def cluster(self) -> EmbeddedCluster:
        """The embedded cluster of the benchmark's data directory."""
        return EmbeddedCluster(self.settings)

    @property
    def admin_conninfo(self) -> str:
        """Superuser connection (loads, synthetic data)."""
        return self.database.admin_conninfo()

    @property
    def public_conninfo(self) -> str:
        """The read-only public role every server and the floor use."""
        return self.database.public_conninfo


def bench_settings(data_dir: Path) -> Settings:
    """Settings of the benchmark's own cluster (never an external server, never `.env`)."""
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=None,  # type: ignore[call-arg]
        public_database_url=None,
    )


def geoportal_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for `geoportal` subprocesses and our server: the bench data dir only."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GEOPORTAL_", "PYGEOAPI_", "TIPG_")) and k != "DATABASE_URL"
    }
    env.update(
        {
            "GEOPORTAL_DATA_DIR": str(settings.data_dir),
            "GEOPORTAL_DB_NAME": settings.db_name,
            "GEOPORTAL_DB_PORT": str(settings.db_port),
            # The limiter stays on (its cost per request is part of what is measured), with a
            # budget one load generator cannot spend: from one address it sends thousands of
            # anonymous requests a second, and the shipped 30 work-seconds a minute would
            # answer most of them with 429.
            "GEOPORTAL_SECURITY__RATE_LIMIT_PER_MINUTE": "100000",
            "GEOPORTAL_SECURITY__RATE_LIMIT_BURST": "100000",
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(extra)
    return env


def open_database(data_dir: Path, reset: bool = False) -> BenchDatabase:
    """Start (first time: create) the bench cluster, create the database and migrate it."""
    settings = bench_settings(data_dir)
    cluster = EmbeddedCluster(settings)
    if reset:
        cluster.destroy()
    started = cluster.up()
    database = Database(settings)
    database.ensure_database()
    try:
        migrate(database.admin_conninfo())
    except (MigrationError, psycopg.Error) as exc:
        raise RuntimeError(
            f"{exc}. The bench database predates a migration edited since: "
            "rerun with --reset to rebuild it (the data is reloaded)."
        ) from exc
    return BenchDatabase(settings=settings, started_cluster=started)


def loaded_source(conninfo: str, layer_id: str) -> tuple[int, str] | None:
    """(feature count, source) of a layer in `catalog.layer_stats`, None when not loaded."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT feature_count, coalesce(source_file, '') "
            "FROM catalog.layer_stats WHERE layer_id = %s",
            [layer_id],
        ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def ensure_national(db: BenchDatabase, layer: Layer) -> str:
    """Load the national demo data unless the layer already holds it; say what happened."""
    loaded = loaded_source(db.admin_conninfo, layer.id)
    if loaded and loaded[0] >= NATIONAL_MIN_PLOTS and not loaded[1].startswith("synthetic"):
        return f"national data already loaded ({loaded[0]:,} features)"
    with psycopg.connect(db.admin_conninfo) as conn:
        table = conn.execute(
            "SELECT to_regclass(%s)", [f'"{layer.schema_name}"."{layer.table}"']
        ).fetchone()
    if not table or table[0] is None:  # do not generate for minutes to fail at the load
        raise RuntimeError(
            f"the migrations do not create {layer.schema_name}.{layer.table} "
            "yet, so the national data cannot be loaded: run with --synthetic"
        )
    command = [sys.executable, "-m", "geoportal.cli", "demo", "load", "--scale", "national"]
    result = subprocess.run(command, env=geoportal_env(db.settings), cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(
            f"`geoportal demo load --scale national` failed (exit "
            f"{result.returncode}); run with --synthetic for the SQL stand-in"
        )
    loaded = loaded_source(db.admin_conninfo, layer.id)
    if not loaded:
        raise RuntimeError(f"the national load did not load {layer.id}")
    return f"loaded the national data ({loaded[0]:,} features)"


def synthetic_tag(plots: int, seed: float) -> str:
    """`catalog.layer_stats.source_file` of stand-in data, so a rerun can skip the load."""
    return f"synthetic plots={plots} seed={seed}"


def ensure_synthetic(db: BenchDatabase, layer: Layer, plots: int, seed: float) -> str:
    """Fill the layer's table with the SQL stand-in unless it already holds the same data."""
    tag = synthetic_tag(plots, seed)
    if loaded_source(db.admin_conninfo, layer.id) == (plots, tag):
        return f"synthetic stand-in already loaded ({plots:,} plots)"
    with psycopg.connect(db.admin_conninfo) as conn:
        create_layer_table(conn, layer)
        run_script(conn, SYNTHETIC_SQL.read_text("utf-8"), synthetic_params(plots, seed))
        copy_synthetic(conn, layer)
        conn.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), {}, true)").format(
                sql.Literal(f"{layer.schema_name}.{layer.table}"), sql.Literal(plots)
            )
        )
        record_stats(conn, layer, tag)
    with psycopg.connect(db.admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(*layer.qualified_table)))
    return f"loaded the synthetic stand-in ({plots:,} plots)"


def synthetic_params(plots: int, seed: float) -> dict[str, float | int]:
    """Grid of about `plots` cells over the Chui valley, cells about as wide as tall."""
    aspect = 3.15  # 1.5 deg of longitude x 0.35 deg of latitude at 42.8 N, in km
    nrows = max(1, round((plots / aspect) ** 0.5))
    ncols = -(-plots // nrows)
    return {"seed": seed, "plots": plots, "ncols": ncols, "nrows": nrows, "sigma": 0.8, **CHUI}


def run_script(conn: psycopg.Connection, script: str, params: dict[str, float | int]) -> None:
    """Run a `;`-separated SQL file statement by statement with its named parameters."""
    body = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    for statement in (s.strip() for s in re.split(r";\s*\n", body)):
        if statement:
            used = {k: v for k, v in params.items() if f"%({k})s" in statement}
            conn.execute(statement.rstrip(";"), used)


def create_layer_table(conn: psycopg.Connection, layer: Layer) -> None:
    """Create the layer's schema and table from its declaration unless they exist."""
    exists = conn.execute(
        "SELECT to_regclass(%s)", [f'"{layer.schema_name}"."{layer.table}"']
    ).fetchone()
    if exists and exists[0]:
        return
    schema = sql.Identifier(layer.schema_name)
    conn.execute(
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION geoportal_owner").format(schema)
    )
    conn.execute(
        sql.SQL("GRANT USAGE ON SCHEMA {} TO geoportal_agency, geoportal_public").format(schema)
    )
    conn.execute(create_table_sql(layer))  # validated identifiers, quoted by layers.ddl


def copy_synthetic(conn: psycopg.Connection, layer: Layer) -> None:
    """Replace the table's rows with `synth_plots`, filling every declared field.

    The stand-in's own columns fill fields of the same name when their values fit the
    declaration; any other field gets values drawn from its declaration (enum, range, type),
    so this also works once the real `agri_plots` is declared with more fields.
    """
    table = sql.Identifier(*layer.qualified_table)
    geom = sql.SQL("s.geom")
    if layer.geometry_type == "Polygon":
        geom = sql.SQL("ST_GeometryN(s.geom, 1)")
    if layer.storage_srid != 4326:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(layer.storage_srid))
    names = [f.name for f in layer.fields]
    values = [value_expression(conn, f) for f in layer.fields]
    conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(table))
    conn.execute(
        sql.SQL("INSERT INTO {} (id, {}, geom) SELECT s.n, {}, {} FROM synth_plots AS s").format(
            table, sql.SQL(", ").join(map(sql.Identifier, names)), sql.SQL(", ").join(values), geom
        )
    )


OWN_VALUES = {
    "soil_type": ["serozem", "chestnut", "meadow", "chernozem", "alluvial", "saline"],
    "irrigation": ["canal", "drip", "sprinkler", "rainfed"],
    "crop": [
        "wheat",
        "barley",
        "maize",
        "sugar_beet",
        "potato",
        "alfalfa",
        "vegetables",
        "orchard",
    ],
    "oblast": ["Chuy"],
}


def own_column_fits(field: LayerField) -> bool:
    """True when the stand-in's column of this name is valid for the declared field."""
    if field.name not in SYNTHETIC_COLUMNS:
        return False
    if field.type != ("double" if field.name == "area_ha" else "text"):
        return False
    values = OWN_VALUES.get(field.name)
    return field.enum is None or (values is not None and set(values) <= set(field.enum))


def value_expression(conn: psycopg.Connection, field: LayerField) -> sql.Composable:
    """SQL giving `field` a valid value for each stand-in row `s`."""
    if own_column_fits(field):
        column: sql.Composable = sql.SQL("s.{}").format(sql.Identifier(field.name))
        if field.minimum is not None:  # e.g. a declared minimum plot size: clamp to it
            column = sql.SQL("greatest({}, {})").format(column, sql.Literal(field.minimum))
        if field.maximum is not None:
            column = sql.SQL("least({}, {})").format(column, sql.Literal(field.maximum))
        return column
    if field.references:
        return reference_expression(conn, field)
    if field.enum:
        return sql.SQL("({}::text[])[1 + floor(random() * {})::int]").format(
            sql.Literal(list(field.enum)), sql.Literal(len(field.enum))
        )
    low = field.minimum if field.minimum is not None else 0
    high = field.maximum if field.maximum is not None else low + 1000
    number = sql.SQL("({} + random() * {})").format(sql.Literal(low), sql.Literal(high - low))
    by_type = {
        "text": sql.SQL("{} || s.n").format(sql.Literal(f"{field.name}-")),
        "integer": sql.SQL("floor({})::integer").format(number),
        "bigint": sql.SQL("floor({})::bigint").format(number),
        "double": number,
        "boolean": sql.SQL("random() < 0.5"),
        "date": sql.SQL("date '2020-01-01' + floor(random() * 1800)::int"),
        "timestamptz": sql.SQL(
            "timestamptz '2020-01-01 00:00+06' + random() * interval '1800 days'"
        ),
    }
    return by_type[field.type]


def reference_expression(conn: psycopg.Connection, field: LayerField) -> sql.Composable:
    """A referenced id: NULL when allowed, else the first row of the referenced layer."""
    if not field.required:
        return sql.SQL("NULL")
    from benchmarks.standin import catalogue_with_standins

    target = catalogue_with_standins().get(str(field.references))
    first = conn.execute(
        sql.SQL("SELECT min(id) FROM {}").format(sql.Identifier(*target.qualified_table))
    ).fetchone()
    if not first or first[0] is None:
        raise RuntimeError(
            f"{field.name} references {target.id}, which is empty in the "
            "bench database: use the national demo data instead of --synthetic"
        )
    return sql.Literal(first[0])


def record_stats(conn: psycopg.Connection, layer: Layer, tag: str) -> None:
    """The layer's exact count and extent in `catalog.layer_stats`, as a load writes them."""
    conn.execute(
        sql.SQL(
            "INSERT INTO catalog.layer_stats (layer_id, feature_count, bbox_4326, source_file) "
            "SELECT {id}, s.n, ARRAY[ST_XMin(s.e), ST_YMin(s.e), ST_XMax(s.e), ST_YMax(s.e)], "
            "{tag} FROM (SELECT count(*) AS n, ST_Extent(ST_Transform(geom, 4326)) AS e "
            "FROM {table}) AS s "
            "ON CONFLICT (layer_id) DO UPDATE SET feature_count = EXCLUDED.feature_count, "
            "bbox_4326 = EXCLUDED.bbox_4326, source_file = EXCLUDED.source_file, "
            "loaded_at = now()"
        ).format(
            id=sql.Literal(layer.id),
            tag=sql.Literal(tag),
            table=sql.Identifier(*layer.qualified_table),
        )
    )
