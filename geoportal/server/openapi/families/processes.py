"""OGC API - Processes - Part 1 (OGC 18-062r2): the analyses of `analyses.PROCESSES`.

pygeoapi serves the process list and descriptions; executions go through our route
(`geoportal/pygeoapi_/processes.py`) into the job queue. pygeoapi's own description of
these paths names OGC schemas on the internet; ours is written here from each process'
description (its inputs as the request body's schema, its outputs as the 200 answer), so
every process appears with its inputs and outputs in the self-contained document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyses import PROCESSES, Process
from geoportal.server.openapi.context import JSON, RouteContext
from geoportal.server.openapi.model import Body, Operation, Param, Reply
from geoportal.server.openapi.schemas import ref

PREFER = Param(
    name="Prefer",
    where="header",
    description="`respond-async`: answer 201 at once with the job's Location (/jobs/{jobId}); "
    "otherwise the request waits for its job up to 30 s, then answers as if asynchronous.",
    schema={"type": "string", "enum": ["respond-async", "wait"]},
)
PROCESS_SUMMARY = {
    "type": "object",
    "required": ["id", "version"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "version": {"type": "string"},
        "jobControlOptions": {"type": "array", "items": {"type": "string"}},
        "links": {"type": "array", "items": {"type": "object"}},
    },
}


def oas30(schema: Any) -> Any:
    """A process' JSON Schema in OpenAPI 3.0's dialect: numeric `exclusiveMinimum` becomes
    `minimum` + `exclusiveMinimum: true`, `contentMediaType` goes (not an OpenAPI 3.0 key)."""
    if isinstance(schema, list):
        return [oas30(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "contentMediaType":
            continue
        if key == "exclusiveMinimum" and not isinstance(value, bool):
            out["minimum"], out["exclusiveMinimum"] = value, True
        elif key in ("properties", "patternProperties"):
            out[key] = {name: oas30(item) for name, item in value.items()}
        elif key == "default":
            out[key] = value
        else:
            out[key] = oas30(value)
    return out


def execute_body(process: Process) -> Body:
    """The execute request of a process: its inputs by name."""
    inputs = process.description["inputs"]
    required = [name for name, spec in inputs.items() if spec.get("minOccurs", 1) >= 1]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "inputs": {
                "type": "object",
                "properties": {
                    name: {**oas30(spec["schema"]), "description": spec.get("title", name)}
                    for name, spec in inputs.items()
                },
                "additionalProperties": False,
                **({"required": required} if required else {}),
            },
            "outputs": {"type": "object", "description": "The outputs wanted (default: all)"},
            "response": {"type": "string", "enum": ["raw", "document"], "default": "raw"},
        },
        "required": ["inputs"],
    }
    return Body(media={JSON: schema}, description=str(process.description["description"]))


def results_schema(process: Process) -> dict[str, Any]:
    """The results of a process: one member per output."""
    return {
        "type": "object",
        "properties": {
            name: {**oas30(spec["schema"]), "description": spec.get("title", name)}
            for name, spec in process.description["outputs"].items()
        },
    }


def process_operations(process: Process) -> list[Operation]:
    """The description and the execution of one process."""
    path = f"/processes/{process.id}"
    name = "".join(part.capitalize() for part in process.id.split("-"))
    return [
        Operation(
            method="get",
            path=path,
            operation_id=f"describe{name}",
            summary=f"Description of the process: {process.title}",
            tags=("processes",),
            replies=(Reply(status=200, description="OK", media={JSON: PROCESS_SUMMARY}),),
            errors=(404, 500),
        ),
        Operation(
            method="post",
            path=f"{path}/execution",
            operation_id=f"execute{name}",
            summary=f"Execute: {process.title}",
            description=str(process.description["description"]),
            tags=("processes",),
            params=(PREFER,),
            body=execute_body(process),
            replies=(
                Reply(status=200, description="The results", media={JSON: results_schema(process)}),
                Reply(
                    status=201,
                    description="Queued: the job's status is at Location (/jobs/{jobId})",
                    media={JSON: ref("StatusInfo")},
                    headers=("Location",),
                ),
            ),
            errors=(400, 404, 500, 503),
        ),
    ]


def processes(ctx: RouteContext) -> list[Operation]:
    """`/processes` and every process' description and execution (`docs/processes.md`)."""
    listing = Operation(
        method="get",
        path="/processes",
        operation_id="getProcesses",
        summary="The processes: analyses run by the job queue's workers",
        tags=("processes",),
        replies=(
            Reply(
                status=200,
                description="OK",
                media={
                    JSON: {
                        "type": "object",
                        "required": ["processes", "links"],
                        "properties": {
                            "processes": {"type": "array", "items": PROCESS_SUMMARY},
                            "links": {"type": "array", "items": {"type": "object"}},
                        },
                    }
                },
            ),
        ),
        errors=(400, 500),
    )
    return [listing, *(op for p in PROCESSES.values() for op in process_operations(p))]
