"""Errors raised by the layer catalogue."""


class LayersError(Exception):
    """Base class of the catalogue's errors."""


class LayerNotFoundError(LayersError):
    """No layer is declared under that id."""


class InvalidDeclarationError(LayersError):
    """A declaration file does not match the schema of a layer declaration."""
