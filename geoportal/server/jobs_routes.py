"""`/jobs`: every asynchronous job as an OGC API Processes job resource (OGC 18-062r2, 7.12).

    GET    /jobs                    the caller's jobs (every job for administrators)
    GET    /jobs/{jobId}            status info: status, progress, message, times, links
    GET    /jobs/{jobId}/results    the results of a successful job (`f=html`: a load's report)
    DELETE /jobs/{jobId}            dismiss: an accepted job never runs, a running one stops

A job belongs to its creator and the administrators; an anonymous job (a large public
export) is reachable by whoever holds its id, a random UUID. Someone else's job is a 404, as
a job that does not exist: ids are not confirmed to strangers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from geoportal.errors import HTTPProblem
from geoportal.security.identity import ANONYMOUS, Identity
from jobs import Job, JobNotFoundError, JobStateError, JobStatus, queue

RESULTS_REL = "http://www.opengis.net/def/rel/ogc/1.0/results"
STATUS_REL = "http://www.opengis.net/def/rel/ogc/1.0/job-list"
LIST_LIMIT = 1_000


def status_info(job: Job, base_url: str) -> dict[str, Any]:
    """The job's statusInfo document (OGC API Processes `statusInfo.yaml`)."""
    href = f"{base_url}/jobs/{job.id}"
    links = [
        {"href": href, "rel": "self", "type": "application/json", "title": "this job"},
        {"href": f"{base_url}/jobs", "rel": STATUS_REL, "type": "application/json"},
    ]
    if job.status == JobStatus.SUCCESSFUL:
        links.append(
            {
                "href": f"{href}/results",
                "rel": RESULTS_REL,
                "type": "application/json",
                "title": "results",
            }
        )
    info: dict[str, Any] = {
        "jobID": str(job.id),
        "type": "process",
        "processID": job.kind,
        "status": str(job.status),
        "message": job.message,
        "progress": job.progress,
        "created": job.created.isoformat(),
        "updated": job.updated.isoformat(),
        "links": links,
    }
    for name in ("started", "finished"):
        value = getattr(job, name)
        if value is not None:
            info[name] = value.isoformat()
    if job.title:
        info["title"] = job.title
    return info


def may_see(identity: Identity, job: Job) -> bool:
    """Its creator, the administrators, and, for an anonymous job, whoever holds its id."""
    return (
        job.owner is None
        or identity.role == "admin"
        or (identity.is_authenticated and identity.name == job.owner)
    )


class JobRoutes:
    """The `/jobs` routes over the queue, read through the server's agency pool."""

    def __init__(self, pool: Callable[[], AsyncConnectionPool | None], base_url: str) -> None:
        self.pool = pool
        self.base_url = base_url

    @property
    def routes(self) -> list[Route]:
        """The routes to mount."""
        return [
            Route("/jobs", self.list_, methods=["GET"]),
            Route("/jobs/{jobId}", self.show, methods=["GET"]),
            Route("/jobs/{jobId}", self.dismiss, methods=["DELETE"]),
            Route("/jobs/{jobId}/results", self.results, methods=["GET"]),
        ]

    async def _run(self, statement: queue.Statement) -> list[Job]:
        pool = self.pool()
        if pool is None:
            raise HTTPProblem(
                503,
                "the job queue is not available yet; retry shortly",
                headers={"Retry-After": "5"},
            )
        async with pool.connection() as conn:
            return await queue.arun(conn, statement)

    async def _job(self, request: Request) -> Job:
        job_id = queue.parse_job_id(request.path_params["jobId"])
        found = await self._run(queue.get_statement(job_id))
        if not found or not may_see(_identity(request), found[0]):
            raise JobNotFoundError(f"no job {job_id}")
        return found[0]

    async def list_(self, request: Request) -> Response:
        identity = _identity(request)
        if not identity.is_authenticated:
            raise HTTPProblem(
                401,
                "listing jobs needs credentials; an anonymous job is read at the /jobs/{jobId} "
                "its creation returned",
                headers={"WWW-Authenticate": 'Bearer realm="geoportal"'},
            )
        unknown = set(request.query_params) - {"limit", "status", "before", "f"}
        if unknown:
            raise HTTPProblem(400, f"unknown parameters {sorted(unknown)}")
        limit = _limit(request)
        statuses = _statuses(request)
        before = request.query_params.get("before")
        before_id = queue.parse_job_id(before) if before else None
        owner = None if identity.role == "admin" else identity.name
        jobs = await self._run(
            queue.list_statement(owner=owner, limit=limit, before=before_id, statuses=statuses)
        )
        links = [{"href": f"{self.base_url}/jobs", "rel": "self", "type": "application/json"}]
        if len(jobs) == limit:
            links.append(
                {
                    "href": f"{self.base_url}/jobs?limit={limit}&before={jobs[-1].id}",
                    "rel": "next",
                    "type": "application/json",
                }
            )
        return JSONResponse(
            {"jobs": [status_info(job, self.base_url) for job in jobs], "links": links}
        )

    async def show(self, request: Request) -> Response:
        return JSONResponse(status_info(await self._job(request), self.base_url))

    async def results(self, request: Request) -> Response:
        """The results; `f=html` gives a load's validation report as a page. A failed job's
        results (a refused load's report) ride along its 422 problem as `results`."""
        job = await self._job(request)
        results = dict(job.results or {})
        if job.status in (JobStatus.SUCCESSFUL, JobStatus.FAILED):
            if request.query_params.get("f") == "html" and "reportHtml" in results:
                status = 200 if job.status == JobStatus.SUCCESSFUL else 422
                return HTMLResponse(str(results["reportHtml"]), status_code=status)
        if job.status == JobStatus.SUCCESSFUL:
            return JSONResponse(results)
        if job.status == JobStatus.FAILED:
            extra = {"results": results} if results else {}
            raise HTTPProblem(422, f"job {job.id} failed: {job.message}", **extra)
        if job.status == JobStatus.DISMISSED:
            raise HTTPProblem(410, f"job {job.id} was dismissed; its results are gone")
        raise HTTPProblem(404, f"job {job.id} is {job.status}: results are not ready yet")

    async def dismiss(self, request: Request) -> Response:
        job = await self._job(request)
        dismissed = await self._run(queue.dismiss_statement(job.id))
        if not dismissed:
            raise JobStateError(f"job {job.id} was already dismissed")
        return JSONResponse(status_info(dismissed[0], self.base_url))


def _identity(request: Request) -> Identity:
    return getattr(request.state, "identity", ANONYMOUS)


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "100")
    if not text.isdigit() or not 1 <= int(text) <= LIST_LIMIT:
        raise HTTPProblem(400, f"limit: expected a whole number from 1 to {LIST_LIMIT}")
    return int(text)


def _statuses(request: Request) -> list[JobStatus]:
    values = request.query_params.getlist("status")
    try:
        return [JobStatus(v) for value in values for v in value.split(",") if v]
    except ValueError as exc:
        allowed = ", ".join(s.value for s in JobStatus)
        raise HTTPProblem(400, f"status: expected one of {allowed}") from exc
