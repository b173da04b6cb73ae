"""The download formats, in one table (`FORMATS`).

A format either streams (GeoJSON, GeoJSON Sequence, CSV: written row by row as PostgreSQL
renders them) or is written by GDAL or pyarrow into a temporary file first (GeoPackage,
Shapefile, FlatGeobuf, GeoParquet: their writers need a seekable file). A format that holds
one layer per file (all but GeoPackage) is zipped, one file per layer plus a README, when
several layers are asked; a Shapefile is always zipped (it is several files).
"""

from __future__ import annotations

from dataclasses import dataclass

from exports.errors import InvalidExportError


@dataclass(frozen=True)
class ExportFormat:
    """One download format."""

    name: str
    extension: str
    media_type: str
    driver: str | None
    """The GDAL driver that writes it, None for our own writers."""
    streams: bool = False
    """Written row by row (no temporary file)."""
    multi_layer: bool = False
    """Holds several layers in one file."""
    always_zipped: bool = False


ZIP = "application/zip"
FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "geopackage", "gpkg", "application/geopackage+sqlite3", "GPKG", multi_layer=True
        ),
        ExportFormat("shapefile", "shp", ZIP, "ESRI Shapefile", always_zipped=True),
        ExportFormat("geojson", "geojson", "application/geo+json", None, streams=True),
        ExportFormat("geojsonseq", "geojsonl", "application/geo+json-seq", None, streams=True),
        ExportFormat("csv", "csv", "text/csv; charset=utf-8", None, streams=True),
        ExportFormat("flatgeobuf", "fgb", "application/flatgeobuf", "FlatGeobuf"),
        ExportFormat("geoparquet", "parquet", "application/vnd.apache.parquet", None),
    )
}
"""Every format by its name in `/downloads/{format}`."""


def get_format(name: str) -> ExportFormat:
    """The format called `name`.

    >>> get_format("geopackage").extension
    'gpkg'

    Raises:
        InvalidExportError: an unknown name (the message lists the known ones).
    """
    try:
        return FORMATS[name]
    except KeyError:
        raise InvalidExportError(
            f"unknown format {name!r}; formats: {', '.join(FORMATS)} (and pmtiles)"
        ) from None
