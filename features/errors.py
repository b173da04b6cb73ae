"""Errors of the features engine; the server maps each to a status code."""

from __future__ import annotations


class FeaturesError(Exception):
    """Base class of every error the features engine raises."""


class InvalidQueryError(FeaturesError):
    """A bad parameter, filter, CRS or datetime (the message names it)."""


class ItemNotFoundError(FeaturesError):
    """No feature with the requested id."""


class TableNotFoundError(FeaturesError):
    """The configured table or one of its configured columns does not exist."""


class QueryTimeoutError(FeaturesError):
    """The statement ran past its statement timeout."""


class DatabaseUnavailableError(FeaturesError):
    """No connection to the database could be had."""


class QueryFailedError(FeaturesError):
    """The database failed a statement for a reason that is not the request's fault."""
