"""OGC API Processes through pygeoapi, executed by the geoportal's job queue.

pygeoapi serves `/processes` and `/processes/{processId}` (descriptions) from the
processors configured here, one per analysis of `analyses.PROCESSES`. Its process manager
is ours, `JobQueueManager`: an execution never runs in the server; it checks the inputs
(400 naming the input), queues a job of the analysis' kind (`geoportal/job_kinds.py`) and,

* with `Prefer: respond-async`, answers 201 at once with the job's `Location: /jobs/{jobId}`;
* otherwise waits for a worker to finish the job, up to `ProcessSettings.sync_wait_s`
  (30 s), and answers its results (200) or, when it is not done by then, as an asynchronous
  execution (201, `Preference-Applied: respond-async`).

`POST /processes/{processId}/execution` is routed here (`execution_route`) in front of
pygeoapi's own handler for two reasons: the job belongs to the caller's identity (pygeoapi
does not pass it to the manager; a context variable does), and a synchronous wait blocks a
thread of our own bounded pool, not one of the event loop's default executor that serves
every other pygeoapi request. Jobs are read at `/jobs` (`geoportal/server/jobs_routes.py`),
in front of pygeoapi's job routes: status and results live in PostgreSQL and survive a
restart of the server.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from pygeoapi.api import API, APIRequest
from pygeoapi.api import processes as processes_api
from pygeoapi.process.base import BaseProcessor, JobNotFoundError, ProcessorExecuteError
from pygeoapi.process.manager.base import BaseManager
from pygeoapi.util import JobStatus as PygeoapiJobStatus
from pygeoapi.util import RequestedProcessExecutionMode
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analyses import PROCESSES, InvalidInputError, Process, get_process
from analyses.settings import ProcessSettings
from geoportal.job_kinds import analysis_kind
from geoportal.security.identity import ANONYMOUS, Identity
from jobs import Job, JobsError, JobStatus, queue

MANAGER = "geoportal.pygeoapi_.processes.JobQueueManager"
PROCESSOR = "geoportal.pygeoapi_.processes.AnalysisProcessor"
OWNER: contextvars.ContextVar[str | None] = contextvars.ContextVar("process_owner", default=None)
"""The identity name that owns the jobs of the current execution request (None: anonymous)."""
WAITERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="process-execution")
"""Threads that submit executions and wait for synchronous ones (bounded, ours alone)."""
POLL_S = (0.05, 0.5)
"""A waiting execution reads its job every 50 ms at first, then every 0.5 s at most."""


class ProcessInputError(ProcessorExecuteError):
    """An input of an execution request is wrong (400 naming it)."""

    ogc_exception_code = "InvalidParameterValue"
    http_status_code = 400


class ProcessFailedError(ProcessorExecuteError):
    """The job of a synchronous execution failed for another reason than its inputs."""

    ogc_exception_code = "NoApplicableCode"
    http_status_code = 500


class ProcessWorkerLostError(ProcessFailedError):
    """The job's workers died (twice): the service is in trouble, not the request."""

    http_status_code = 503


class ProcessDismissedError(ProcessFailedError):
    """The job was dismissed while the request waited for it."""

    http_status_code = 410


def add_processes(
    config: dict[str, Any], conninfo: str, settings: ProcessSettings, server_dir: Path
) -> None:
    """Configure our manager (over the queue, as `conninfo`) and one resource per analysis.

    pygeoapi's configuration schema requires the manager's `output_dir`: it names the
    server's directory, where the manager writes nothing (results live in `jobs.jobs`).
    """
    config["server"]["manager"] = {
        "name": MANAGER,
        "connection": {"conninfo": conninfo, "sync_wait_s": settings.sync_wait_s},
        "output_dir": str(server_dir),
    }
    for process in PROCESSES.values():
        config["resources"][process.id] = {
            "type": "process",
            "processor": {"name": PROCESSOR, "process_id": process.id},
        }


class AnalysisProcessor(BaseProcessor):
    """An analysis as pygeoapi sees it: its description. It never executes in the server."""

    def __init__(self, processor_def: dict[str, Any]) -> None:
        process = get_process(processor_def["process_id"])
        super().__init__(processor_def, dict(process.description))
        self.process = process

    def execute(self, data: dict[str, Any], outputs: dict[str, Any] | None = None) -> Any:
        """Refused: executions are queued by `JobQueueManager`, run by workers."""
        raise ProcessFailedError(user_msg="executions run in the job queue's workers")


