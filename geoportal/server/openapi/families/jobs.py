"""The job queue's routes: every asynchronous job as an OGC API Processes job resource."""

from __future__ import annotations

from geoportal.server.jobs_routes import LIST_LIMIT
from geoportal.server.openapi.components import WRITE_SECURITY
from geoportal.server.openapi.context import RouteContext, json_reply
from geoportal.server.openapi.model import Operation, Param
from jobs import JobStatus

JOB_ID = Param(
    name="jobId",
    where="path",
    description="The job's id (a UUID, returned when the job was created)",
    schema={"type": "string", "format": "uuid"},
)


def jobs(ctx: RouteContext) -> list[Operation]:
    """`/jobs`, `/jobs/{jobId}`, its results and its dismissal (`docs/jobs.md`)."""
    return [
        Operation(
            method="get",
            path="/jobs",
            operation_id="getJobs",
            summary="The caller's jobs, newest first (every job for administrators)",
            tags=("jobs",),
            security=WRITE_SECURITY,
            params=(
                Param(
                    name="limit",
                    schema={"type": "integer", "minimum": 1, "maximum": LIST_LIMIT, "default": 100},
                ),
                Param(
                    name="status",
                    description="Only jobs in these states (comma-separated)",
                    schema={"type": "string", "enum": [s.value for s in JobStatus]},
                ),
                Param(
                    name="before",
                    description="Jobs created before this one (paging: the `next` link)",
                    schema={"type": "string", "format": "uuid"},
                ),
            ),
            replies=(json_reply("JobList"),),
            errors=(400, 401, 500, 503),
        ),
        Operation(
            method="get",
            path="/jobs/{jobId}",
            operation_id="getJob",
            summary="A job's status: state, progress, message, times, links",
            description="A job belongs to its creator and the administrators; an anonymous "
            "job is reachable by whoever holds its id. Anybody else's job is a 404.",
            tags=("jobs",),
            params=(JOB_ID,),
            replies=(json_reply("StatusInfo"),),
            errors=(404, 500, 503),
        ),
        Operation(
            method="delete",
            path="/jobs/{jobId}",
            operation_id="dismissJob",
            summary="Dismiss a job: an accepted job never runs, a running one stops",
            tags=("jobs",),
            params=(JOB_ID,),
            replies=(json_reply("StatusInfo"),),
            errors=(404, 410, 500, 503),
        ),
        Operation(
            method="get",
            path="/jobs/{jobId}/results",
            operation_id="getJobResults",
            summary="The results of a successful job (404 while it runs, 422 if it failed; "
            "a refused load's validation report is in the problem's `results`)",
            tags=("jobs",),
            params=(
                JOB_ID,
                Param(
                    name="f",
                    description="`html`: a load's validation report as a readable page",
                    schema={"type": "string", "enum": ["json", "html"]},
                ),
            ),
            replies=(json_reply("JobResults"),),
            errors=(404, 410, 422, 500, 503),
        ),
    ]
