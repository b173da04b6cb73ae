"""Server logging that a client cannot turn against the server.

pygeoapi logs a rejected filter or body whole at ERROR, and a rich handler formats a long
unbroken string in time that grows with the square of its length, holding the GIL: one
request with a 1 MB body froze every other request. So, in the server:

- every log record is bounded and escaped when it is created (one `LogRecord` factory,
  installed once per process): its message, with its arguments merged in, is cut to
  `MESSAGE_LIMIT` characters, control characters are escaped (`\\n`, `\\x1b`, ...), so a
  client's text can neither flood the log nor forge lines or terminal escapes; a traceback
  is cut the same way (keeping its head and its last lines);
- the handlers are plain `logging.StreamHandler`s with a one-line format (rich stays for
  the interactive CLI commands only): `server_log_config` is what `geoportal serve` gives
  uvicorn, and `create_app` replaces any rich handler it finds.

Request bodies are never logged by our code; what pygeoapi logs of them is bounded here.

JSON logs (`GEOPORTAL_LOG_FORMAT=json`, `configure_logs`): every record of the process,
uvicorn's and gunicorn's included, is one JSON object on one line (`JsonFormatter`: time,
level, logger, message, the request id of the request being served, the traceback if any),
and `AccessLogMiddleware` writes one access line per request (method, path, status, duration
in ms, request id) in place of uvicorn's access log. The records are bounded as above.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MESSAGE_LIMIT = 2000
"""Characters kept of a record's message (arguments merged in)."""
TRACEBACK_LIMIT = 8000
"""Characters kept of a record's traceback."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

ACCESS_LOGGER = "geoportal.access"
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")
"""The fields of an access line (`AccessLogMiddleware`), besides the common ones."""
REQUEST_ID: ContextVar[str | None] = ContextVar("geoportal_request_id", default=None)
"""The id of the request being served (set by the security middleware for its task)."""
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or f"\\x{ord(char):02x}"


def bound_text(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` with control characters escaped, cut to about `limit` characters.

    >>> bound_text("a\\nb\\x1b[31m")
    'a\\\\nb\\\\x1b[31m'
    >>> bound_text("x" * 50, 10)
    'xxxxxxxxxx... [40 more characters]'
    """
    # escaping only the kept part: the cost stays bounded whatever the input's size
    escaped = _CONTROL.sub(_escape, text[:limit])
    if len(text) <= limit and len(escaped) <= limit:
        return escaped
    return f"{escaped[:limit]}... [{max(len(text) - limit, 0)} more characters]"


def bound_traceback(text: str, limit: int = TRACEBACK_LIMIT) -> str:
    """A traceback cut to its head and its tail (the exception line), lines kept, other
    control characters escaped."""
    if len(text) > limit:
        half = limit // 2
        text = f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"
    return "\n".join(_CONTROL.sub(_escape, line) for line in text.split("\n"))


def _bounded_factory(previous: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is, bounded
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = bound_text(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            formatter = logging.Formatter()
            record.exc_text = bound_traceback(formatter.formatException(record.exc_info))
        return record

    factory._geoportal_bounded = True  # type: ignore[attr-defined]
    return factory


def install_log_bounds() -> None:
    """Bound and escape every log record of this process from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "_geoportal_bounded", False):
        logging.setLogRecordFactory(_bounded_factory(current))


def plain_handlers() -> None:
    """Replace rich handlers of the root logger by a plain one-line stream handler (the
    CLI installs rich for its interactive commands; the server must not format with it)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__module__.startswith("rich"):
            root.removeHandler(handler)
            plain = logging.StreamHandler(sys.stderr)
            plain.setFormatter(logging.Formatter(LOG_FORMAT))
            plain.setLevel(handler.level)
            root.addHandler(plain)


def server_log_config(level: str) -> dict[str, Any]:
    """The `logging.config.dictConfig` of the server (given to uvicorn): plain one-line
    records on stderr for the root logger and uvicorn's, the access log included."""
    formatter = {"format": LOG_FORMAT}
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level.upper(), "propagate": True},
        },
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (ISO 8601, UTC), level, logger,
    message, request_id, the access fields when present, and the traceback (`exc`)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": bound_text(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info and not record.exc_text:
            record.exc_text = bound_traceback(self.formatException(record.exc_info))
        if record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def configure_logs(log_format: str, level: str) -> None:
    """JSON logs for the whole process (`log_format` "json"): the root logger and the
    servers' loggers write through `JsonFormatter`, uvicorn's access log gives way to
    `AccessLogMiddleware`'s. "plain" changes nothing (`plain_handlers` applies)."""
    if log_format != "json":
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
        root.setLevel(level.upper())
    formatter = JsonFormatter()
    for logger in (root, *map(logging.getLogger, SERVER_LOGGERS)):
        for handler in logger.handlers:
            handler.setFormatter(formatter)
    logging.captureWarnings(True)  # Python's warnings as records, not bare lines
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)


class AccessLogMiddleware:
    """One access line per HTTP request on `geoportal.access` (JSON logs): method, path
    (bounded), status, duration in ms, and the request id the answer carries."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        seen: dict[str, Any] = {"status": 500, "request_id": None}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for name, value in message.get("headers") or ():
                    if name.lower() == b"x-request-id":
                        seen["request_id"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self._line(scope, seen, (time.perf_counter() - start) * 1000)

    def _line(self, scope: Scope, seen: dict[str, Any], duration_ms: float) -> None:
        path = bound_text(scope.get("path", ""), 500)
        self.log.info(
            "%s %s %s %.1f ms",
            scope["method"],
            path,
            seen["status"],
            duration_ms,
            extra={
                "method": scope["method"],
                "path": path,
                "status": seen["status"],
                "duration_ms": round(duration_ms, 2),
                "request_id": seen["request_id"],
            },
        )
