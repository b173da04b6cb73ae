"""`load_file`: one file into one layer, the function the CLI and the `layers.load` job share.

Steps, all in one transaction of the owner's connection: open the file (`sources`), read it
a chunk at a time, convert and check every field (`fields`) and geometry (`geometry`) with
vectorised code, COPY the rows without blocking problems into a staging table (`staging`),
check what needs the whole file or the database, then (unless the report blocks, or this is
a dry run) merge into the layer, refresh its statistics and record one audit change set.
A failure or a kill at any point leaves the layer as it was.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import psycopg
from psycopg import sql

from cadastre.history import REGISTER_LAYERS
from ingestion import staging
from ingestion.errors import (
    IngestionError,
    LoadRefusedError,
    LoadScopeError,
    LoadTimeoutError,
    NoNaturalKeyError,
    RegisterReplaceError,
)
from ingestion.fields import check_columns, field_column, plain, resolve_sources
from ingestion.geometry import chunk_geometries
from ingestion.report import ValidationReport
from ingestion.settings import IngestionSettings
from ingestion.sources import Source, SourceOptions, close_source, open_source, read_chunks
from layers.model import Layer, ValueSource

Mode = Literal["replace", "append", "upsert"]
MODES: tuple[str, ...] = ("replace", "append", "upsert")
LOAD_WORK_MEM = "128MB"
"""The load transaction's work_mem: the merge sorts the staged rows by row number in memory
rather than on disk."""


@dataclass(frozen=True, kw_only=True)
class LoadScope:
    """Who loads and where they may: an agency user's themes and oblasts (empty: all)."""

    user: str
    role: str = "agency"
    themes: tuple[str, ...] = ()
    oblasts: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LoadRequest:
    """Everything a load needs (the `layers.load` job's inputs, the CLI's options)."""

    layer: Layer
    path: Path
    mode: Mode = "replace"
    source: SourceOptions = field(default_factory=SourceOptions)
    mapping: Mapping[str, ValueSource] | None = None
    skip_invalid: bool = False
    dry_run: bool = False
    scope: LoadScope | None = None
    actor: str = "cli"
    referenced: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Fields holding another layer's feature id -> that layer's (schema, table)."""
    key: tuple[str, ...] | None = None
    """The natural key an upsert matches on, when not the declaration's `key:` (an OSM
    import upserts roads and buildings by `osm_id`): `unique:` fields of the layer only."""
    job_id: str | None = None
    """The job running this load (recorded in its audit change set)."""


@dataclass(frozen=True, kw_only=True)
class LoadOutcome:
    """What a load did (nothing for a dry run) and its validation report."""

    report: ValidationReport
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    repaired: int = 0
    loaded: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The outcome as the job's results (the report's JSON included)."""
        return {
            "layer": self.report.layer,
            "mode": self.report.mode,
            "dryRun": not self.loaded,
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "skipped": self.report.rows_skipped,
            "featureCount": self.inserted + self.updated,
            "repairedGeometries": self.repaired,
            "report": self.report.to_dict(),
        }


def parse_mapping(document: Mapping[str, Any]) -> dict[str, ValueSource]:
    """A field mapping (`--mapping map.yaml`, the job's `mapping`): field name -> a column
    name or {column, map, default, derive}, the vocabulary of the declarations.

    Raises:
        IngestionError: naming the entry that is not a valid source.
    """
    out = {}
    for name, spec in document.items():
        try:
            out[str(name)] = (
                ValueSource(column=spec) if isinstance(spec, str) else ValueSource(**spec)
            )
        except (TypeError, ValueError) as exc:
            raise IngestionError(f"mapping of field {name!r}: {exc}") from exc
    return out


def keyed(request: LoadRequest) -> LoadRequest:
    """The request with its layer's natural key replaced by `request.key` (if given).

    Raises:
        IngestionError: a key field the layer lacks or that is not `unique:` (one field of
            its own must name one feature, or the upsert would update several).
    """
    if request.key is None or list(request.key) == request.layer.key:
        return request
    layer = request.layer
    fields = {f.name: f for f in layer.fields}
    if len(request.key) != 1 or not getattr(fields.get(request.key[0]), "unique", False):
        unique = sorted(name for name, f in fields.items() if f.unique)
        raise IngestionError(
            f"key {list(request.key)}: layer {layer.id} is upserted by its declared key "
            f"{layer.key} or by one of its unique fields {unique}"
        )
    return replace(request, layer=layer.model_copy(update={"key": list(request.key)}))


