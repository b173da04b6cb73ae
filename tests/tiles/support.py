"""Helpers of the tile tests: tile coordinates of a place and decoding of MVT answers."""

from __future__ import annotations

from typing import Any

import httpx
import mapbox_vector_tile
import morecantile

BISHKEK = (74.60, 42.87)
OSH = (72.80, 40.52)
TINY = (74.61, 42.88)  # the tiny tiletest parcel, inside the big one
NARYN_EMPTY = (76.50, 41.60)  # no tiletest parcel there


def tile_path(prefix: str, z: int, lon: float, lat: float, tms: str = "WebMercatorQuad") -> str:
    """`<prefix>/<tms>/<z>/<row>/<col>` of the tile holding a point."""
    tile = morecantile.tms.get(tms).tile(lon, lat, z)
    return f"{prefix}/{tms}/{z}/{tile.y}/{tile.x}"


def decode(response: httpx.Response) -> dict[str, Any]:
    """The layers of an MVT answer (an empty dict for 204)."""
    if response.status_code == 204:
        return {}
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return dict(mapbox_vector_tile.decode(response.content))


def features(response: httpx.Response, layer: str) -> list[dict[str, Any]]:
    """The features of one layer of an MVT answer."""
    return list(decode(response).get(layer, {}).get("features", []))


def vertex_count(geometry: dict[str, Any]) -> int:
    """Number of positions in a decoded GeoJSON-like geometry."""

    def count(value: Any) -> int:
        if value and isinstance(value[0], (int, float)):
            return 1
        return sum(count(v) for v in value)

    return count(geometry["coordinates"])
