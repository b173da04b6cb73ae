"""Errors raised by the cadastre rules."""


class CadastreError(Exception):
    """Base class of the cadastre's errors."""


class InvalidCadastralCodeError(CadastreError, ValueError):
    """A text is not a cadastral identification code, or a part is out of its range."""


class InvalidPinError(CadastreError, ValueError):
    """A text is not a personal identification number in the national form."""


class ParcelNotFoundError(CadastreError, LookupError):
    """No current (or, for history, no registered) parcel has this code."""


class BlockNotFoundError(CadastreError, LookupError):
    """No cadastral block has this code."""


class RuleViolationError(CadastreError):
    """A change breaks cadastre rules; `problems` names each rule, parcel and place."""

    def __init__(self, message: str, problems: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.problems = problems


class ParcelChangedError(CadastreError):
    """A parcel changed since the client read it (its ETag does not match `If-Match`)."""

    def __init__(self, message: str, etag: str) -> None:
        super().__init__(message)
        self.etag = etag


class InvalidPlanTokenError(CadastreError, ValueError):
    """A verification token is malformed, forged or tampered with."""


class InvalidChangeError(CadastreError, ValueError):
    """A split or merge request is malformed (missing line, too few parcels, bad date)."""


class SearchQueryError(CadastreError, ValueError):
    """A search or geocoding query cannot be answered as given (a parameter out of range)."""
