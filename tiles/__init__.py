"""Getting tiles out: vector tiles (MVT) rendered by PostGIS, cached in memory and on disk,
kept fresh by database change notifications. See docs/tiles.md.

The package never imports `geoportal`, pygeoapi or Starlette: the server gives it a psycopg
pool, settings and the layer catalogue, and turns its errors into HTTP answers.
"""

from tiles.cache import CachedTile, TileCache, TileKey
from tiles.changes import ChangeListener, TileChange
from tiles.errors import (
    InvalidTileRequestError,
    TileMatrixSetNotFoundError,
    TileOutOfRangeError,
    TileQueryTimeoutError,
    TilesConfigError,
    TilesError,
    TilesetNotFoundError,
    TilesUnavailableError,
)
from tiles.query import TileFilter, build_tile_query
from tiles.service import RenderedTile, TileService
from tiles.settings import TileSettings
from tiles.tilematrix import SUPPORTED_TMS, TileMatrixSet, get_tile_matrix_set
from tiles.tilesets import BASEMAP_ID, Tileset, TilesetRegistry, build_registry

__all__ = [
    "BASEMAP_ID",
    "SUPPORTED_TMS",
    "CachedTile",
    "ChangeListener",
    "InvalidTileRequestError",
    "RenderedTile",
    "TileCache",
    "TileChange",
    "TileFilter",
    "TileKey",
    "TileMatrixSet",
    "TileMatrixSetNotFoundError",
    "TileOutOfRangeError",
    "TileQueryTimeoutError",
    "TileService",
    "TileSettings",
    "Tileset",
    "TilesConfigError",
    "TilesError",
    "TilesUnavailableError",
    "TilesetNotFoundError",
    "TilesetRegistry",
    "build_registry",
    "build_tile_query",
    "get_tile_matrix_set",
]
