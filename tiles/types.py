"""Named shapes shared by the tile engine."""

from __future__ import annotations

from typing import NamedTuple


class BBox(NamedTuple):
    """A bounding box (xmin, ymin, xmax, ymax); in CRS84 unless the name says otherwise."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float

    def intersects(self, other: BBox) -> bool:
        """True when the boxes share at least a point.

        >>> unit = BBox(0, 0, 1, 1)
        >>> unit.intersects(BBox(1, 1, 2, 2)), unit.intersects(BBox(2, 2, 3, 3))
        (True, False)
        """
        return not (
            other.xmin > self.xmax
            or other.xmax < self.xmin
            or other.ymin > self.ymax
            or other.ymax < self.ymin
        )


class TileCoord(NamedTuple):
    """A tile of a tile matrix set: zoom (tile matrix), column x and row y."""

    z: int
    x: int
    y: int
