"""OGC API ``datetime`` values: parsing, and the one SQL condition they become."""

from __future__ import annotations

import datetime as dt

from psycopg import sql

from features.errors import InvalidQueryError
from features.params import Params

TIME_TYPES = ("date", "timestamp", "timestamptz")
"""Column types compared as they are; any other is cast to timestamptz."""


def _parse_instant(text: str) -> dt.date:
    """RFC 3339 date or date-time (naive date-times are taken as UTC)."""
    try:
        if len(text.strip()) == 10:
            return dt.date.fromisoformat(text.strip())
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidQueryError(
            f"invalid datetime {text!r}: use RFC 3339, e.g. "
            "2020-01-01T00:00:00Z, or an interval a/b, ../b, a/.."
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_datetime(text: str) -> tuple[dt.date | None, dt.date | None]:
    """Bounds of an OGC API ``datetime`` value (instant, a/b, ../b, a/..).

    Bounds are ``date`` (date only) or aware ``datetime``; ``None`` = open.

    Raises:
        InvalidQueryError: a malformed value or an interval ending before it starts.
    """
    parts = text.split("/")
    if len(parts) > 2:
        raise InvalidQueryError(f"invalid datetime {text!r}")
    bounds = [None if p in ("..", "") else _parse_instant(p) for p in parts]
    start, end = bounds[0], bounds[-1]
    if start is not None and end is not None and as_datetime(start) > as_datetime(end):
        raise InvalidQueryError(f"invalid datetime interval {text!r}: start > end")
    return start, end


def as_date(value: dt.date) -> dt.date:
    """The (UTC) calendar date of a date or datetime."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date()
    return value


def as_datetime(value: dt.date, end: bool = False) -> dt.datetime:
    """A datetime; a date becomes its UTC midnight (the next one if end)."""
    if isinstance(value, dt.datetime):
        return value
    value += dt.timedelta(days=1 if end else 0)
    return dt.datetime.combine(value, dt.time(), dt.UTC)


def datetime_clause(
    params: Params, column: str, column_type: str, text: str
) -> sql.Composable | None:
    """OGC ``datetime`` (instant or interval) on ``column``; None for ``../..``.

    Args:
        params: collector of the statement's bound values.
        column: the time column.
        column_type: its type name (``date``, ``timestamptz``, ...): a date column compares
            dates, another non-timestamp type is cast to timestamptz.
        text: the ``datetime`` value.

    Raises:
        InvalidQueryError: a malformed value.
    """
    start, end = parse_datetime(text)
    is_date = column_type == "date"
    col: sql.Composable = sql.Identifier(column)
    if column_type not in TIME_TYPES:
        col = sql.SQL("CAST({} AS timestamptz)").format(col)
    conds = []
    if start is not None:
        low = as_date(start) if is_date else as_datetime(start)
        conds.append(sql.SQL("{} >= {}").format(col, params.add(low)))
    if end is not None:
        high = as_date(end) if is_date else as_datetime(end, end=True)
        open_ = not is_date and high != end
        conds.append(
            sql.SQL("{} {} {}").format(col, sql.SQL("<" if open_ else "<="), params.add(high))
        )
    return sql.SQL(" AND ").join(conds) if conds else None
