"""Errors raised by the tile engine; the server maps each class to an HTTP status once."""


class TilesError(Exception):
    """Base class of the tile engine's errors."""


class TilesConfigError(TilesError):
    """A layer's tile rules are inconsistent with its declaration (unknown or restricted field)."""


class TilesetNotFoundError(TilesError):
    """No tileset (collection or basemap) has that id."""


class TileMatrixSetNotFoundError(TilesError):
    """The tile matrix set is not one the engine serves."""


class TileOutOfRangeError(TilesError):
    """The tile is outside the tile matrix set, the tileset's zoom range or its limits."""


class InvalidTileRequestError(TilesError):
    """A malformed tile coordinate or an unsupported request option."""


class TileQueryTimeoutError(TilesError):
    """The tile query ran past the statement timeout and was cancelled."""


class TilesUnavailableError(TilesError):
    """The database could not be reached to render a tile."""


class SceneNotFoundError(TilesError):
    """No scene of a raster collection matches the requested datetime (or it has none yet)."""
