"""`POST /ingest`: an agency's upload into one of its layers, loaded by a job."""

from __future__ import annotations

from geoportal.server.ingest_routes import FORMATS, MODES
from geoportal.server.openapi.components import WRITE_SECURITY
from geoportal.server.openapi.context import JSON, RouteContext
from geoportal.server.openapi.model import BINARY, Body, Operation, Reply
from geoportal.server.openapi.schemas import ref

FLAG = {"type": "string", "enum": ["true", "false"], "default": "false"}


def ingest(ctx: RouteContext) -> list[Operation]:
    """The upload route (`docs/jobs.md`, "Uploads")."""
    form = {
        "type": "object",
        "required": ["layer", "file"],
        "properties": {
            "layer": {
                "type": "string",
                "enum": list(ctx.collections),
                "description": "Id of the layer to load into (a layer of the caller's themes)",
            },
            "mode": {"type": "string", "enum": list(MODES), "default": "replace"},
            "sourceLayer": {"type": "string", "description": "Table of a GeoPackage to read"},
            "encoding": {"type": "string", "description": "Attribute encoding, e.g. CP1251"},
            "crs": {"type": "string", "description": "CRS of a file that names none (EPSG:n)"},
            "skipInvalid": {**FLAG, "description": "Load the valid rows, leave the others out"},
            "dryRun": {**FLAG, "description": "Validate and report only; change nothing"},
            "mapping": {
                "type": "string",
                "description": "JSON object: field name -> source column or "
                "{column, map, default, derive}, as in the layer declarations",
            },
            "file": {
                **BINARY,
                "description": f"The file: one of {', '.join(FORMATS)} "
                "(a Shapefile zipped with its .shp, .shx, .dbf and .prj)",
            },
        },
    }
    return [
        Operation(
            method="post",
            path="/ingest",
            operation_id="ingest",
            summary="Upload a file into a layer; a job validates and loads it",
            description="The body is streamed to disk (at most `uploads.max_bytes`, 2 GB by "
            "default) and a `layers.load` job is queued, owned by the caller: poll the "
            "`Location` (`/jobs/{jobId}`) as any job. Send the fields before the file, so a "
            "refusal comes before the file is sent. A zip is checked before anything opens "
            "it: entries, names (no `..`, absolute paths or links), expansion ratio, size. "
            "An agency user bound to oblasts loads rows of those oblasts only.",
            tags=("jobs",),
            security=WRITE_SECURITY,
            body=Body(media={"multipart/form-data": form}, description="The upload form"),
            replies=(
                Reply(
                    status=201,
                    description="Queued: the job's status info",
                    media={JSON: ref("StatusInfo")},
                    headers=("Location",),
                ),
            ),
            errors=(400, 401, 403, 404, 413, 415, 500, 503),
        )
    ]
