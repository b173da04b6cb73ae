"""Vector tiles over real HTTP: layers and attributes per zoom, generalisation, filters,
caching headers, empty and out-of-range tiles, metadata."""

from __future__ import annotations

import httpx
import pytest

from tests.tiles.conftest import PARCELS, PLACES
from tests.tiles.support import (
    BISHKEK,
    NARYN_EMPTY,
    OSH,
    TINY,
    decode,
    features,
    tile_path,
    vertex_count,
)

BASEMAP = "/tiles"
PARCEL_TILES = "/collections/tt_parcels/tiles"
PLACE_TILES = "/collections/tt_places/tiles"


def test_basemap_draws_each_layer_within_its_zoom_range(client: httpx.Client) -> None:
    z3 = decode(client.get(tile_path(BASEMAP, 3, *BISHKEK)))
    z9 = decode(client.get(tile_path(BASEMAP, 9, *BISHKEK)))
    assert {"country", "oblasts", "lakes"} <= set(z3)
    assert not {"rayons", "rivers", "settlements"} & set(z3)  # they start at z4 and z5
    assert {"country", "oblasts", "rayons", "settlements"} <= set(z9)


def test_attributes_follow_the_zoom_bands(client: httpx.Client) -> None:
    small = features(client.get(tile_path(BASEMAP, 6, *BISHKEK)), "settlements")
    large = features(client.get(tile_path(BASEMAP, 12, *BISHKEK)), "settlements")
    assert small and large
    assert set().union(*(f["properties"] for f in small)) <= {
        "name_ky",
        "name_ru",
        "name_en",
        "population",
        "capital",
    }
    assert {"geonameid", "oblast"} <= set().union(*(f["properties"] for f in large))
    country = features(client.get(tile_path(BASEMAP, 3, *BISHKEK)), "country")
    assert set(country[0]["properties"]) == {"name_ky", "name_ru", "name_en", "iso_a2"}


def test_low_zoom_tiles_are_simplified(client: httpx.Client) -> None:
    z7 = features(client.get(tile_path(PARCEL_TILES, 7, *BISHKEK)), "tt_parcels")
    z11 = features(client.get(tile_path(PARCEL_TILES, 11, *BISHKEK)), "tt_parcels")
    big7 = next(f for f in z7 if f["properties"]["name"] == "big")
    big11 = next(f for f in z11 if f["properties"]["name"] == "big")
    assert vertex_count(big7["geometry"]) < vertex_count(big11["geometry"]) / 3


def test_small_features_are_dropped_at_low_zoom(client: httpx.Client) -> None:
    names_z8 = {
        f["properties"]["name"]
        for f in features(client.get(tile_path(PARCEL_TILES, 8, *TINY)), "tt_parcels")
    }
    names_z15 = {
        f["properties"]["name"]
        for f in features(client.get(tile_path(PARCEL_TILES, 15, *TINY)), "tt_parcels")
    }
    assert "tiny" not in names_z8 and "big" in names_z8
    assert "tiny" in names_z15


def test_feature_cap_keeps_the_highest_priority(client: httpx.Client) -> None:
    capped = features(client.get(tile_path(PLACE_TILES, 6, *BISHKEK)), "tt_places")
    assert sorted(f["properties"]["population"] for f in capped) == [8000, 9000, 10000]
    assert all(f["id"] in (8, 9, 10) for f in capped)  # feature ids are the row ids


