"""Database failures as engine errors: the request's fault, a timeout, or ours."""

from __future__ import annotations

import logging

import psycopg
from psycopg import errors
from psycopg_pool import PoolTimeout

from features.errors import (
    DatabaseUnavailableError,
    FeaturesError,
    InvalidQueryError,
    QueryFailedError,
    QueryTimeoutError,
)

LOGGER = logging.getLogger(__name__)

USER_ERRORS = (
    errors.DataError,
    errors.UndefinedFunction,
    errors.DatatypeMismatch,
    errors.CannotCoerce,
    errors.AmbiguousFunction,
    errors.IndeterminateDatatype,
)
"""What a request can provoke with a well-formed but impossible filter (a 400)."""


def message_of(err: Exception) -> str:
    """The primary message PostgreSQL gave, or an empty string."""
    return getattr(getattr(err, "diag", None), "message_primary", "") or ""


def is_transform_error(err: Exception) -> bool:
    """True when PostGIS could not transform a geometry (a coordinate out of its CRS)."""
    return isinstance(err, errors.InternalError_) and message_of(err).startswith("transform")


def classify_error(err: Exception, table: str) -> FeaturesError:
    """The engine error of a psycopg(-pool) error raised while querying ``table``."""
    message = message_of(err)
    if isinstance(err, errors.QueryCanceled):
        return QueryTimeoutError("query cancelled: statement timeout; narrow the request")
    if isinstance(err, USER_ERRORS):
        return InvalidQueryError(f"invalid query: {message}")
    if isinstance(err, errors.InternalError_) and ("GEOS" in message or "geometry" in message):
        return InvalidQueryError(f"invalid geometry: {message}")  # GEOS on bad input
    if isinstance(err, (PoolTimeout, psycopg.OperationalError)):
        LOGGER.error("database unavailable for %s: %s", table, err)
        return DatabaseUnavailableError("database unavailable")
    LOGGER.error("query on %s failed: %s", table, err)
    return QueryFailedError(f"query on {table} failed")
