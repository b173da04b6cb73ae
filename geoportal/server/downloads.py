"""`GET /downloads/{format}`: public layers as files, and `GET /downloads/files/{jobId}`: the
file of an export job.

    /downloads/geopackage?oblast=Chuy                     every layer of an oblast (extract)
    /downloads/geojson?layers=roads&bbox=74.4,42.7,74.8,42.95&filter=surface='asphalt'
    /downloads/csv?layers=settlements&rayon=Alamudun&crs=EPSG:32643

Up to `downloads.max_sync_features` features are answered at once: GeoJSON, GeoJSON
Sequence and CSV streamed as the database reads them, the other formats written into a
temporary file (streamed from it, then deleted). A larger export becomes a job on the queue
(202, `Location: /jobs/{jobId}`), whose results link its file. Nothing is ever cut short: the
limit that applies is stated in the 202's body. A client that leaves cancels its export and
the statement running for it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from exports.formats import get_format
from exports.plan import ExportPlan, plan_export
from exports.reading import count_within, without_empty_layers
from exports.streams import stream_export
from exports.writers import write_export
from features.database import classify_error
from geoportal import data_exports
from geoportal.errors import HTTPProblem
from geoportal.job_kinds import job_kinds
from geoportal.server.disconnect import CLIENT_CLOSED, ClientDisconnectedError, cancel_on_disconnect
from geoportal.settings import Settings
from jobs import JobStatus, queue
from layers.catalogue import Catalogue

PoolGetter = Callable[[], AsyncConnectionPool | None]


def _pool(getter: PoolGetter) -> AsyncConnectionPool:
    pool = getter()
    if pool is None:
        raise HTTPProblem(503, "the server is starting; retry shortly", {"Retry-After": "5"})
    return pool


class _Export:
    """One export's connection and cancellation, shared by the request and its thread."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.cancelled = threading.Event()
        self.lock = threading.Lock()
        """Held while a thread works on the connection; closing waits for it."""

    def cancel(self) -> None:
        """Stop the export: the flag its loops check, and the statement running now."""
        self.cancelled.set()
        self.conn.cancel_safe(timeout=5)

    def close(self) -> None:
        """Close the connection (once any thread working on it has returned)."""
        with self.lock:
            self.conn.close()

    async def run[T](self, request: Request, work: Callable[[], T]) -> T:
        """`work` in a thread, cancelled (with its statement) if the client leaves."""

        def locked() -> T:
            with self.lock:
                return work()

        try:
            return await cancel_on_disconnect(
                request, anyio.to_thread.run_sync(locked, abandon_on_cancel=True)
            )
        except ClientDisconnectedError:
            self.cancel()
            raise


