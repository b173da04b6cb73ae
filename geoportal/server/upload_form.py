"""A `multipart/form-data` body read as it arrives: text fields kept (bounded), the one file
part written straight to disk, never held in memory (python-multipart's streaming parser,
fed from `request.stream()`; the security middleware bounds the body as a whole).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import anyio
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header

from geoportal.errors import HTTPProblem

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FIELDS = 20
FLUSH_BYTES = 1 << 20
"""File data is written to disk in blocks of about this size (in a worker thread)."""


def safe_filename(name: str) -> str:
    """A file name safe to create inside the upload folder (no folders, no odd characters).

    >>> safe_filename("../../etc/Дороги 2024.geojson")
    '2024.geojson'
    >>> safe_filename("..")
    'upload'
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = SAFE_NAME.sub("_", base).strip("._-")
    return cleaned[-120:] or "upload"


@dataclass
class UploadForm:
    """What the form carried: its text fields and the saved file (name as sent, path)."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    path: Path | None = None
    size: int = 0


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    text: bytearray = field(default_factory=bytearray)


class FormReader:
    """Parses one upload form into `folder`; `on_file` is called with the fields seen so far
    when the file part starts (the caller refuses early, before the file is streamed)."""

    def __init__(
        self,
        folder: Path,
        *,
        max_field_bytes: int,
        file_field: str = "file",
        on_file: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.folder = folder
        self.max_field_bytes = max_field_bytes
        self.file_field = file_field
        self.on_file = on_file
        self.form = UploadForm()
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._handle: IO[bytes] | None = None

    async def read(self, content_type: str, stream: AsyncIterator[bytes]) -> UploadForm:
        """Read the whole body; the file ends up in `folder`.

        Raises:
            HTTPProblem: 415 when the body is not multipart/form-data, 400 when it is
                malformed or breaks the form's bounds.
        """
        media, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if media != b"multipart/form-data" or not boundary:
            raise HTTPProblem(415, "send the upload as multipart/form-data (fields and a file)")
        parser = MultipartParser(boundary, self._callbacks())
        try:
            async for chunk in stream:
                parser.write(chunk)
                await self._flush(force=False)
            parser.finalize()
            await self._flush(force=True)
        except MultipartParseError as exc:
            raise HTTPProblem(400, f"the multipart body is malformed ({exc})") from exc
        finally:
            if self._handle is not None:
                self._handle.close()
        return self.form

    def _callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._begin,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_header_field": lambda d, s, e: self._header_name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }

    def _begin(self) -> None:
        self._part = _Part()
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", b""))
        self._part.name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if self._part.name == self.file_field:
            if self.form.path is not None:
                raise HTTPProblem(400, f"{self.file_field}: send one file per upload")
            if self.on_file is not None:
                self.on_file(dict(self.form.fields))
            sent = filename.decode("utf-8", "replace") if filename else "upload"
            self.form.filename = sent
            self.form.path = self.folder / safe_filename(sent)
            self._handle = self.form.path.open("xb")
            self._part.filename = sent
        elif len(self.form.fields) >= MAX_FIELDS:
            raise HTTPProblem(400, f"at most {MAX_FIELDS} form fields")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._part.filename is not None:
            self._pending.append(data[start:end])
            self._pending_size += end - start
            self.form.size += end - start
            return
        self._part.text.extend(data[start:end])
        if len(self._part.text) > self.max_field_bytes:
            raise HTTPProblem(
                400, f"form field {self._part.name!r}: at most {self.max_field_bytes} bytes"
            )

    def _end(self) -> None:
        if self._part.filename is None:
            try:
                self.form.fields[self._part.name] = self._part.text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise HTTPProblem(400, f"form field {self._part.name!r}: not UTF-8") from exc

    async def _flush(self, *, force: bool) -> None:
        if not self._pending or (not force and self._pending_size < FLUSH_BYTES):
            return
        block, self._pending, self._pending_size = b"".join(self._pending), [], 0
        handle = self._handle
        assert handle is not None
        await anyio.to_thread.run_sync(handle.write, block)
