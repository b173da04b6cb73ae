"""Tile matrix sets (OGC 2D TMS, via morecantile): the grids that vector and raster tiles share.

Only what every tile kind needs lives here: which sets are served, tile bounds in the set's
CRS and in CRS84, the tile ranges covering a box, the `tileMatrixSetLimits` of a tileset and
the Web Mercator zoom equivalent to a tile matrix (layer zoom ranges are declared in Web
Mercator zooms).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import morecantile

from layers.geography import CRS84
from tiles.errors import TileMatrixSetNotFoundError, TileOutOfRangeError
from tiles.types import BBox, TileCoord

SUPPORTED_TMS: tuple[str, ...] = ("WebMercatorQuad", "WorldCRS84Quad")
"""Tile matrix sets served, by OGC identifier."""

_POSTGIS_SRID = {"WebMercatorQuad": 3857, "WorldCRS84Quad": 4326}
"""Integer SRID of each set's CRS in PostGIS (x = easting/longitude, as PostGIS stores it)."""

_CRS_URI = {
    "WebMercatorQuad": "http://www.opengis.net/def/crs/EPSG/0/3857",
    "WorldCRS84Quad": CRS84,
}


@dataclass(frozen=True)
class TileMatrixSet:
    """One served tile matrix set."""

    id: str
    uri: str
    crs_uri: str
    srid: int
    """PostGIS SRID of the set's CRS (an integer: text SRIDs make ST_Transform slow)."""
    pyproj_crs: str
    """The CRS as pyproj understands it with x = east (`EPSG:3857`, `OGC:CRS84`)."""
    grid: morecantile.TileMatrixSet

    @property
    def minzoom(self) -> int:
        """Lowest tile matrix."""
        return int(self.grid.minzoom)

    @property
    def maxzoom(self) -> int:
        """Highest tile matrix."""
        return int(self.grid.maxzoom)

    def matrix_size(self, z: int) -> tuple[int, int]:
        """(columns, rows) of tile matrix `z`."""
        matrix = self.grid.matrix(z)
        return int(matrix.matrixWidth), int(matrix.matrixHeight)

    def check_tile(self, tile: TileCoord) -> None:
        """Raise TileOutOfRangeError unless the tile exists in this set."""
        if not self.minzoom <= tile.z <= self.maxzoom:
            raise TileOutOfRangeError(
                f"tile matrix {tile.z} does not exist in {self.id} "
                f"({self.minzoom} to {self.maxzoom})"
            )
        cols, rows = self.matrix_size(tile.z)
        if not (0 <= tile.x < cols and 0 <= tile.y < rows):
            raise TileOutOfRangeError(
                f"tile {tile.z}/{tile.y}/{tile.x} (z/row/col) is outside tile matrix {tile.z} "
                f"of {self.id}: rows 0-{rows - 1}, columns 0-{cols - 1}"
            )

    def xy_bounds(self, tile: TileCoord) -> BBox:
        """Bounds of the tile in the set's CRS (x = east)."""
        b = self.grid.xy_bounds(morecantile.Tile(tile.x, tile.y, tile.z))
        return BBox(b.left, b.bottom, b.right, b.top)

    def bounds_4326(self, tile: TileCoord, margin: float = 0.0) -> BBox:
        """CRS84 bounds of the tile, grown by `margin` (a fraction of the tile's size)."""
        return _geographic_bounds(self.id, tile, margin)

    def tile_range(self, bbox_4326: BBox, z: int) -> tuple[int, int, int, int]:
        """(min col, min row, max col, max row) of the tiles of matrix `z` touching a box."""
        return _tile_range(self.id, bbox_4326, z)

    def _tile_range(self, bbox_4326: BBox, z: int) -> tuple[int, int, int, int]:
        cols, rows = self.matrix_size(z)
        west = max(bbox_4326.xmin, -180.0)
        east = min(bbox_4326.xmax, 180.0)
        limit = 85.05112877980659 if self.id == "WebMercatorQuad" else 90.0
        south = max(min(bbox_4326.ymin, limit), -limit)
        north = max(min(bbox_4326.ymax, limit), -limit)
        upper_left = self.grid.tile(west, north, z)
        lower_right = self.grid.tile(east, south, z)
        return (
            max(upper_left.x, 0),
            max(upper_left.y, 0),
            min(lower_right.x, cols - 1),
            min(lower_right.y, rows - 1),
        )

    def limits(self, bbox_4326: BBox, minzoom: int, maxzoom: int) -> list[dict[str, Any]]:
        """OGC `tileMatrixSetLimits` of the tiles touching a box, per tile matrix."""
        out = []
        for z in range(minzoom, maxzoom + 1):
            col0, row0, col1, row1 = self.tile_range(bbox_4326, z)
            out.append(
                {
                    "tileMatrix": str(z),
                    "minTileRow": row0,
                    "maxTileRow": row1,
                    "minTileCol": col0,
                    "maxTileCol": col1,
                }
            )
        return out

    def web_mercator_zoom(self, z: int) -> int:
        """The Web Mercator zoom whose scale is closest to tile matrix `z` of this set."""
        return _web_mercator_zoom(self.id, z)

    def zoom_from_web_mercator(self, zoom: int) -> int:
        """The tile matrix of this set whose scale is closest to Web Mercator `zoom`."""
        return _zoom_from_web_mercator(self.id, zoom)


@functools.cache
def get_tile_matrix_set(tms_id: str) -> TileMatrixSet:
    """The served tile matrix set `tms_id`.

    Raises:
        TileMatrixSetNotFoundError: naming the supported sets.
    """
    if tms_id not in SUPPORTED_TMS:
        raise TileMatrixSetNotFoundError(
            f"tile matrix set {tms_id!r} is not supported; use one of {', '.join(SUPPORTED_TMS)}"
        )
    grid = morecantile.tms.get(tms_id)
    return TileMatrixSet(
        id=tms_id,
        uri=str(grid.uri),
        crs_uri=_CRS_URI[tms_id],
        srid=_POSTGIS_SRID[tms_id],
        pyproj_crs="EPSG:3857" if tms_id == "WebMercatorQuad" else "OGC:CRS84",
        grid=grid,
    )


@functools.lru_cache(maxsize=65536)
def _geographic_bounds(tms_id: str, tile: TileCoord, margin: float) -> BBox:
    b = get_tile_matrix_set(tms_id).grid.bounds(morecantile.Tile(tile.x, tile.y, tile.z))
    dx, dy = (b.right - b.left) * margin, (b.top - b.bottom) * margin
    return BBox(b.left - dx, b.bottom - dy, b.right + dx, b.top + dy)


@functools.cache
def _web_mercator_zoom(tms_id: str, z: int) -> int:
    if tms_id == "WebMercatorQuad":
        return z
    mercator = morecantile.tms.get("WebMercatorQuad")
    scale = get_tile_matrix_set(tms_id).grid.matrix(z).scaleDenominator
    zero = mercator.matrix(0).scaleDenominator
    return max(0, round(math.log2(zero / scale)))


@functools.lru_cache(maxsize=4096)
def _tile_range(tms_id: str, bbox_4326: BBox, z: int) -> tuple[int, int, int, int]:
    return get_tile_matrix_set(tms_id)._tile_range(bbox_4326, z)


@functools.cache
def _zoom_from_web_mercator(tms_id: str, zoom: int) -> int:
    tms = get_tile_matrix_set(tms_id)
    candidates = range(tms.minzoom, tms.maxzoom + 1)
    return min(candidates, key=lambda z: abs(tms.web_mercator_zoom(z) - zoom))
