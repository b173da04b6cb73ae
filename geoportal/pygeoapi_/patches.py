"""Where pygeoapi 0.24 loses time per request, replaced by equivalent cached code.

Measured in benchmarks/features.py: on every bbox request pygeoapi's `transform_bbox`
builds a new pyproj Transformer and identifies the target CRS (`to_epsg()`), even when both
CRS are CRS84: about a third of the server time of a bbox page. CRS objects and
transformers depend only on the two CRS URIs, so they are built once per process here.
The result is the same as pygeoapi's (tests/pygeoapi_/test_patches.py checks it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pyproj
from pygeoapi.crs import get_crs
from pygeoapi.crs import transform_bbox as pygeoapi_transform_bbox

WEB_MERCATOR_LAT = 85.0511


@functools.lru_cache(maxsize=128)
def _transform(from_uri: str, to_uri: str, always_xy: bool) -> tuple[Callable[..., Any], bool]:
    """The transform function between two CRS URIs, and whether the target is EPSG:3857."""
    source, target = get_crs(from_uri), get_crs(to_uri)
    transformer = pyproj.Transformer.from_crs(source, target, always_xy)
    return transformer.transform, target.to_epsg() == 3857


def transform_bbox(
    bbox: list, from_crs: str | pyproj.CRS, to_crs: str | pyproj.CRS, always_xy: bool = False
) -> list:
    """pygeoapi.crs.transform_bbox with the CRS work cached per pair of URIs."""
    if not isinstance(from_crs, str) or not isinstance(to_crs, str):
        return pygeoapi_transform_bbox(bbox, from_crs, to_crs, always_xy)
    transform, to_web_mercator = _transform(from_crs, to_crs, always_xy)
    if to_web_mercator:
        bbox = [bbox[0], max(-WEB_MERCATOR_LAT, bbox[1]), bbox[2], min(WEB_MERCATOR_LAT, bbox[3])]
    dims = len(bbox) // 2
    return list(transform(*bbox[:dims]) + transform(*bbox[dims:]))


def apply() -> None:
    """Point pygeoapi's item handlers at the cached version (idempotent)."""
    from pygeoapi.api import itemtypes

    itemtypes.transform_bbox = transform_bbox
