"""The shape of the tile statement's plan in PostgreSQL (not its speed): what each feature
costs is decided by how often the expensive functions run per row."""

from __future__ import annotations

import json
from typing import Any

import morecantile
import psycopg
import pytest

from geoportal.db.database import Database
from layers.catalogue import Catalogue
from tests.tiles.conftest import PARCELS, PLACES
from tiles.query import build_tile_query
from tiles.settings import TileSettings
from tiles.tilematrix import get_tile_matrix_set
from tiles.tilesets import build_registry
from tiles.types import TileCoord


def _expressions(node: dict[str, Any]) -> list[str]:
    """Every output, filter and condition of a plan node and of the nodes below it."""
    found = [
        *node.get("Output", []),
        *(node[key] for key in ("Filter", "Recheck Cond", "Index Cond") if key in node),
    ]
    for child in node.get("Plans", []):
        found += _expressions(child)
    return found


@pytest.mark.parametrize(
    ("layer", "zoom", "lat"), [(PARCELS, 8, 42.87), (PARCELS, 16, 42.87), (PLACES, 12, 42.9)]
)
def test_each_feature_is_clipped_and_encoded_once(
    base_data: Database, tile_catalogue: Catalogue, layer: Any, zoom: int, lat: float
) -> None:
    """`ST_AsMVTGeom` appears once in the plan: the planner must not pull the sub-select up
    and run it again for the test that drops features outside the tile."""
    tileset = build_registry(tile_catalogue).collection(layer.id)
    tile = morecantile.tms.get("WebMercatorQuad").tile(74.60, lat, zoom)
    statement = build_tile_query(
        tileset,
        get_tile_matrix_set("WebMercatorQuad"),
        TileCoord(tile.z, tile.x, tile.y),
        TileSettings(),
    )
    assert statement is not None
    query, params = statement
    with psycopg.connect(base_data.public_conninfo) as conn:
        plan = conn.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {query}", params).fetchone()[0]
        tile_bytes = conn.execute(query, params).fetchone()[0]
    expressions = _expressions((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
    calls = [e for e in expressions if "st_asmvtgeom" in e.lower()]
    assert len(calls) == 1, calls
    assert tile_bytes  # the statement draws the features of this tile


@pytest.mark.parametrize(
    ("z", "lon", "lat"), [(2, 74.5, 42.8), (7, 72.8, 40.5), (14, 74.6, 42.87), (20, 71.0, 39.3)]
)
def test_web_mercator_envelope_in_closed_form_is_proj_s(z: int, lon: float, lat: float) -> None:
    """The closed-form Web Mercator -> lon/lat box and pixel size are PROJ's."""
    from pyproj import Transformer

    from tiles.query import pixel_size, storage_envelope
    from tiles.types import BBox

    tms = get_tile_matrix_set("WebMercatorQuad")
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
    bounds = tms.xy_bounds(TileCoord(tile.z, tile.x, tile.y))
    proj = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    expected = BBox(*proj.transform_bounds(*bounds, densify_pts=21))
    assert storage_envelope(tms, bounds, 4326) == pytest.approx(expected, rel=0, abs=1e-9)
    px = (bounds.xmax - bounds.xmin) / 256
    cx, cy = (bounds.xmin + bounds.xmax) / 2, (bounds.ymin + bounds.ymax) / 2
    x0, y0 = proj.transform(cx, cy)
    x1, y2 = proj.transform(cx + px, cy + px)[0], proj.transform(cx, cy + px)[1]
    assert pixel_size(tms, bounds, 4326) == pytest.approx((x1 - x0, y2 - y0), rel=1e-9)
