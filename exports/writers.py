"""Writing an export into a file: GDAL (through pyogrio's Arrow writer) for GeoPackage,
Shapefile and FlatGeobuf, pyarrow for GeoParquet, a zip with a README for the formats that
hold one layer per file. Rows arrive as Arrow record batches, one chunk at a time, so memory
stays flat however large the export.
"""

from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj

from exports.formats import ZIP
from exports.metadata import metadata_tables, readme_text
from exports.plan import ExportPlan, LayerExport, count_features
from exports.reading import OnRows, check, record_batches
from exports.statements import GEOMETRY, has_null_geometry
from exports.streams import stream_export


@dataclass(frozen=True)
class ExportResult:
    """A written export: its file, the name to give it, its media type, counts per layer."""

    path: Path
    filename: str
    media_type: str
    counts: dict[str, int]

    @property
    def features(self) -> int:
        """Features written in all."""
        return sum(self.counts.values())


class _Counter:
    """Counts the rows written per layer, and passes them on."""

    def __init__(self, on_rows: OnRows | None) -> None:
        self.counts: dict[str, int] = {}
        self.on_rows = on_rows

    def __call__(self, layer_id: str, rows: int) -> None:
        self.counts[layer_id] = self.counts.get(layer_id, 0) + rows
        if self.on_rows is not None:
            self.on_rows(layer_id, rows)


def _ogr_layer(
    conn: psycopg.Connection[Any],
    plan: ExportPlan,
    part: LayerExport,
    path: Path,
    *,
    append: bool,
    chunk_rows: int,
    cancelled: threading.Event | None,
    on_rows: OnRows,
) -> None:
    """One layer written by GDAL's Arrow writer."""
    driver = plan.format.driver
    options: dict[str, str] = {}
    if driver == "ESRI Shapefile":
        options["ENCODING"] = "UTF-8"  # and so a .cpg
    if driver == "FlatGeobuf" and part.has_geometry:
        statement = has_null_geometry(part)
        row = conn.execute(statement.query, statement.values).fetchone()
        options["SPATIAL_INDEX"] = "NO" if row and row[0] else "YES"
    import pyogrio  # GDAL (and through it geopandas) only when a file is written

    pyogrio.write_arrow(
        record_batches(conn, plan, part, chunk_rows, cancelled, on_rows),
        str(path),
        layer=part.layer.id,
        driver=driver,
        geometry_name=GEOMETRY if part.has_geometry else None,
        geometry_type=(part.layer.geometry_type or "Unknown") if part.has_geometry else None,
        crs=f"EPSG:{plan.srid}" if part.has_geometry else None,
        append=append,
        layer_options=options or None,
    )


def _geo_metadata(plan: ExportPlan, part: LayerExport) -> dict[str, Any]:
    """GeoParquet 1.0 `geo` metadata of one layer (CRS84 is the default, left implicit)."""
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": [part.layer.geometry_type] if part.layer.geometry_type else [],
    }
    if plan.srid != 4326:
        column["crs"] = pyproj.CRS.from_epsg(plan.srid).to_json_dict()
    return {"version": "1.0.0", "primary_column": GEOMETRY, "columns": {GEOMETRY: column}}


def _parquet_layer(
    conn: psycopg.Connection[Any],
    plan: ExportPlan,
    part: LayerExport,
    path: Path,
    *,
    chunk_rows: int,
    cancelled: threading.Event | None,
    on_rows: OnRows,
) -> None:
    """One layer as GeoParquet: a row group per chunk."""
    reader = record_batches(conn, plan, part, chunk_rows, cancelled, on_rows)
    schema = reader.schema
    if part.has_geometry:
        geo = json.dumps(_geo_metadata(plan, part)).encode()
        schema = schema.with_metadata({b"geo": geo})
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_table(pa.Table.from_batches([batch], schema=schema))


def _streamed_layer(
    conn: psycopg.Connection[Any],
    plan: ExportPlan,
    part: LayerExport,
    path: Path,
    *,
    chunk_rows: int,
    cancelled: threading.Event | None,
    on_rows: OnRows,
) -> None:
    """One layer of a streamed format (GeoJSON, GeoJSON Sequence, CSV) into its own file."""
    count = count_features(conn, part, 2**62)
    one = replace(plan, layers=(part,))
    with path.open("wb") as out:
        for chunk in stream_export(
            conn, one, chunk_rows=chunk_rows, cancelled=cancelled, count=count
        ):
            out.write(chunk)
    on_rows(part.layer.id, count)


def _layer_writer(plan: ExportPlan) -> Callable[..., None]:
    if plan.format.streams:
        return _streamed_layer
    return _parquet_layer if plan.format.name == "geoparquet" else _ogr_layer


def _write_metadata(path: Path, plan: ExportPlan, counts: dict[str, int]) -> None:
    """The metadata tables of a GeoPackage (attribute tables, no geometry)."""
    for name, table in metadata_tables(plan, counts).items():
        import pyogrio  # GDAL (and through it geopandas) only when a file is written

        pyogrio.write_arrow(table, str(path), layer=name, driver="GPKG", append=True)


def write_export(
    conn: psycopg.Connection[Any],
    plan: ExportPlan,
    folder: Path,
    stem: str,
    *,
    chunk_rows: int = 10_000,
    cancelled: threading.Event | None = None,
    on_rows: OnRows | None = None,
) -> ExportResult:
    """Write the export into `folder` (which the caller creates and removes).

    A GeoPackage holds every layer and the metadata tables; a single layer of another
    format is its own file; several layers, or a Shapefile, are a zip of one file (or file
    set) per layer and a README.

    Raises:
        ExportCancelledError: `cancelled` was set.
    """
    counter = _Counter(on_rows)
    fmt = plan.format
    zipped = fmt.always_zipped or (not fmt.multi_layer and len(plan.layers) > 1)
    parts_dir = folder / "parts" if zipped else folder
    parts_dir.mkdir(parents=True, exist_ok=True)
    write = _layer_writer(plan)
    single = parts_dir / f"{stem}.{fmt.extension}"
    for index, part in enumerate(plan.layers):
        check(cancelled)
        counter.counts.setdefault(part.layer.id, 0)
        if fmt.multi_layer:
            target, extra = single, {"append": index > 0}
        else:
            name = part.layer.id if zipped else stem
            target, extra = parts_dir / f"{name}.{fmt.extension}", {}
            if fmt.driver is not None:
                extra["append"] = False
        write(
            conn,
            plan,
            part,
            target,
            chunk_rows=chunk_rows,
            cancelled=cancelled,
            on_rows=counter,
            **extra,
        )
    if fmt.multi_layer:
        _write_metadata(single, plan, counter.counts)
    if not zipped:
        return ExportResult(single, single.name, fmt.media_type, counter.counts)
    (parts_dir / "README.txt").write_text(readme_text(plan, counter.counts), encoding="utf-8")
    archive = folder / f"{stem}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
        for item in sorted(parts_dir.iterdir()):
            out.write(item, arcname=f"{stem}/{item.name}")
            item.unlink()
    return ExportResult(archive, archive.name, ZIP, counter.counts)
