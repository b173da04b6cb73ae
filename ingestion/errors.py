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


class MissingCrsError(IngestionError):
    """The file declares no coordinate reference system (the message suggests one)."""


class LoadRefusedError(IngestionError):
    """The validation report has blocking problems; nothing was loaded (`report` holds it)."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class LoadScopeError(IngestionError):
    """The loading user may not write this layer (theme) or the load lies outside its oblasts."""


class LoadTimeoutError(IngestionError):
    """The load took longer than the configured limit and was rolled back."""


class NoNaturalKeyError(IngestionError):
    """An upsert into a layer whose declaration names no natural `key:`."""


class RegisterReplaceError(IngestionError):
    """A `replace` load of the land register, where nothing is ever deleted."""