class JobQueueManager(BaseManager):
    """pygeoapi's process manager over the geoportal's durable job queue."""

    def __init__(self, manager_def: dict[str, Any]) -> None:
        super().__init__(manager_def)
        self.is_async = True
        self.supports_subscribing = False
        connection = manager_def["connection"]
        self.conninfo = str(connection["conninfo"])
        self.sync_wait_s = float(connection.get("sync_wait_s", 30.0))

    def execute_process(
        self,
        process_id: str,
        data_dict: dict[str, Any],
        execution_mode: RequestedProcessExecutionMode | None = None,
        requested_outputs: dict[str, Any] | None = None,
        subscriber: Any = None,
        requested_response: str | None = "raw",
    ) -> tuple[str, str, Any, PygeoapiJobStatus, dict[str, str] | None]:
        """Check, queue, and (unless asynchronous) wait; see the module's docstring."""
        process = get_process(process_id)
        try:
            process.parse(data_dict)
        except InvalidInputError as exc:
            raise ProcessInputError(user_msg=str(exc)) from exc
        wanted = _wanted_outputs(process, requested_outputs)
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            job = queue.submit(conn, analysis_kind(process), data_dict, owner=OWNER.get())
        later = {"Preference-Applied": RequestedProcessExecutionMode.respond_async.value}
        if execution_mode == RequestedProcessExecutionMode.respond_async:
            return str(job.id), "application/json", None, PygeoapiJobStatus.accepted, later
        finished = self._wait(job.id)
        if finished is None:
            return str(job.id), "application/json", None, PygeoapiJobStatus.accepted, later
        if finished.status != JobStatus.SUCCESSFUL:
            raise _failure(process, finished)
        outputs = {k: v for k, v in (finished.results or {}).items() if k in wanted}
        if requested_response == "document":
            outputs = {"outputs": outputs}
        headers = (
            {"Preference-Applied": RequestedProcessExecutionMode.wait.value}
            if execution_mode == RequestedProcessExecutionMode.wait
            else None
        )
        return str(job.id), "application/json", outputs, PygeoapiJobStatus.successful, headers

    def _wait(self, job_id: uuid.UUID) -> Job | None:
        """The job once finished, or None when `sync_wait_s` passed first."""
        deadline = time.monotonic() + self.sync_wait_s
        pause = POLL_S[0]
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while True:
                job = queue.get_job(conn, job_id)
                if job.is_finished:
                    return job
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                time.sleep(min(pause, left))
                pause = min(pause * 2, POLL_S[1])

    # pygeoapi's own job routes are behind ours (/jobs); these serve its HTML pages and API.
    def get_job(self, job_id: str) -> dict[str, Any]:
        """The job in pygeoapi's shape."""
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                job = queue.get_job(conn, queue.parse_job_id(job_id))
        except JobsError as exc:
            raise JobNotFoundError(job_id) from exc
        return _pygeoapi_job(job)

    def get_jobs(
        self, status: Any = None, limit: int | None = None, offset: int | None = None
    ) -> dict[str, Any]:
        """No listing through pygeoapi: `/jobs` (ours) lists the caller's own jobs."""
        return {"jobs": [], "numberMatched": 0}

    def get_job_result(self, job_id: str) -> tuple[str, Any]:
        """The results of a job."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            job = queue.get_job(conn, queue.parse_job_id(job_id))
        return "application/json", dict(job.results or {})

    def delete_job(self, job_id: str) -> bool:
        """Dismiss a job."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            queue.dismiss(conn, queue.parse_job_id(job_id))
        return True


def _wanted_outputs(process: Process, requested: Mapping[str, Any] | None) -> set[str]:
    declared = set(process.description["outputs"])
    if not requested:
        return declared
    if not isinstance(requested, Mapping):
        raise ProcessInputError(user_msg="outputs: expected an object of output ids")
    unknown = sorted(set(requested) - declared)
    if unknown:
        raise ProcessInputError(
            user_msg=f"outputs: unknown output {unknown[0]!r}; expected {sorted(declared)}"
        )
    return set(requested)


def _failure(process: Process, job: Job) -> ProcessorExecuteError:
    """A 400 when the job failed on an input (its message starts with the input's name)."""
    message = job.message or f"job {job.id} {job.status}"
    named = message.split(":", 1)[0]
    if job.status == JobStatus.DISMISSED:
        return ProcessDismissedError(user_msg=f"job {job.id} was dismissed")
    if named in process.description["inputs"]:
        return ProcessInputError(user_msg=message)
    if "stopped answering" in message:  # reaped (jobs.queue.reap): its workers died
        return ProcessWorkerLostError(user_msg=f"job {job.id} failed: {message}")
    return ProcessFailedError(user_msg=f"job {job.id} failed: {message}")


def _pygeoapi_job(job: Job) -> dict[str, Any]:
    return {
        "type": "process",
        "identifier": str(job.id),
        "process_id": job.kind,
        "status": str(job.status),
        "message": job.message,
        "progress": job.progress,
        "created": job.created.isoformat(),
        "started": job.started.isoformat() if job.started else None,
        "finished": job.finished.isoformat() if job.finished else None,
        "updated": job.updated.isoformat(),
        "mimetype": "application/json",
    }


def _call(loop: asyncio.AbstractEventLoop, function: Callable[..., Any], *args: Any) -> Any:
    """Run a pygeoapi API function in a worker thread (it expects the loop set there)."""
    asyncio.set_event_loop(loop)
    return function(*args)


def execution_route(pygeoapi: API) -> Route:
    """`POST /processes/{processId}/execution`: pygeoapi's handler, run in `WAITERS` with the
    caller's identity as the owner of the job."""

    async def execute(request: Request) -> Response:
        api_request = await APIRequest.from_starlette(request, pygeoapi.locales)
        if not api_request.is_valid():
            headers, status, content = pygeoapi.get_format_exception(api_request)
        else:
            identity: Identity = getattr(request.state, "identity", ANONYMOUS)
            context = contextvars.copy_context()
            context.run(OWNER.set, identity.name if identity.is_authenticated else None)
            loop = asyncio.get_running_loop()
            headers, status, content = await loop.run_in_executor(
                WAITERS,
                context.run,
                _call,
                loop,
                processes_api.execute_process,
                pygeoapi,
                api_request,
                request.path_params["processId"],
            )
        return Response(content, status_code=int(status), headers=dict(headers))

    return Route("/processes/{processId}/execution", execute, methods=["POST"])