def test_no_restricted_field_ever_reaches_a_tile(client: httpx.Client) -> None:
    restricted = {f.name for layer in (PARCELS, PLACES) for f in layer.fields if not f.public}
    for prefix, layer in ((PARCEL_TILES, "tt_parcels"), (PLACE_TILES, "tt_places")):
        for z in range(6, 15, 2):
            for feature in features(client.get(tile_path(prefix, z, *BISHKEK)), layer):
                assert not restricted & set(feature["properties"])
    response = client.get(
        tile_path(PARCEL_TILES, 14, *BISHKEK), params={"filter": "owner_pin = '11111111111111'"}
    )
    assert response.status_code == 400 and "owner_pin" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"filter": "kind = 'garden'"}, {"tiny"}),
        ({"filter": "area_ha > 1000"}, {"big"}),
        (
            {
                "filter": '{"op": "=", "args": [{"property": "kind"}, "field"]}',
                "filter-lang": "cql2-json",
            },
            {"big"},
        ),
        ({"datetime": "2023-01-01/2023-12-31"}, {"tiny"}),
        ({"datetime": "../2022-01-01", "filter": "kind = 'field'"}, {"big"}),
    ],
)
def test_filters_apply_to_collection_tiles(
    client: httpx.Client, params: dict[str, str], expected: set[str]
) -> None:
    response = client.get(tile_path(PARCEL_TILES, 14, *TINY), params=params)
    assert {f["properties"]["name"] for f in features(response, "tt_parcels")} == expected


@pytest.mark.parametrize(
    ("path", "params", "detail"),
    [
        (tile_path(PARCEL_TILES, 14, *BISHKEK), {"filter": "kind = "}, "not valid cql2-text"),
        (tile_path(PARCEL_TILES, 14, *BISHKEK), {"filter": "nope = 1"}, "unknown property"),
        (tile_path(PARCEL_TILES, 14, *BISHKEK), {"datetime": "yesterday"}, "invalid datetime"),
        (tile_path(BASEMAP, 8, *BISHKEK), {"filter": "name_en = 'x'"}, "collection tiles"),
    ],
)
def test_bad_filters_are_400(
    client: httpx.Client, path: str, params: dict[str, str], detail: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


def test_second_fetch_is_served_from_the_cache_and_revalidates(client: httpx.Client) -> None:
    path = tile_path(BASEMAP, 10, *OSH)
    first, second = client.get(path), client.get(path)
    assert first.status_code == second.status_code == 200
    assert first.headers["x-tile-cache"] == "database"
    assert second.headers["x-tile-cache"] == "memory"
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=60"  # a CDN keeps it a minute
    again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_empty_tile_is_204_and_cached(client: httpx.Client) -> None:
    path = tile_path(PARCEL_TILES, 12, *NARYN_EMPTY)
    first, second = client.get(path), client.get(path)
    assert first.status_code == second.status_code == 204
    assert first.content == b"" and second.headers["x-tile-cache"] == "memory"
    assert "etag" in first.headers


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        (tile_path("/collections/rivers/tiles", 20, *BISHKEK), "zoom range of rivers"),
        (tile_path("/collections/rivers/tiles", 2, *BISHKEK), "zoom range of rivers"),
        ("/collections/rivers/tiles/WebMercatorQuad/6/99/99", "outside tile matrix 6"),
        (tile_path("/collections/rivers/tiles", 6, 10.0, 50.0), "tile matrix set limits"),
        ("/collections/no_such_layer/tiles/WebMercatorQuad/6/23/45", "no_such_layer"),
        ("/collections/rivers/tiles/GoogleMapsCompatible/6/23/45", "not supported"),
        ("/tiles/WebMercatorQuad/30/0/0", "does not exist"),
    ],
)
def test_out_of_range_tiles_are_404_with_a_reason(
    client: httpx.Client, path: str, detail: str
) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and detail in body["detail"]


def test_non_integer_tile_indices_are_400(client: httpx.Client) -> None:
    assert client.get("/tiles/WebMercatorQuad/6/a/45").status_code == 400


