"""Constants of the country's geography that every package shares: the CRS84 identifier and
Kyrgyzstan's bounding box (one home; `tiles`, `ingestion` and `geoportal` import them)."""

from __future__ import annotations

import math

BBox4326 = tuple[float, float, float, float]
"""(west, south, east, north) in degrees, CRS84 axis order (longitude first)."""

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
"""OGC URI of WGS 84 with longitude first (the default CRS of OGC API - Features)."""

KYRGYZSTAN_BBOX_4326: BBox4326 = (69.226296, 39.189237, 80.257561, 43.261702)
"""The bounding box of the country layer (`country`, from Natural Earth's admin-0 outline,
`kg_admin0.geojson` of the demo data), to the micro-degree."""


def rounded_outward(bbox: BBox4326, step_deg: float) -> BBox4326:
    """`bbox` grown to multiples of `step_deg` (west and south down, east and north up).

    >>> rounded_outward(KYRGYZSTAN_BBOX_4326, 0.5)
    (69.0, 39.0, 80.5, 43.5)
    """
    west, south, east, north = bbox
    steps = (
        math.floor(west / step_deg),
        math.floor(south / step_deg),
        math.ceil(east / step_deg),
        math.ceil(north / step_deg),
    )
    west, south, east, north = (round(n * step_deg, 6) for n in steps)
    return (west, south, east, north)


KYRGYZSTAN_EXTENT_4326: BBox4326 = rounded_outward(KYRGYZSTAN_BBOX_4326, 0.1)
"""The country's box rounded outward to 0.1 degree, (69.2, 39.1, 80.3, 43.3): the advertised
extent of a dataset never loaded (the records view of migration 0004 holds the same
literal)."""
