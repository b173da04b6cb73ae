"""The national coordinate reference system: Kyrg-06, five 3-degree transverse Mercator
zones on GRS80 (EPSG:7692 to 7696, central meridians 68°31' to 80°31' east).

Topology and the national area of a parcel are computed in the zone of the parcel's
longitude; the database has the same rule (`cadastre.kyrg06_srid`, migration 0019).
"""

from __future__ import annotations

import math

KYRG06_SRIDS: tuple[int, ...] = (7692, 7693, 7694, 7695, 7696)
"""Zones 1 to 5, west to east."""
WEST_EDGE_LON = 67.0166666666667
"""The west edge of zone 1 (its central meridian 68°31' less 1.5 degrees)."""
ZONE_WIDTH_DEG = 3.0


def kyrg06_srid(lon: float) -> int:
    """The EPSG code of the Kyrg-06 zone of a longitude (degrees east, WGS84); longitudes
    beyond the outer zones fall into them.

    >>> kyrg06_srid(74.6), kyrg06_srid(72.8), kyrg06_srid(80.1), kyrg06_srid(60.0)
    (7694, 7693, 7696, 7692)
    """
    index = math.floor((lon - WEST_EDGE_LON) / ZONE_WIDTH_DEG)
    return KYRG06_SRIDS[min(4, max(0, index))]


def kyrg06_zone(srid: int) -> int:
    """The zone number (1-5) of a Kyrg-06 EPSG code.

    >>> kyrg06_zone(7694)
    3
    """
    return KYRG06_SRIDS.index(srid) + 1