class Downloads:
    """The export handlers of one server process."""

    def __init__(
        self, settings: Settings, catalogue: Catalogue, reader: PoolGetter, agency: PoolGetter
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.reader = reader
        self.agency = agency
        self.slots = asyncio.Semaphore(settings.downloads.concurrent)
        self.kind = job_kinds(settings)[data_exports.JOB_KIND]

    async def export(self, request: Request) -> Response:
        """An export of the asked layers and area in the asked format (or its job)."""
        asked = data_exports.parse_params(request.path_params["format"], dict(request.query_params))
        get_format(asked.format)  # an unknown format is a 400 before any SQL
        async with _pool(self.reader).connection() as conn:
            region = await data_exports.resolve_region(conn, self.catalogue, asked)
        query = asked.query(region)
        limit = self.settings.downloads.max_sync_features
        export = _Export(await anyio.to_thread.run_sync(data_exports.connect, self.settings))
        handed_over = False
        try:

            def prepare() -> tuple[ExportPlan, int | None]:
                try:
                    plan = without_empty_layers(
                        export.conn, plan_export(export.conn, self.catalogue, query)
                    )
                    return plan, count_within(export.conn, plan, limit)
                except psycopg.Error as err:  # a filter the database refuses: a 400
                    raise classify_error(err, ",".join(query.layers) or "extract") from None

            plan, count = await export.run(request, prepare)
            if count is None:
                return await self._queue(query.to_inputs(), limit)
            if plan.format.streams and len(plan.layers) == 1:
                handed_over = True
                return self._stream(export, plan, count)
            async with self.slots:
                return await self._file(request, export, plan, count)
        except ClientDisconnectedError:
            return Response(status_code=CLIENT_CLOSED)
        finally:
            if not handed_over:
                threading.Thread(target=export.close, daemon=True).start()

    async def _queue(self, inputs: dict[str, Any], limit: int) -> Response:
        """The export as a job: 202 with its Location, the limit stated."""
        async with _pool(self.agency).connection() as conn:
            job = (
                await queue.arun(
                    conn, queue.submit_statement(self.kind, {"query": inputs}, owner=None)
                )
            )[0]
        href = f"{self.settings.public_url}/jobs/{job.id}"
        body = {
            "jobID": str(job.id),
            "status": str(job.status),
            "message": f"more than {limit:,} features (the downloads.max_sync_features "
            "setting): the export runs as a job; poll its status, then download the file its "
            "results link. Nothing is left out.",
            "links": [{"href": href, "rel": "monitor", "type": "application/json"}],
        }
        return JSONResponse(body, status_code=202, headers={"Location": href})

    def _headers(self, plan: ExportPlan, count: int, filename: str) -> dict[str, str]:
        return {
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Feature-Count": str(count),
            "X-Export-Layers": ",".join(part.layer.id for part in plan.layers),
            "Cache-Control": "no-store",
        }

    def _stream(self, export: _Export, plan: ExportPlan, count: int) -> Response:
        """A GeoJSON, GeoJSON Sequence or CSV export streamed as it is read."""
        chunks = stream_export(
            export.conn,
            plan,
            chunk_rows=self.settings.downloads.chunk_rows,
            cancelled=export.cancelled,
            count=count,
        )
        filename = f"{data_exports.file_stem(plan)}.{plan.format.extension}"
        return StreamingResponse(
            _body(export, chunks),
            media_type=plan.format.media_type,
            headers=self._headers(plan, count, filename),
        )

    async def _file(
        self, request: Request, export: _Export, plan: ExportPlan, count: int
    ) -> Response:
        """A format written into a temporary file, then streamed from it and deleted."""
        folder = Path(tempfile.mkdtemp(prefix="geoportal-export-"))

        def write() -> Any:
            try:
                return write_export(
                    export.conn,
                    plan,
                    folder,
                    data_exports.file_stem(plan),
                    chunk_rows=self.settings.downloads.chunk_rows,
                    cancelled=export.cancelled,
                )
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise

        result = await export.run(request, write)
        return FileResponse(
            result.path,
            media_type=result.media_type,
            filename=result.filename,
            headers=self._headers(plan, count, result.filename),
            background=BackgroundTask(shutil.rmtree, folder, True),
        )

    async def job_file(self, request: Request) -> Response:
        """The file of a successful export job (whoever holds the job's id)."""
        job_id = queue.parse_job_id(request.path_params["jobId"])
        async with _pool(self.agency).connection() as conn:
            found = await queue.arun(conn, queue.get_statement(job_id))
        job = found[0] if found and found[0].kind == data_exports.JOB_KIND else None
        if job is None or job.owner is not None:
            raise HTTPProblem(404, f"no export job {job_id}")
        if job.status != JobStatus.SUCCESSFUL:
            raise HTTPProblem(404, f"export job {job_id} is {job.status}: no file yet")
        results = dict(job.results or {})
        path = data_exports.job_folder(self.settings, str(job.id)) / str(results.get("filename"))
        if not path.is_file():
            raise HTTPProblem(410, f"the file of export job {job_id} is gone")
        return FileResponse(path, media_type=str(results.get("mediaType")), filename=path.name)


async def _body(export: _Export, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks, each read in a thread; if the client leaves, the export is cancelled
    (its statement too) and its connection closed once the thread has returned."""

    def step() -> bytes | None:
        with export.lock:
            return next(chunks, None)

    done = False
    try:
        while (chunk := await anyio.to_thread.run_sync(step, abandon_on_cancel=True)) is not None:
            yield chunk
        done = True
    finally:
        if not done:
            export.cancel()

        def close() -> None:
            with export.lock:
                chunks.close()  # type: ignore[attr-defined]
            export.close()

        threading.Thread(target=close, daemon=True).start()


def export_routes(
    settings: Settings, catalogue: Catalogue, reader: PoolGetter, agency: PoolGetter
) -> list[BaseRoute]:
    """`/downloads/files/{jobId}` and `/downloads/{format}` (mounted after
    `/downloads/pmtiles`, which it leaves alone)."""
    downloads = Downloads(settings, catalogue, reader, agency)
    return [
        Route(data_exports.FILES_PATH, downloads.job_file, methods=["GET"]),
        Route(data_exports.EXPORT_PATH, downloads.export, methods=["GET"]),
    ]
