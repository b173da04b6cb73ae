"""Errors of the exports package; the server maps each to a status code."""

from __future__ import annotations


class ExportsError(Exception):
    """Base class of every error the exports package raises."""


class InvalidExportError(ExportsError):
    """A bad export parameter: format, layer, bbox, area, filter, datetime or CRS (the message
    names it)."""


class ExportCancelledError(ExportsError):
    """The export was cancelled (its client left, or its job was dismissed)."""


class EmptyAreaError(ExportsError):
    """A regional extract of an area where no layer has a feature."""
