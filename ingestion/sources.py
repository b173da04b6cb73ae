"""Opening an uploaded vector file: the one place a source file is opened.

`open_source` resolves the path GDAL reads (a zipped Shapefile through `/vsizip/`, a CSV with
its WKT or longitude/latitude columns), checks the layer, the CRS and the encoding, and
returns a `Source`; `read_chunks` then reads it a chunk at a time, so memory does not grow
with the file. A zip is checked and extracted first (`ingestion.archive.extract_archive`:
entry count, names, and the expansion ratio and total size counted on the bytes really
decompressed), before GDAL sees anything, whether it came through `POST /ingest` or the
command line; GDAL then reads the extracted files, never the archive itself, and
`close_source` removes them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyogrio.raw import open_arrow
from pyproj import CRS
from pyproj.exceptions import CRSError

from ingestion.archive import ArchiveLimits, extract_archive, is_zip
from ingestion.crs_hint import crs_suggestion
from ingestion.errors import IngestionError, MissingCrsError, SourceNotFoundError

CSV_OPTIONS: dict[str, Any] = {
    "GEOM_POSSIBLE_NAMES": "wkt,WKT,geometry,geom,the_geom",
    "X_POSSIBLE_NAMES": "lon,longitude,lng,x,Lon,Longitude,X",
    "Y_POSSIBLE_NAMES": "lat,latitude,y,Lat,Latitude,Y",
    "KEEP_GEOM_COLUMNS": "NO",
    "AUTODETECT_TYPE": "NO",
}
"""GDAL CSV open options: geometry from a WKT column or from longitude/latitude columns;
every other value read as text and converted by the layer's field types."""

FORMATS = {
    ".gpkg": "GeoPackage",
    ".zip": "zipped Shapefile",
    ".shp": "Shapefile",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".kml": "KML",
    ".csv": "CSV",
    ".fgb": "FlatGeobuf",
}
"""Accepted file name endings and what they hold."""


@dataclass(frozen=True, kw_only=True)
class SourceOptions:
    """How to read a file: its table, its text encoding, its CRS when it declares none."""

    source_layer: str | None = None
    encoding: str | None = None
    crs: str | None = None
    archive_limits: ArchiveLimits = ArchiveLimits()


@dataclass(frozen=True, kw_only=True)
class Source:
    """An opened vector source: what GDAL reads and what it holds."""

    path: Path
    gdal_path: str
    layer: str
    crs: CRS
    feature_count: int
    columns: tuple[str, ...]
    geometry_type: str | None
    open_options: dict[str, Any]
    encoding: str | None
    extracted: Path | None = None
    """The folder a zip was extracted into (removed by `close_source`)."""

    @property
    def name(self) -> str:
        """The file's name (what messages and the report call it)."""
        return self.path.name


def _gdal_path(path: Path, extracted: Path | None) -> tuple[str, dict[str, Any]]:
    """The path GDAL opens and its open options."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(f"{k} ({v})" for k, v in FORMATS.items())
        raise SourceNotFoundError(f"{path.name}: unknown kind of file; accepted: {known}")
    if extracted is not None:
        return _extracted_path(extracted)
    if suffix == ".csv":
        return str(path), dict(CSV_OPTIONS)
    return str(path), {}


def _extracted_path(folder: Path) -> tuple[str, dict[str, Any]]:
    """What GDAL opens in an extracted archive (as `/vsizip/` would open the archive): its
    only file, else the one folder holding its Shapefiles, else the folder itself."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    if len(files) == 1:
        path = files[0]
        return str(path), dict(CSV_OPTIONS) if path.suffix.lower() == ".csv" else {}
    shapefiles = {p.parent for p in files if p.suffix.lower() == ".shp"}
    return str(shapefiles.pop() if len(shapefiles) == 1 else folder), {}


def close_source(source: Source) -> None:
    """Remove what opening the source extracted (nothing for a plain file)."""
    if source.extracted is not None:
        shutil.rmtree(source.extracted, ignore_errors=True)


def _layer_name(path: Path, gdal_path: str, wanted: str | None, options: dict[str, Any]) -> str:
    layers = [str(row[0]) for row in pyogrio.list_layers(gdal_path)]
    if not layers:
        raise SourceNotFoundError(f"{path.name}: holds no layer (an empty or truncated file?)")
    if wanted is None:
        if len(layers) > 1:
            raise IngestionError(
                f"{path.name}: holds {len(layers)} layers {layers}; choose one with "
                "--source-layer (sourceLayer)"
            )
        return layers[0]
    if wanted not in layers:
        raise IngestionError(f"{path.name}: no layer {wanted!r}; its layers: {layers}")
    return wanted


def _crs(path: Path, info: dict[str, Any], given: str | None, source: dict[str, Any]) -> CRS:
    if given:
        try:
            return CRS.from_user_input(given)
        except CRSError as exc:
            raise IngestionError(f"--crs {given!r} is not a coordinate reference system") from exc
    if info.get("crs"):
        return CRS.from_user_input(info["crs"])
    sample = pyogrio.read_dataframe(
        source["gdal_path"],
        layer=source["layer"],
        max_features=10_000,
        columns=[],
        **source["open_options"],
    )
    box = None
    if hasattr(sample, "total_bounds") and len(sample):
        west, south, east, north = (float(v) for v in sample.total_bounds)
        box = (west, south, east, north)
    raise MissingCrsError(
        f"{path.name}: declares no coordinate reference system (a Shapefile without its .prj, "
        f"a CSV); {crs_suggestion(box)}"
    )


