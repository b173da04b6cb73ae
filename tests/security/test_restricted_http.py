"""Personal data at the HTTP level: no response of the public API carries, selects, filters,
sorts or reveals by error message a restricted value or field."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from geoportal.db.database import Database
from tests.support.server import LiveServer

RESTRICTED_FIELDS = {
    "agri_plots": ["operator_name", "operator_pin", "operator_phone"],
    "cadastre_parcels": ["holder_name", "holder_pin", "right_type", "share"],
}


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def secrets(loaded: Database) -> dict[str, tuple[int, list[str]]]:
    """Per layer: one feature id with personal data, and that feature's personal values."""
    with psycopg.connect(loaded.owner_conninfo) as conn:
        plot = conn.execute(
            "SELECT feature_id, operator_name, operator_pin, operator_phone "
            "FROM restricted.agri_plot_operators WHERE operator_phone IS NOT "
            "NULL ORDER BY feature_id LIMIT 1"
        ).fetchone()
        parcel = conn.execute(
            "SELECT feature_id, holder_name, holder_pin FROM "
            "restricted.cadastre_right_holders ORDER BY feature_id "
            "LIMIT 1"
        ).fetchone()
    assert plot and parcel
    return {
        "agri_plots": (plot[0], list(plot[1:])),
        "cadastre_parcels": (parcel[0], list(parcel[1:])),
    }


def assert_nothing_leaked(response: httpx.Response, values: list[str]) -> None:
    """No personal value (other than what the request itself sent, which links echo) and no
    restricted field name (other than one the request named) is in the response."""
    sent = str(response.request.url)
    for value in values:
        if httpx.QueryParams({"v": value})["v"] in httpx.URL(sent).params.multi_items().__str__():
            continue
        assert value not in response.text
    for names in RESTRICTED_FIELDS.values():
        for name in names:
            if name not in sent:
                assert f'"{name}"' not in response.text


@pytest.mark.parametrize("layer", sorted(RESTRICTED_FIELDS))
def test_items_and_item_carry_no_personal_data(
    client: httpx.Client, layer: str, secrets: dict
) -> None:
    fid, values = secrets[layer]
    for path in (f"/collections/{layer}/items/{fid}", f"/collections/{layer}/items"):
        response = client.get(path, params={"f": "json", "limit": 50})
        assert response.status_code == 200
        assert_nothing_leaked(response, values)
    queryables = client.get(f"/collections/{layer}/queryables", params={"f": "json"})
    schema = client.get(f"/collections/{layer}/schema", params={"f": "json"})
    for response in (queryables, schema):
        assert_nothing_leaked(response, values)


@pytest.mark.parametrize("layer", sorted(RESTRICTED_FIELDS))
@pytest.mark.parametrize("param", ["filter", "sortby", "properties", "field"])
def test_restricted_fields_are_refused_not_evaluated(
    client: httpx.Client, layer: str, param: str, secrets: dict
) -> None:
    """A filter that would reveal a PIN by inference (match or no match) is a 400, the same
    400 as for a field that does not exist: the answer does not depend on the value."""
    fid, values = secrets[layer]
    field = RESTRICTED_FIELDS[layer][1]
    pin = values[1]
    requests = {
        "filter": [
            {"filter": f"{field} = '{pin}'"},
            {"filter": f"{field} LIKE '2%'"},
            {"filter": f"{field} = '{pin}'", "filter-lang": "cql2-text"},
        ],
        "sortby": [{"sortby": field}, {"sortby": f"-{field}"}],
        "properties": [{"properties": field}, {"properties": f"{field},id"}],
        "field": [{field: pin}],
    }[param]
    for params in requests:
        response = client.get(f"/collections/{layer}/items", params={"f": "json", **params})
        if param == "field":  # unknown query parameters are ignored by OGC API Features
            assert response.status_code == 200
            plain = client.get(f"/collections/{layer}/items", params={"f": "json"})
            assert [f["id"] for f in response.json()["features"]] == [
                f["id"] for f in plain.json()["features"]
            ]
        else:
            assert response.status_code == 400, (params, response.text)
        assert_nothing_leaked(response, values)
        unknown = client.get(
            f"/collections/{layer}/items",
            params={
                "f": "json",
                **{k: v.replace(field, "no_such_field") for k, v in params.items() if k != field},
            },
        )
        if param != "field":
            assert unknown.status_code == response.status_code


@pytest.mark.parametrize("layer", sorted(RESTRICTED_FIELDS))
def test_search_and_q_do_not_match_personal_data(
    client: httpx.Client, layer: str, secrets: dict
) -> None:
    _, values = secrets[layer]
    for value in values[:2]:
        response = client.get(f"/collections/{layer}/items", params={"f": "json", "q": value})
        assert response.status_code == 200
        assert response.json()["numberReturned"] == 0


def test_tiles_carry_no_personal_data(
    client: httpx.Client, loaded: Database, secrets: dict
) -> None:
    import mapbox_vector_tile
    import morecantile

    with psycopg.connect(loaded.owner_conninfo) as conn:
        for layer, schema in (("agri_plots", "agriculture"), ("cadastre_parcels", "cadastre")):
            fid, values = secrets[layer]
            point = conn.execute(
                f"SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom)"
                f" c FROM {schema}.{layer} WHERE id = %s) p",
                [fid],
            ).fetchone()
            assert point is not None
            tile = morecantile.tms.get("WebMercatorQuad").tile(point[0], point[1], 15)
            response = client.get(
                f"/collections/{layer}/tiles/WebMercatorQuad/15/{tile.y}/{tile.x}"
            )
            assert response.status_code == 200
            decoded = mapbox_vector_tile.decode(response.content)
            properties = [f["properties"] for lyr in decoded.values() for f in lyr["features"]]
            assert properties
            for props in properties:
                assert not set(RESTRICTED_FIELDS[layer]) & set(props)
                assert not set(map(str, props.values())) & set(values)
