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
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

MESSAGE_LIMIT = 2000
"""Characters kept of a record's message (arguments merged in)."""
TRACEBACK_LIMIT = 8000
"""Characters kept of a record's traceback."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

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