def _check_request(request: LoadRequest) -> None:
    layer, scope = request.layer, request.scope
    if request.mode not in MODES:
        raise IngestionError(f"mode {request.mode!r}: expected one of {', '.join(MODES)}")
    if request.mode == "replace" and layer.id in REGISTER_LAYERS:
        raise RegisterReplaceError(
            f"layer {layer.id} is the land register, where nothing is ever deleted: a replace "
            "would retire every current parcel; load new parcels with --mode append, change "
            "parcels with --mode upsert, retire one with a DELETE (Part 4)"
        )
    if request.mode == "upsert" and not layer.key:
        raise NoNaturalKeyError(
            f"layer {layer.id} declares no natural key, so it cannot be upserted; "
            "use --mode replace or append"
        )
    unknown = set(request.mapping or {}) - {f.name for f in layer.fields}
    if unknown:
        raise IngestionError(f"mapping names fields layer {layer.id} lacks: {sorted(unknown)}")
    if scope and scope.role != "admin" and scope.themes and layer.theme not in scope.themes:
        raise LoadScopeError(
            f"{scope.user} may load layers of themes {list(scope.themes)}, not {layer.theme} "
            f"(layer {layer.id})"
        )


def _stage_chunks(
    conn: psycopg.Connection,
    request: LoadRequest,
    source: Source,
    report: ValidationReport,
    settings: IngestionSettings,
    deadline: float,
    progress: Callable[[int, str], None],
) -> tuple[bool, int]:
    """Read, check and stage every chunk; (the file's ids are usable, repaired count)."""
    layer = request.layer
    sources = resolve_sources(layer, source.columns, request.mapping)
    check_columns(layer, source.columns, sources, report)
    ids_ok, seen_ids, offset = "id" in source.columns, 0, 0
    for frame in read_chunks(source, settings.chunk_rows):
        if time.monotonic() > deadline:
            raise LoadTimeoutError(_timeout_message(settings))
        rows = np.arange(offset + 1, offset + len(frame) + 1)
        ok = np.ones(len(frame), dtype=bool)
        columns = []
        for f in layer.fields:
            values, good = field_column(f, sources[f.name], frame, rows, report)
            columns.append(plain(values))
            ok &= good
        geoms: Sequence[Any] = [None] * len(frame)
        if layer.has_geometry:
            geoms, good = chunk_geometries(layer, frame, source.crs, rows, report)
            ok &= good
        ids: Sequence[Any] = [None] * len(frame)
        if ids_ok:
            numbers = frame["id"].to_numpy()
            ids_ok = bool(np.issubdtype(numbers.dtype, np.integer))
            ids = numbers if ids_ok else ids
            seen_ids += len(frame)
        staging.copy_rows(conn, layer, [rows, ok, ids, *columns, geoms])
        del columns, geoms, ids
        _release_memory()
        offset += len(frame)
        progress(min(80, 5 + 75 * offset // max(source.feature_count, 1)), f"{offset} rows read")
    report.rows_read = offset
    repaired = sum(p.count for p in report.problems.values() if p.code == "repaired_geometry")
    return ids_ok and seen_ids == offset, repaired


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim` (None elsewhere, such as musl or macOS)."""
    name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None


MALLOC_TRIM = _malloc_trim()


def _release_memory() -> None:
    """After a chunk: collect its cycles and hand the freed heap back to the system, so the
    process's peak stays that of one chunk (without it glibc's arenas keep growing slowly
    with the number of chunks)."""
    gc.collect()
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)


def _timeout_message(settings: IngestionSettings) -> str:
    minutes = settings.load_timeout_s / 60
    return (
        f"the load took longer than its limit of {minutes:g} minutes and was rolled back; "
        "nothing changed (setting GEOPORTAL_INGESTION__LOAD_TIMEOUT_S)"
    )


def load_file(
    conninfo: str,
    request: LoadRequest,
    settings: IngestionSettings,
    progress: Callable[[int, str], None] | None = None,
) -> LoadOutcome:
    """Validate `request.path` for `request.layer` and, unless the report blocks or this is
    a dry run, load it in one transaction (replace, append or upsert).

    Raises:
        LoadRefusedError: blocking problems (without `skip_invalid`); `.report` lists them.
        LoadTimeoutError: the load passed `settings.load_timeout_s`; nothing changed.
        IngestionError: the file cannot be read, has no CRS, or the database refused it.
    """
    request = keyed(request)
    _check_request(request)
    progress = progress or (lambda percent, message: None)
    layer = request.layer
    report = ValidationReport(layer.id, request.path.name, request.mode)
    source = open_source(request.path, request.source)
    try:
        if source.feature_count == 0:
            report.note("empty_file", f"{source.name} holds no features")
            raise LoadRefusedError(report.summary(), report)
        return _transaction(conninfo, request, source, report, settings, progress)
    finally:
        close_source(source)


def _transaction(
    conninfo: str,
    request: LoadRequest,
    source: Source,
    report: ValidationReport,
    settings: IngestionSettings,
    progress: Callable[[int, str], None],
) -> LoadOutcome:
    """The load's transaction (and, after it, the statistics); database errors named."""
    deadline = time.monotonic() + settings.load_timeout_s
    try:
        with psycopg.connect(conninfo, application_name="geoportal-load") as conn:
            with conn.transaction(force_rollback=request.dry_run):
                outcome = _load(conn, request, source, report, settings, deadline, progress)
            if outcome.loaded:
                _analyze(conninfo, request.layer, request.mode)
    except psycopg.errors.QueryCanceled as exc:
        raise LoadTimeoutError(_timeout_message(settings)) from exc
    except psycopg.Error as exc:
        detail = exc.diag.message_primary if exc.diag else str(exc)
        raise IngestionError(
            f"the database refused the load, nothing was changed: {detail}"
        ) from exc
    return outcome


def _load(
    conn: psycopg.Connection,
    request: LoadRequest,
    source: Source,
    report: ValidationReport,
    settings: IngestionSettings,
    deadline: float,
    progress: Callable[[int, str], None],
) -> LoadOutcome:
    layer, scope = request.layer, request.scope
    conn.execute(
        "SELECT set_config('statement_timeout', %s, true), set_config('geoportal.user', %s, "
        "true), set_config('geoportal.role', %s, true), set_config('work_mem', %s, true)",
        [
            f"{int(settings.load_timeout_s * 1000)}",
            scope.user if scope else request.actor,
            scope.role if scope else "operator",
            LOAD_WORK_MEM,
        ],
    )
    staging.create_stage(conn, layer)
    ids_ok, repaired = _stage_chunks(conn, request, source, report, settings, deadline, progress)
    oblasts = list(scope.oblasts) if scope and scope.role != "admin" else None
    staging.check_stage(
        conn,
        layer,
        report,
        oblasts=oblasts,
        drop=request.skip_invalid,
        referenced=request.referenced,
        upsert=request.mode == "upsert",
    )
    report.rows_skipped = report.rows_read - staging.staged_count(conn)
    if report.blocking and not request.skip_invalid:
        raise LoadRefusedError(report.summary(), report)
    if request.dry_run:
        return LoadOutcome(report=report, repaired=repaired)
    progress(85, "merging into the layer")
    with_ids = ids_ok and request.mode == "replace" and not oblasts
    staging.quiet_tile_triggers(conn, layer, request.mode, oblasts=oblasts)
    counts = staging.merge(conn, layer, request.mode, oblasts=oblasts, with_ids=with_ids)
    staging.publish_tile_change(conn, layer)
    _refresh_stats(conn, layer, source.name)
    _record_change_set(conn, layer, request, report, counts)
    return LoadOutcome(
        report=report,
        inserted=counts.inserted,
        updated=counts.updated,
        deleted=counts.deleted,
        repaired=repaired,
        loaded=True,
    )


def _refresh_stats(conn: psycopg.Connection, layer: Layer, source_file: str) -> None:
    """The layer's count, extent and time extent, recomputed from the table."""
    if layer.is_restricted:
        return  # no public statistics of personal data
    table = sql.Identifier(*layer.qualified_table)
    extent = sql.SQL("NULL::box2d")
    if layer.has_geometry:
        extent = sql.SQL("ST_Extent(catalog.tiles_box_4326(geom))")
        if layer.storage_srid == 4326:  # the same box without a function call per row
            extent = sql.SQL("ST_Extent(geom)")
    times = sql.SQL("NULL::timestamptz, NULL::timestamptz")
    if layer.time_field:
        column = sql.Identifier(layer.time_field)
        times = sql.SQL("min({})::timestamptz, max({})::timestamptz").format(column, column)
    conn.execute(
        sql.SQL(
            "INSERT INTO catalog.layer_stats (layer_id, feature_count, bbox_4326, source_file, "
            "time_min, time_max) SELECT %s, x.n, CASE WHEN x.e IS NOT NULL THEN "
            "ARRAY[ST_XMin(x.e), ST_YMin(x.e), ST_XMax(x.e), ST_YMax(x.e)] END, %s, "
            "x.tmin, x.tmax FROM (SELECT count(*), {}, {} FROM {}) x(n, e, tmin, tmax) "
            "ON CONFLICT (layer_id) DO UPDATE SET feature_count = EXCLUDED.feature_count, "
            "bbox_4326 = EXCLUDED.bbox_4326, source_file = EXCLUDED.source_file, "
            "time_min = EXCLUDED.time_min, time_max = EXCLUDED.time_max, loaded_at = now(), "
            "version = catalog.layer_stats.version + 1"
        ).format(extent, times, table),
        [layer.id, source_file],
    )


def _record_change_set(
    conn: psycopg.Connection,
    layer: Layer,
    request: LoadRequest,
    report: ValidationReport,
    counts: staging.MergeCounts,
) -> None:
    """One audit record of the whole load (audit.loads, migrations 0016 and 0023)."""
    conn.execute(
        "INSERT INTO audit.loads (user_name, user_role, layer_id, source_file, mode, "
        "inserted, updated, deleted, skipped, job_id) SELECT a.user_name, a.user_role, %s, "
        "%s, %s, %s, %s, %s, %s, %s FROM audit.actor() a",
        [
            layer.id,
            report.file,
            request.mode,
            counts.inserted,
            counts.updated,
            counts.deleted,
            report.rows_skipped,
            request.job_id,
        ],
    )


def _analyze(conninfo: str, layer: Layer, mode: str) -> None:
    """Statistics (and, after deletes or updates, dead rows) refreshed for the planner."""
    table = sql.Identifier(*layer.qualified_table)
    command = "VACUUM (ANALYZE) {}" if mode != "append" else "ANALYZE {}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL(command).format(table))