def open_source(path: Path, options: SourceOptions) -> Source:
    """Open `path` (GeoPackage, zipped Shapefile, GeoJSON, KML, CSV, FlatGeobuf).

    Raises:
        SourceNotFoundError: no such file, an unknown kind, or GDAL cannot read it.
        MissingCrsError: the file declares no CRS and none was given (with a suggestion).
        IngestionError: an ambiguous or unknown source layer, a bad --crs or encoding.
        ArchiveError: a zip over its limits or with unsafe names (`ingestion.archive`).
    """
    if not path.is_file():
        raise SourceNotFoundError(f"{path.name}: no such file")
    if path.stat().st_size == 0:
        raise SourceNotFoundError(f"{path.name}: the file is empty")
    extracted = extract_archive(path, options.archive_limits) if is_zip(path) else None
    try:
        return _open(path, options, extracted)
    except BaseException:
        if extracted is not None:
            shutil.rmtree(extracted, ignore_errors=True)
        raise


def _open(path: Path, options: SourceOptions, extracted: Path | None) -> Source:
    gdal_path, open_options = _gdal_path(path, extracted)
    try:
        layer = _layer_name(path, gdal_path, options.source_layer, open_options)
        info = pyogrio.read_info(
            gdal_path,
            layer=layer,
            encoding=options.encoding,
            force_feature_count=True,
            **open_options,
        )
    except pyogrio.errors.DataSourceError as exc:
        raise SourceNotFoundError(f"{path.name}: cannot be read as a vector file ({exc})") from exc
    except (pyogrio.errors.DataLayerError, LookupError, UnicodeError) as exc:
        raise IngestionError(f"{path.name}: cannot be read ({exc})") from exc
    where = {"gdal_path": gdal_path, "layer": layer, "open_options": open_options}
    crs = _crs(path, info, options.crs, where)
    return Source(
        path=path,
        gdal_path=gdal_path,
        layer=layer,
        crs=crs,
        feature_count=int(info["features"]),
        columns=tuple(str(c) for c in info["fields"]),
        geometry_type=info.get("geometry_type"),
        open_options=open_options,
        encoding=options.encoding,
        extracted=extracted,
    )


def read_chunks(source: Source, chunk_rows: int) -> Iterator[gpd.GeoDataFrame | pd.DataFrame]:
    """The source's features, `chunk_rows` at a time, in the source's CRS (not set on the
    frames: the caller knows it). A UTF-8 source (GeoPackage, GeoJSON, KML, CSV,
    FlatGeobuf without `--encoding`) is read once as an Arrow stream, so a text file is
    parsed once, not re-scanned for each chunk; a Shapefile, or a file given an encoding,
    goes through GDAL's recoding, by offset (a Shapefile seeks to a record; no re-scan).

    Raises:
        IngestionError: GDAL stops in the middle (a truncated file), or the encoding does
            not decode the attributes.
    """
    by_offset = source.encoding is not None or source.extracted is not None
    by_offset = by_offset or source.path.suffix.lower() in (".zip", ".shp")
    chunks = _by_offset(source, chunk_rows) if by_offset else _stream(source, chunk_rows)
    read = 0
    try:
        for frame in chunks:
            yield frame
            read += len(frame)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise IngestionError(
            f"{source.name}: reading stopped after feature {read} ({exc}); is the file truncated?"
        ) from exc
    except (LookupError, UnicodeError, pa.ArrowException) as exc:
        raise IngestionError(
            f"{source.name}: the attributes do not decode ({exc}); give --encoding "
            "(CP1251 for many Shapefiles from Kyrgyz agencies)"
        ) from exc


def _stream(source: Source, chunk_rows: int) -> Iterator[gpd.GeoDataFrame | pd.DataFrame]:
    """Arrow batches of `chunk_rows` features, each as a data frame."""
    with open_arrow(
        source.gdal_path,
        layer=source.layer,
        batch_size=chunk_rows,
        use_pyarrow=True,
        **source.open_options,
    ) as (meta, reader):
        name = meta.get("geometry_name") or "wkb_geometry"
        for batch in reader:
            if batch.num_rows:
                yield _frame(batch, name)


def _by_offset(source: Source, chunk_rows: int) -> Iterator[gpd.GeoDataFrame | pd.DataFrame]:
    """`chunk_rows` features at a time by their offset, through GDAL's recoding."""
    for start in range(0, max(source.feature_count, 1), chunk_rows):
        frame = pyogrio.read_dataframe(
            source.gdal_path,
            layer=source.layer,
            skip_features=start,
            max_features=chunk_rows,
            encoding=source.encoding,
            **source.open_options,
        )
        if len(frame) == 0:
            return
        yield frame


def _frame(batch: pa.RecordBatch, geometry: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """One Arrow batch as a data frame: attributes as pandas reads them, the geometry
    column (WKB) decoded by shapely in one call; a plain frame for a file without one."""
    names = [n for n in batch.schema.names if n != geometry]
    frame = batch.select(names).to_pandas()
    if geometry not in batch.schema.names:
        return frame
    wkb = batch.column(geometry).to_numpy(zero_copy_only=False)
    return gpd.GeoDataFrame(frame, geometry=shapely.from_wkb(wkb))
