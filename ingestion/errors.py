"""Errors raised while getting data in. Messages name the file, row and field at fault."""


class IngestionError(Exception):
    """Base class of the ingestion errors."""


class SourceNotFoundError(IngestionError):
    """The source file does not exist or cannot be read."""


class SchemaMismatchError(IngestionError):
    """The source lacks a column the declaration maps from."""


class InvalidValueError(IngestionError):
    """A value breaks a rule of the declaration (required, type, range, enum)."""


class InvalidGeometryError(IngestionError):
    """A geometry is missing, invalid or of the wrong type."""


class UnknownDerivationError(IngestionError):
    """A declaration names a derivation the ingestion package does not know."""
