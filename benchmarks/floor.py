"""The SQL floor: each request class answered by hand-written SQL, timed in the database.

The floor query returns the same answer a server sends (the page as GeoJSON text, built by
PostGIS) without what the OGC API adds around it (numberMatched, links). Latency is the
planning + execution time PostgreSQL reports for the statement (`EXPLAIN (ANALYZE, TIMING
OFF)`: no client, no network); throughput is pgbench (a C client) running the statement on
8 connections, or psycopg threads when pgbench is missing.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.cases import Case
from geoportal.db.cluster import find_bin_dir
from layers.model import Layer

ID_PLACEHOLDER = "__ID__"


@dataclass(frozen=True)
class FloorResult:
    """Database-side figures of one request class."""

    p50_ms: float
    p95_ms: float
    rps: float | None
    rows: int
    samples: int
    client: str


def public_columns(conn: psycopg.Connection, layer: Layer) -> list[str]:
    """Attribute columns the connected role may read, in table order (no id, no geometry)."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name = %s AND column_name NOT IN ('id', 'geom') ORDER BY ordinal_position",
        [layer.schema_name, layer.table],
    ).fetchall()
    return [r[0] for r in rows]


def where_sql(layer: Layer, case: Case) -> sql.Composable | None:
    """The WHERE condition a request class implies (bbox, filter), None for none."""
    where: list[sql.Composable] = []
    if case.bbox:
        box = sql.SQL("ST_Transform(ST_MakeEnvelope({}, {}, {}, {}, 4326), {})").format(
            *map(sql.Literal, case.bbox), sql.Literal(layer.storage_srid)
        )
        where.append(sql.SQL("geom && {0} AND ST_Intersects(geom, {0})").format(box))
    if case.cql:
        where.append(sql.SQL(cql_to_sql(case.cql)))  # type: ignore[arg-type]
    return sql.SQL(" AND ").join(where) if where else None


