"""`/downloads/pmtiles` over real HTTP: the archive, its headers, the link to it, bad input."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import mapbox_vector_tile
import pytest
from pmtiles.reader import MemorySource, Reader, all_tiles
from pmtiles.tile import TileType

from tests.support.server import LiveServer

DOWNLOAD = "/downloads/pmtiles"


@pytest.fixture()
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as http:
        yield http


def test_region_download_is_a_pmtiles_archive(client: httpx.Client) -> None:
    answer = client.get(
        DOWNLOAD, params={"layers": "roads,settlements", "oblast": "Talas", "maxzoom": "8"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.pmtiles"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="roads-settlements-talas-region-z4-8.pmtiles"'
    )
    assert answer.headers["access-control-allow-origin"] == "*"
    reader = Reader(MemorySource(answer.content))
    assert reader.header()["tile_type"] == TileType.MVT
    assert {layer["id"] for layer in reader.metadata()["vector_layers"]} == {"roads", "settlements"}
    tiles = dict(all_tiles(reader.get_bytes))
    assert int(answer.headers["x-tile-count"]) == len(tiles) > 0
    decoded = [mapbox_vector_tile.decode(gzip.decompress(data)) for data in tiles.values()]
    assert any("roads" in layers for layers in decoded)


def test_tileset_metadata_links_the_download(client: httpx.Client) -> None:
    document = client.get("/collections/roads/tiles/WebMercatorQuad").json()
    link = next(item for item in document["links"] if item["rel"] == "enclosure")
    assert link["type"] == "application/vnd.pmtiles"
    url = urlparse(link["href"])
    assert url.path == DOWNLOAD
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["layers"] == "roads" and len(query["bbox"].split(",")) == 4
    assert int(query["maxzoom"]) >= 8
    small = client.get(DOWNLOAD, params=dict(query, maxzoom="6"))  # the link, lower zoom
    assert small.status_code == 200 and small.content.startswith(b"PMTiles\x03")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"oblast": "Talas", "maxzoom": "8"}, "layers is required"),
        ({"layers": "roads", "maxzoom": "8"}, "exactly one of bbox or oblast"),
        (
            {"layers": "roads", "oblast": "Talas", "bbox": "72,42,73,43", "maxzoom": "8"},
            "exactly one of bbox or oblast",
        ),
        ({"layers": "roads", "oblast": "Talas"}, "maxzoom is required"),
        ({"layers": "roads", "oblast": "Talas", "maxzoom": "ten"}, "integer zoom"),
        ({"layers": "roads", "bbox": "72,42,73", "maxzoom": "8"}, "four numbers"),
        ({"layers": "roads", "bbox": "73,42,72,43", "maxzoom": "8"}, "minx < maxx"),
        ({"layers": "roads", "oblast": "Atlantis", "maxzoom": "8"}, "Talas Region"),
        ({"layers": "nope", "oblast": "Talas", "maxzoom": "8"}, "collections with tiles"),
        ({"layers": "roads", "oblast": "Chuy", "maxzoom": "16"}, "more than the limit"),
        ({"layers": "roads", "bbox": "10,10,11,11", "maxzoom": "8"}, "outside the served area"),
        ({"layers": "roads", "oblast": "Talas", "maxzoom": "8", "format": "x"}, "unknown param"),
    ],
)
def test_bad_requests_are_400_with_a_clear_message(
    client: httpx.Client, params: dict[str, str], message: str
) -> None:
    answer = client.get(DOWNLOAD, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert message in answer.json()["detail"]
