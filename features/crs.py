"""Coordinate reference systems as PostGIS sees them, and envelopes between them."""

from __future__ import annotations

import functools
from typing import NamedTuple

import pyproj
from psycopg import sql

from features.errors import InvalidQueryError
from features.params import Params


class CrsInfo(NamedTuple):
    """PostGIS view of a CRS: integer SRID, axis flip, output precision."""

    srid: int
    flip: bool  # authority axis order is north-first (lat/lon, N/E)
    digits: int  # sensible ST_AsGeoJSON maxdecimaldigits


def _from_uri(uri: str) -> pyproj.CRS:
    """A CRS from an OGC URL or URN (``.../def/crs/{authority}/{version}/{code}``)."""
    url = uri.replace("urn:ogc:def:crs", "http://www.opengis.net/def/crs").replace(":", "/")
    authority, code = url.rsplit("/", maxsplit=3)[1::2]
    return pyproj.CRS.from_authority(authority, code)


@functools.lru_cache(maxsize=256)
def crs_info(uri: str) -> CrsInfo:
    """Map a CRS URI/URN to an integer SRID (cached once per process).

    CRS84 is lon/lat.  Other CRSs follow their authority axis order (OGC API
    Features Part 2), so ``EPSG:4326`` is lat/lon and needs a coordinate flip
    relative to PostGIS' x/y storage.

    Raises:
        InvalidQueryError: the CRS is unknown or has no EPSG code.
    """
    if uri.rstrip("h").lower().endswith(("crs84", "crs:84")):
        return CrsInfo(4326, False, 7)
    try:
        crs = (
            _from_uri(uri)
            if "/" in uri or uri.lower().startswith("urn:")
            else pyproj.CRS.from_user_input(uri)
        )  # e.g. EPSG:4326
        srid = crs.to_epsg()
    except Exception:  # pyproj.exceptions.CRSError and parse errors
        srid = None
    if not srid:
        raise InvalidQueryError(f"unsupported CRS {uri!r}: no EPSG code")
    axes = crs.axis_info
    flip = bool(axes) and axes[0].direction.lower() == "north"
    degrees = bool(axes) and axes[0].unit_name.startswith("degree")
    return CrsInfo(int(srid), flip, 7 if degrees else 3)


def envelope_clause(
    params: Params, bounds: tuple[float, float, float, float], source: CrsInfo, target_srid: int
) -> sql.Composable:
    """``ST_MakeEnvelope`` in ``source`` CRS, reprojected to ``target_srid``.

    Coordinates are given in the source CRS authority axis order.
    """
    x1, y1, x2, y2 = (float(v) for v in bounds)
    if source.flip:
        x1, y1, x2, y2 = y1, x1, y2, x2
    env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
        params.add(min(x1, x2)),
        params.add(min(y1, y2)),
        params.add(max(x1, x2)),
        params.add(max(y1, y2)),
        params.add(source.srid),
    )
    if source.srid == target_srid:
        return env
    # densify so that edges follow the curved shape after reprojection
    step = max(abs(x2 - x1), abs(y2 - y1)) / 32 or 1.0
    return sql.SQL("ST_Transform(ST_Segmentize({}, {}), {})").format(
        env, params.add(step), params.add(target_srid)
    )
