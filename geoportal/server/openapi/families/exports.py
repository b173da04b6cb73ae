"""`/downloads/{format}`: public layers as files, and `/downloads/files/{jobId}`: the file of
an export job (`docs/downloads.md`)."""

from __future__ import annotations

from exports.formats import FORMATS
from geoportal.data_exports import EXPORT_PATH, FILES_PATH
from geoportal.server.openapi.context import JSON, RouteContext, lang_param
from geoportal.server.openapi.model import BINARY, Operation, Param, Reply
from geoportal.server.openapi.schemas import ref
from layers.model import SUPPORTED_CRS


def exports(ctx: RouteContext) -> list[Operation]:
    """The export of some layers (or every layer of a region) in one of seven formats."""
    media = {f.media_type: BINARY for f in FORMATS.values()} | {"application/zip": BINARY}
    crs = ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] + [
        f"EPSG:{code}" for code in SUPPORTED_CRS
    ]
    return [
        Operation(
            method="get",
            path=EXPORT_PATH,
            operation_id="downloadLayers",
            summary="Public layers as a file: GeoPackage, zipped Shapefile, GeoJSON, GeoJSON "
            "Sequence, CSV, FlatGeobuf or GeoParquet",
            description="Without `layers` and with an oblast, rayon or bbox: every layer with "
            "features there (a regional extract, with metadata, licence and attribution "
            "tables). More features than the server's synchronous limit is a 202 with the "
            "Location of a job whose results link the file; nothing is ever cut short.",
            tags=("downloads",),
            params=(
                Param(
                    name="format",
                    where="path",
                    description="The file format",
                    schema={"type": "string", "enum": list(FORMATS)},
                ),
                Param(
                    name="layers",
                    description=f"Collection ids separated by commas: {list(ctx.collections)}",
                ),
                Param(name="bbox", description="minlon,minlat,maxlon,maxlat (CRS84)"),
                Param(name="oblast", description="An oblast's id or name (ky, ru, en)"),
                Param(name="rayon", description="A rayon's id or English name"),
                Param(name="filter", description="CQL2 text filter on the layers' fields"),
                Param(
                    name="filter-lang",
                    schema={"type": "string", "enum": ["cql2-text"]},
                    description="Language of `filter`",
                ),
                Param(name="datetime", description="Instant or interval (RFC 3339)"),
                Param(
                    name="crs",
                    schema={"type": "string", "enum": crs},
                    description="CRS of the written coordinates (default CRS84)",
                ),
                lang_param(),
            ),
            replies=(
                Reply(status=200, description="The file", media=media),
                Reply(
                    status=202,
                    description="Too large to answer at once: queued as a job (Location)",
                    media={JSON: ref("StatusInfo")},
                ),
            ),
            errors=(400, 404, 500, 503),
        ),
        Operation(
            method="get",
            path=FILES_PATH,
            operation_id="downloadExportJobFile",
            summary="The file of a successful export job (linked from its results)",
            tags=("downloads",),
            params=(
                Param(
                    name="jobId",
                    where="path",
                    description="The export job's id",
                    schema={"type": "string", "format": "uuid"},
                ),
            ),
            replies=(Reply(status=200, description="The file", media=media),),
            errors=(404, 410, 500, 503),
        ),
    ]
