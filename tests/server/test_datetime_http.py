"""`datetime=` over HTTP on temporal collections (pygeoapi compares with the configured
temporal extent, which must therefore be datetimes, not text)."""

from __future__ import annotations

import pytest

from tests.support.server import LiveServer


@pytest.mark.parametrize(
    "collection, interval",
    [
        ("irrigation_readings", "2025-07-01T00:00:00Z/2025-07-31T23:59:59Z"),
        ("irrigation_sensors", "../2020-01-01"),
        ("hazard_zones", "2023-01-01/.."),
    ],
)
def test_datetime_filters_answer(live_server: LiveServer, collection: str, interval: str) -> None:
    with live_server.client() as client:
        response = client.get(
            f"/collections/{collection}/items",
            params={"datetime": interval, "limit": 5, "f": "json"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["features"]
        extent = client.get(f"/collections/{collection}", params={"f": "json"}).json()
        begin, end = extent["extent"]["temporal"]["interval"][0]
        assert begin < end and begin.startswith("20")


def test_readings_in_july_are_in_july(live_server: LiveServer) -> None:
    with live_server.client() as client:
        body = client.get(
            "/collections/irrigation_readings/items",
            params={
                "datetime": "2025-07-01T00:00:00Z/2025-07-31T23:59:59Z",
                "sensor_id": 1,
                "limit": 100,
                "f": "json",
            },
        ).json()
    times = [f["properties"]["observed_at"] for f in body["features"]]
    assert times and all(t.startswith("2025-07") for t in times)
    assert {f["properties"]["sensor_id"] for f in body["features"]} == {1}
