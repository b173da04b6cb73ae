"""`POST /ingest`: an agency uploads a file into one of its layers; a `layers.load` job does
the load (OGC API Processes style: 201 with the job's status info and its `Location`,
`/jobs/{jobId}`, polled like any job).

The form (`multipart/form-data`): `layer` (required), `mode` (replace, append, upsert),
`sourceLayer`, `encoding`, `crs`, `skipInvalid`, `dryRun`, `mapping` (a JSON object) and
`file` (GeoPackage, zipped Shapefile, GeoJSON, KML, CSV, FlatGeobuf). Send the fields before
the file: a refusal (403, 400) then comes before the file is streamed.

- 401 without credentials, 403 for a user not bound to the layer's theme (naming it); the
  job's `scope` carries the user's oblasts, so the load keeps to them;
- the body is streamed to `<data_dir>/uploads/<id>/` (`upload_form.py`), bounded by
  `uploads.max_bytes` (413, in the security middleware, before a byte is read when the
  `Content-Length` says so);
- a zip (by its first bytes, whatever its name) is checked by `ingestion/archive.py`:
  entries, names, expansion ratio, total size (413 / 400 problems);
- the folder is deleted on any refusal, and otherwise when its job ends (`uploads.py`).
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from geoportal.errors import HTTPProblem
from geoportal.security.identity import ANONYMOUS, Identity
from geoportal.server.jobs_routes import status_info
from geoportal.server.upload_form import FormReader, UploadForm
from geoportal.uploads import (
    JOBS_OF_UPLOADS_SQL,
    UploadSettings,
    new_upload,
    remove_upload,
    stale_uploads,
)
from ingestion.archive import check_archive, is_zip
from jobs import JobKind, queue
from layers.catalogue import Catalogue
from layers.errors import LayerNotFoundError
from layers.model import Layer

log = logging.getLogger(__name__)

MODES = ("replace", "append", "upsert")
FORMATS = (".gpkg", ".zip", ".geojson", ".json", ".kml", ".csv", ".fgb")
"""File name endings accepted (a zipped Shapefile is a .zip)."""
TEXT_OPTIONS = {"sourceLayer", "encoding", "crs"}
FLAG_OPTIONS = {"skipInvalid", "dryRun"}
FIELDS = {"layer", "mode", "mapping", *TEXT_OPTIONS, *FLAG_OPTIONS}
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}


class IngestRoutes:
    """`POST /ingest` over a catalogue, the queue (agency pool) and an upload folder."""

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        pool: Callable[[], AsyncConnectionPool | None],
        kind: JobKind,
        root: Path,
        settings: UploadSettings,
        base_url: str,
    ) -> None:
        self.catalogue = catalogue
        self.pool = pool
        self.kind = kind
        self.root = root
        self.settings = settings
        self.base_url = base_url

    @property
    def routes(self) -> list[Route]:
        """The route to mount."""
        return [Route("/ingest", self.ingest, methods=["POST"])]

    async def ingest(self, request: Request) -> Response:
        """Save the upload, check it, queue its load; 201 with the job's status info."""
        identity: Identity = getattr(request.state, "identity", ANONYMOUS)
        if not identity.is_authenticated:
            raise HTTPProblem(
                401,
                "uploads need credentials (an API key or a bearer token of an agency user)",
                headers={"WWW-Authenticate": 'Bearer realm="geoportal"'},
            )
        pool = self._pool()
        await self._sweep(pool)
        folder = await anyio.to_thread.run_sync(new_upload, self.root)
        try:
            reader = FormReader(
                folder,
                max_field_bytes=self.settings.max_field_bytes,
                on_file=lambda fields: self._early_check(fields, identity),
            )
            form = await reader.read(request.headers.get("content-type", ""), request.stream())
            layer, inputs = self._inputs(form, identity)
            await anyio.to_thread.run_sync(self._check_file, form)
            title = f"upload of {form.filename} into {layer.id}"
            statement = queue.submit_statement(self.kind, inputs, owner=identity.name, title=title)
            async with pool.connection() as conn:
                job = (await queue.arun(conn, statement))[0]
        except BaseException:
            await anyio.to_thread.run_sync(remove_upload, folder)
            raise
        log.info("upload %s by %s into %s: job %s", form.filename, identity.name, layer.id, job.id)
        location = f"{self.base_url}/jobs/{job.id}"
        return JSONResponse(
            status_info(job, self.base_url), status_code=201, headers={"Location": location}
        )

    def _pool(self) -> AsyncConnectionPool:
        pool = self.pool()
        if pool is None:
            raise HTTPProblem(503, "the job queue is not available yet; retry shortly")
        return pool

    async def _sweep(self, pool: AsyncConnectionPool) -> None:
        """Delete the uploads whose jobs ended (housekeeping: never fails the upload)."""
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(JOBS_OF_UPLOADS_SQL, [str(self.root.resolve()) + "/"])
                states = dict(await cur.fetchall())
            stale = stale_uploads(self.root, states, self.settings.orphan_after_s)
            for folder in stale:
                await anyio.to_thread.run_sync(remove_upload, folder)
        except Exception:  # noqa: BLE001 - logged; the upload itself goes on
            log.warning("upload sweep failed", exc_info=True)

    # -- checks ------------------------------------------------------------------------
    def _early_check(self, fields: dict[str, str], identity: Identity) -> None:
        """When the file part starts: refuse now what the fields already refuse."""
        if "layer" in fields:
            self._authorise(self._layer(fields["layer"]), identity)

    def _layer(self, layer_id: str) -> Layer:
        if not layer_id:
            raise HTTPProblem(400, "layer: required (the id of the layer to load into)")
        try:
            return self.catalogue.get(layer_id)
        except LayerNotFoundError as exc:
            raise HTTPProblem(404, f"layer: no collection {layer_id!r}") from exc

    @staticmethod
    def _authorise(layer: Layer, identity: Identity) -> None:
        if not identity.may_write_theme(layer.theme):
            themes = ", ".join(sorted(identity.themes)) or "none"
            raise HTTPProblem(
                403,
                f"{identity.name} may not load into {layer.id}: the layer belongs to the "
                f"{layer.theme} theme, and {identity.name} may write only these themes: {themes}",
            )

    def _inputs(self, form: UploadForm, identity: Identity) -> tuple[Layer, dict[str, Any]]:
        """The job's inputs from the form (400 naming the field at fault)."""
        unknown = sorted(set(form.fields) - FIELDS)
        if unknown:
            raise HTTPProblem(400, f"unknown form fields {unknown}; known: {sorted(FIELDS)}")
        layer = self._layer(form.fields.get("layer", ""))
        self._authorise(layer, identity)
        if form.path is None:
            raise HTTPProblem(400, "file: required (the file to load)")
        mode = form.fields.get("mode", "replace") or "replace"
        if mode not in MODES:
            raise HTTPProblem(400, f"mode: {mode!r} is not one of {list(MODES)}")
        inputs: dict[str, Any] = {"layer": layer.id, "path": str(form.path.resolve())}
        inputs["mode"] = mode
        for name in sorted(TEXT_OPTIONS & set(form.fields)):
            if form.fields[name]:
                inputs[name] = form.fields[name]
        if "encoding" in inputs:
            _check_encoding(inputs["encoding"])
        for name in sorted(FLAG_OPTIONS):
            inputs[name] = _flag(name, form.fields.get(name, ""))
        if form.fields.get("mapping"):
            inputs["mapping"] = _mapping(form.fields["mapping"])
        inputs["scope"] = {
            "user": identity.name,
            "themes": sorted(identity.themes),
            "oblasts": sorted(identity.oblasts),
        }
        return layer, inputs

    def _check_file(self, form: UploadForm) -> None:
        """The saved file: not empty, a known format, and a safe archive if it is a zip."""
        assert form.path is not None
        if form.size == 0:
            raise HTTPProblem(400, f"file: {form.filename} is empty")
        suffix = form.path.suffix.lower()
        zipped = is_zip(form.path)
        if suffix not in FORMATS:
            raise HTTPProblem(
                415,
                f"file: {form.filename} is not a format the loader reads; send one of "
                f"{list(FORMATS)} (a Shapefile as a .zip with its .shp, .shx, .dbf, .prj)",
            )
        if zipped or suffix == ".zip":
            check_archive(form.path, self.settings.archive)


def _flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value not in TRUE | FALSE:
        raise HTTPProblem(400, f"{name}: {text!r} is not true or false")
    return value in TRUE


def _check_encoding(name: str) -> None:
    try:
        codecs.lookup(name)
    except LookupError as exc:
        raise HTTPProblem(400, f"encoding: {name!r} is not a known character encoding") from exc


def _mapping(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise HTTPProblem(400, f"mapping: not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise HTTPProblem(400, "mapping: a JSON object of field name -> source is expected")
    return value