@pytest.mark.parametrize("tms", ["WebMercatorQuad", "WorldCRS84Quad"])
def test_layers_stored_in_a_national_crs_land_in_the_same_place(
    client: httpx.Client, tms: str
) -> None:
    def ring(layer: str) -> list[list[float]]:
        path = tile_path(f"/collections/{layer}/tiles", 11, *BISHKEK, tms=tms)
        found = features(client.get(path), layer)
        big = next(f for f in found if f["properties"]["name"] == "big")
        return list(big["geometry"]["coordinates"][0])

    metric, degrees = ring("tt_metric"), ring("tt_parcels")
    for axis in (0, 1):  # the same box within 2 tile units (of 4096)
        for pick in (min, max):
            assert pick(p[axis] for p in metric) == pytest.approx(
                pick(p[axis] for p in degrees), abs=2
            )


def test_crs84_tiles(client: httpx.Client) -> None:
    response = client.get(tile_path(BASEMAP, 5, *BISHKEK, tms="WorldCRS84Quad"))
    assert {"country", "oblasts"} <= set(decode(response))


def test_tileset_metadata_and_tilejson(client: httpx.Client) -> None:
    listing = client.get("/collections/rivers/tiles").json()
    assert {t["tileMatrixSetURI"].rsplit("/", 1)[1] for t in listing["tilesets"]} == {
        "WebMercatorQuad",
        "WorldCRS84Quad",
    }
    meta = client.get("/collections/rivers/tiles/WebMercatorQuad").json()
    assert meta["dataType"] == "vector"
    assert [lim["tileMatrix"] for lim in meta["tileMatrixSetLimits"]] == [
        str(z) for z in range(4, 15)
    ]
    assert any(
        link["rel"] == "item"
        and link["href"].endswith(
            "/collections/rivers/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
        )
        for link in meta["links"]
    )
    tilejson = client.get("/tiles/WebMercatorQuad/tilejson.json").json()
    assert tilejson["tilejson"] == "3.0.0" and tilejson["tiles"][0].endswith("/{z}/{y}/{x}")
    layers = {layer["id"]: layer for layer in tilejson["vector_layers"]}
    assert layers["settlements"]["minzoom"] == 4 and "population" in layers["settlements"]["fields"]
    parcels = client.get(f"{PARCEL_TILES}/WebMercatorQuad", params={"f": "tilejson"}).json()
    assert "owner_pin" not in parcels["vector_layers"][0]["fields"]
    assert client.get("/tiles/WorldCRS84Quad/tilejson.json").status_code == 400


def test_several_collections_in_one_tile(client: httpx.Client) -> None:
    path = tile_path(BASEMAP, 7, *BISHKEK)
    one = client.get(path, params={"collections": "tt_places"})
    both = client.get(path, params={"collections": "tt_places,tt_parcels"})
    swapped = client.get(path, params={"collections": "tt_parcels,tt_places"})
    assert set(decode(one)) == {"tt_places"}
    assert set(decode(both)) == {"tt_places", "tt_parcels"}
    assert both.headers["etag"] == swapped.headers["etag"]  # one cache entry for any order
    assert swapped.headers["x-tile-cache"] == "memory"
    assert both.headers["cache-control"] == "public, max-age=60"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"collections": "tt_places,nope"}, 404),
        ({"collections": ""}, 404),
        ({"collections": "tt_places", "filter": "name = 'x'"}, 400),
        ({"collections": "tt_places", "datetime": "yesterday"}, 400),
    ],
)
def test_bad_composite_requests(client: httpx.Client, params: dict[str, str], status: int) -> None:
    response = client.get(tile_path(BASEMAP, 12, *BISHKEK), params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_datetime_filters_the_timed_layers_of_a_composite_tile(client: httpx.Client) -> None:
    both = {"collections": "tt_parcels,tt_places"}
    path = tile_path(BASEMAP, 14, *TINY)

    def names(params: dict[str, str]) -> set[str]:
        return {
            f["properties"]["name"] for f in features(client.get(path, params=params), "tt_parcels")
        }

    assert names(both) == {"big", "tiny"}
    assert names({**both, "datetime": "2023-01-01/2023-12-31"}) == {"tiny"}
    assert names({**both, "datetime": "../2022-01-01"}) == {"big"}
