"""Errors raised by the cadastre rules."""


class CadastreError(Exception):
    """Base class of the cadastre's errors."""


class InvalidCadastralCodeError(CadastreError, ValueError):
    """A text is not a cadastral identification code, or a part is out of its range."""


class InvalidPinError(CadastreError, ValueError):
    """A text is not a personal identification number in the national form."""


class SearchQueryError(CadastreError, ValueError):
    """A search or geocoding query cannot be answered as given (a parameter out of range)."""
