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
    found = [*node.get("Output", []),
             *(node[key] for key in ("Filter", "Recheck Cond", "Index Cond") if key in node)]
    for child in node.get("Plans", []):
        found += _expressions(child)
    return found


@pytest.mark.parametrize(("layer", "zoom", "lat"),
                         [(PARCELS, 8, 42.87), (PARCELS, 16, 42.87), (PLACES, 12, 42.9)])
def test_each_feature_is_clipped_and_encoded_once(base_data: Database,
                                                  tile_catalogue: Catalogue, layer: Any,
                                                  zoom: int, lat: float) -> None:
    """`ST_AsMVTGeom` appears once in the plan: the planner must not pull the sub-select up
    and run it again for the test that drops features outside the tile."""
    tileset = build_registry(tile_catalogue).collection(layer.id)
    tile = morecantile.tms.get("WebMercatorQuad").tile(74.60, lat, zoom)
    statement = build_tile_query(tileset, get_tile_matrix_set("WebMercatorQuad"),
                                 TileCoord(tile.z, tile.x, tile.y), TileSettings())
    assert statement is not None
    query, params = statement
    with psycopg.connect(base_data.public_conninfo) as conn:
        plan = conn.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {query}", params).fetchone()[0]
        tile_bytes = conn.execute(query, params).fetchone()[0]
    expressions = _expressions((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
    calls = [e for e in expressions if "st_asmvtgeom" in e.lower()]
    assert len(calls) == 1, calls
    assert tile_bytes  # the statement draws the features of this tile