def page_sql(layer: Layer, columns: list[str], case: Case) -> str:
    """The hand-written statement of a request class; by-id cases hold ID_PLACEHOLDER."""
    condition = where_sql(layer, case)
    if case.by_id:
        condition = sql.SQL("id = " + ID_PLACEHOLDER)  # type: ignore[arg-type]
    properties = sql.SQL(", ").join(
        sql.SQL("{}, p.{}").format(sql.Literal(c), sql.Identifier(c)) for c in columns
    )
    geometry = (
        sql.SQL("ST_AsGeoJSON(p.geom, 7)")
        if layer.storage_srid == 4326
        else sql.SQL("ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)")
    )
    statement = sql.SQL(
        'SELECT \'{{"type":"FeatureCollection","features":[\' || coalesce(string_agg('
        '\'{{"type":"Feature","id":\' || p.id || \',"geometry":\' || {geometry} || '
        "',\"properties\":' || json_build_object({properties})::text || '}}', ',' "
        "ORDER BY p.id), '') || ']}}' "
        "FROM (SELECT id, {columns}, geom FROM {table} {where} ORDER BY id "
        "LIMIT {limit} OFFSET {offset}) AS p"
    ).format(
        geometry=geometry,
        properties=properties,
        table=sql.Identifier(*layer.qualified_table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        where=sql.SQL("WHERE {}").format(condition) if condition else sql.SQL(""),
        limit=sql.Literal(case.limit),
        offset=sql.Literal(case.offset),
    )
    return statement.as_string(None)


def matched_total(conn: psycopg.Connection, layer: Layer, case: Case) -> int:
    """All features a request class matches (what an exact numberMatched says)."""
    condition = where_sql(layer, case)
    query = sql.SQL("SELECT count(*) FROM {}{}").format(
        sql.Identifier(*layer.qualified_table),
        sql.SQL(" WHERE {}").format(condition) if condition else sql.SQL(""),
    )
    return int(conn.execute(query).fetchone()[0])  # type: ignore[index]


def page_ids(conn: psycopg.Connection, layer: Layer, case: Case) -> list[int]:
    """Ids on the floor's page of a class (ORDER BY id)."""
    condition = where_sql(layer, case)
    query = sql.SQL("SELECT id FROM {}{} ORDER BY id LIMIT {} OFFSET {}").format(
        sql.Identifier(*layer.qualified_table),
        sql.SQL(" WHERE {}").format(condition) if condition else sql.SQL(""),
        sql.Literal(case.limit),
        sql.Literal(case.offset),
    )
    return [int(r[0]) for r in conn.execute(query).fetchall()]


def count_satisfying(conn: psycopg.Connection, layer: Layer, case: Case, ids: list[int]) -> int:
    """How many of the returned feature ids really satisfy the request's condition."""
    if not ids:
        return 0
    condition = where_sql(layer, case) or sql.SQL("true")
    query = sql.SQL("SELECT count(*) FROM {} WHERE id = ANY({}) AND {}").format(
        sql.Identifier(*layer.qualified_table), sql.Literal(ids), condition
    )
    return int(conn.execute(query).fetchone()[0])  # type: ignore[index]


def cql_to_sql(cql: str) -> str:
    """The benchmark's CQL2 text filters are plain comparisons joined by AND/OR: the same
    text is valid SQL once property names are quoted. Anything else is refused."""
    token = re.compile(
        r"\s*(?:('(?:[^']|'')*')|(-?\d+(?:\.\d+)?)|(AND|OR|NOT)\b|"
        r"([A-Za-z_][A-Za-z0-9_]*)|(<>|<=|>=|=|<|>|\(|\)))",
        re.IGNORECASE,
    )
    out, pos = [], 0
    while pos < len(cql.rstrip()):
        match = token.match(cql, pos)
        if not match:
            raise ValueError(f"the SQL floor cannot translate this filter: {cql!r}")
        text, number, keyword, name, operator = match.groups()
        if name:
            out.append(sql.Identifier(name).as_string(None))
        else:
            out.append(text or number or (keyword or "").upper() or operator)
        pos = match.end()
    return " ".join(out)


def count_rows(conn: psycopg.Connection, statement: str, feature_id: int | None = None) -> int:
    """How many features the floor's answer holds."""
    text = conn.execute(bind_id(statement, feature_id)).fetchone()[0]  # type: ignore[index]
    return text.count('"type":"Feature"')


def bind_id(statement: str, feature_id: int | None) -> str:
    """The statement with the id placeholder replaced by an integer literal."""
    return statement.replace(ID_PLACEHOLDER, str(int(feature_id or 0)))


def database_times_ms(
    conn: psycopg.Connection, statement: str, ids: list[int], samples: int
) -> list[float]:
    """Planning + execution time of `samples` runs, as PostgreSQL reports them."""
    times = []
    for i in range(samples):
        query = bind_id(statement, ids[i % len(ids)] if ids else None)
        plan = conn.execute(
            "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) " + query
        ).fetchone()[0][0]  # type: ignore[index]
        times.append(float(plan["Planning Time"]) + float(plan["Execution Time"]))
    return times


def pgbench_rps(
    conninfo_parts: dict[str, str],
    statement: str | list[str],
    ids: list[int],
    requests: int,
    concurrency: int,
) -> float | None:
    """Transactions per second of pgbench running the statement (several: each transaction
    runs one drawn at random); None without pgbench."""
    try:
        pgbench = find_bin_dir() / "pgbench"
    except Exception:  # PostgresNotInstalledError: fall back to PATH
        pgbench = Path(shutil.which("pgbench") or "/nonexistent")
    if not pgbench.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        head = f"\\set id random({min(ids)}, {max(ids)})\n" if ids else ""
        scripts = []
        for index, text in enumerate([statement] if isinstance(statement, str) else statement):
            scripts.append(Path(tmp) / f"floor{index}.sql")
            scripts[-1].write_text(head + text.replace(ID_PLACEHOLDER, ":id") + ";\n")
        per_client = max(1, requests // concurrency)
        command = [
            str(pgbench),
            "-n",
            "-M",
            "extended",
            *(arg for script in scripts for arg in ("-f", str(script))),
            "-c",
            str(concurrency),
            "-j",
            "1",
            "-t",
            str(per_client),
            "-h",
            conninfo_parts["host"],
            "-p",
            conninfo_parts["port"],
            "-U",
            conninfo_parts["user"],
            conninfo_parts["dbname"],
        ]
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp)
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"pgbench failed: {result.stderr.strip() or result.stdout[-500:]}")
    return float(match.group(1))


def threads_rps(
    conninfo: str, statement: str, ids: list[int], requests: int, concurrency: int
) -> float:
    """Statements per second from `concurrency` psycopg connections in threads."""

    def worker(offset: int) -> None:
        with psycopg.connect(conninfo) as conn:
            for i in range(offset, requests, concurrency):
                conn.execute(bind_id(statement, ids[i % len(ids)] if ids else None)).fetchone()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    return requests / (time.perf_counter() - started)


def measure_floor(
    conninfo: str,
    statement: str,
    ids: list[int],
    *,
    samples: int,
    requests: int,
    max_seconds: float,
    concurrency: int = 8,
) -> FloorResult:
    """Latency (database time) at concurrency 1 and throughput at `concurrency`; fewer
    samples and statements when they would take over `max_seconds` each."""
    parts = psycopg.conninfo.conninfo_to_dict(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        warm = database_times_ms(conn, statement, ids, min(samples, 20))
        each_s = max(statistics.median(warm), 0.01) / 1000
        samples = min(samples, max(20, int(max_seconds / each_s)))
        requests = min(requests, max(50, int(max_seconds * 2 / each_s)))  # >= 2 busy cores
        times = database_times_ms(conn, statement, ids, samples)
        rows = count_rows(conn, statement, ids[0] if ids else None)
    rps = pgbench_rps({k: str(v) for k, v in parts.items()}, statement, ids, requests, concurrency)
    client = "pgbench"
    if rps is None:
        rps, client = threads_rps(conninfo, statement, ids, requests, concurrency), "psycopg"
    return FloorResult(
        p50_ms=statistics.median(times),
        p95_ms=percentile(times, 95),
        rps=rps,
        rows=rows,
        samples=len(times),
        client=client,
    )


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.0
    """
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]
