"""Disaster exposure against a zone with hand-placed buildings, roads, a canal, a parcel and
sports facilities: what the process adds up when they are added equals the values
computed by hand (floor areas, residents by the documented rule, geodesic lengths)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from pyproj import Geod

from analyses import exposure
from analyses.errors import InputNotFoundError, InvalidInputError
from tests.analyses.conftest import insert, square

GEOD = Geod(ellps="WGS84")
HALF = 0.01  # the zone: a square of 0.02 degrees


def _place(tx: psycopg.Connection[Any]) -> tuple[float, float]:
    """A point well inside the largest rayon (its point on surface)."""
    row = tx.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM base.rayons "
        "ORDER BY ST_Area(geom) DESC LIMIT 1) q"
    ).fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


def _exposure(tx: psycopg.Connection[Any], zone_wkt: str) -> dict[str, Any]:
    geojson = tx.execute("SELECT ST_AsGeoJSON(ST_GeomFromText(%s))", [zone_wkt]).fetchone()
    import json

    params = exposure.parse({"geometry": json.loads(geojson[0])})
    return exposure.run(tx, params)


def _building(
    tx: psycopg.Connection[Any],
    lon: float,
    lat: float,
    use: str,
    floors: int,
    footprint: float,
    district_id: int,
) -> None:
    insert(
        tx,
        "city.buildings",
        square(lon, lat, 0.0001),
        city="Bishkek",
        district="Lenin District",
        district_id=district_id,
        address="test",
        use=use,
        floors=floors,
        height_m=3.0 * floors,
        year_built=2000,
        footprint_area_m2=footprint,
    )


def test_a_zone_counts_what_was_placed_in_it(tx: psycopg.Connection[Any]) -> None:
    lon, lat = _place(tx)
    zone = square(lon, lat, HALF)
    before = _exposure(tx, zone)["exposure"]["totals"]
    district = tx.execute("SELECT min(id) FROM city.city_districts").fetchone()[0]
    _building(tx, lon, lat, "residential", 5, 200.0, district)  # 1,000 m², 33.3 residents
    _building(tx, lon + 0.002, lat, "mixed", 2, 150.0, district)  # 300 m², 5 residents
    _building(tx, lon - 0.002, lat, "education", 3, 400.0, district)  # 1,200 m², none
    _building(tx, lon + 0.05, lat, "residential", 9, 500.0, district)  # outside
    road = f"LINESTRING({lon - 2 * HALF} {lat + 0.001}, {lon + 2 * HALF} {lat + 0.001})"
    insert(
        tx,
        "roads.roads",
        road,
        road_number="ТЕСТ-1",
        name="test",
        road_class="national",
        surface="asphalt",
        width_m=7.0,
        lanes=2,
        iri_m_per_km=5.0,
        condition="fair",
        aadt=1000,
        last_survey="2026-01-01",
        oblast="Naryn",
        length_km=3.2,
    )
    canal = f"LINESTRING({lon - 0.005} {lat - 0.003}, {lon + 0.005} {lat - 0.003})"
    insert(
        tx,
        "irrigation.irrigation_canals",
        canal,
        canal_name="test",
        canal_order="on_farm",
        capacity_m3s=0.5,
        lining="earth",
        condition="fair",
        length_km=0.8,
        source_river="test",
    )
    for dx, capacity in ((0.003, 500), (0.5, 900)):  # the second one is outside
        insert(
            tx,
            "sports.sports_facilities",
            f"POINT({lon + dx} {lat + 0.004})",
            multi=False,
            name="test",
            facility_type="gym",
            capacity=capacity,
            sections="-",
            athletes_count=10,
            owner_kind="municipal",
            oblast="Naryn",
            settlement="x",
            year_built=2000,
            condition="good",
        )
    parcel = square(lon - 0.004, lat - 0.006, 0.001)
    insert(
        tx,
        "cadastre.cadastre_parcels",
        parcel,
        cadastral_code="9-99-99-9999-9999",
        land_category="settlements",
        designated_use="individual_housing",
        area_m2=1.0,
        registered_on="2020-01-01",
    )

    after = _exposure(tx, zone)["exposure"]["totals"]
    delta = {k: after[k] - before[k] for k in after if not isinstance(after[k], dict)}
    road_km = GEOD.line_length([lon - HALF, lon + HALF], [lat + 0.001] * 2) / 1000
    canal_km = GEOD.line_length([lon - 0.005, lon + 0.005], [lat - 0.003] * 2) / 1000
    parcel_m2 = abs(
        GEOD.polygon_area_perimeter(
            [lon - 0.005, lon - 0.003, lon - 0.003, lon - 0.005],
            [lat - 0.007, lat - 0.007, lat - 0.005, lat - 0.005],
        )[0]
    )
    assert delta["buildings"] == 3
    assert delta["floorAreaM2"] == pytest.approx(2500.0, abs=0.2)
    assert delta["estimatedResidents"] == pytest.approx(1000 / 30 + 300 * 0.5 / 30, abs=0.2)
    assert delta["educationBuildings"] == 1
    assert delta["educationFloorAreaM2"] == pytest.approx(1200.0, abs=0.2)
    national = after["roadLengthKmByClass"]["national"] - before["roadLengthKmByClass"]["national"]
    assert national == pytest.approx(road_km, abs=0.005)
    assert delta["canals"] == 1
    assert delta["canalLengthKm"] == pytest.approx(canal_km, abs=0.005)
    assert delta["sportsFacilities"] == 1 and delta["sportsCapacity"] == 500
    assert delta["parcels"] == 1
    assert delta["parcelAreaM2"] == pytest.approx(parcel_m2, rel=0.002)


def test_totals_are_the_sum_of_rayons_and_features_carry_them(tx: psycopg.Connection[Any]) -> None:
    zone = tx.execute(
        "SELECT id FROM disaster.hazard_zones ORDER BY ST_Area(geom) DESC LIMIT 1"
    ).fetchone()[0]
    result = exposure.run(tx, exposure.parse({"hazardZoneId": zone}))
    totals, rayons = result["exposure"]["totals"], result["exposure"]["byRayon"]
    assert rayons, "the largest hazard zone lies in at least one rayon"
    assert totals["buildings"] == sum(r["buildings"] for r in rayons)
    assert totals["sportsFacilities"] == sum(
        o["sportsFacilities"] for o in result["exposure"]["byOblast"]
    )
    features = result["features"]["features"]
    assert len(features) == len(rayons)
    assert {f["properties"]["rayon"] for f in features} == {r["rayon"] for r in rayons}


def test_the_union_of_a_type_and_level(tx: psycopg.Connection[Any]) -> None:
    row = tx.execute(
        "SELECT hazard_type, count(*) FROM disaster.hazard_zones "
        "WHERE hazard_level = 'very_high' GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    result = exposure.run(tx, exposure.parse({"hazardType": row[0], "hazardLevel": "very_high"}))
    expected = tx.execute(
        "SELECT ST_Area(ST_Union(geom)::geography) / 1e6 FROM disaster.hazard_zones "
        "WHERE hazard_type = %s AND hazard_level = 'very_high'",
        [row[0]],
    ).fetchone()[0]
    assert result["exposure"]["totals"]["areaKm2"] == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({}, "hazardZoneId"),
        ({"hazardZoneId": 1, "hazardType": "flood"}, "hazardZoneId"),
        ({"hazardZoneId": "one"}, "hazardZoneId"),
        ({"hazardType": "tsunami"}, "hazardType"),
        ({"hazardType": "flood", "hazardLevel": "extreme"}, "hazardLevel"),
        ({"geometry": {"type": "Point", "coordinates": [74, 42]}}, "geometry"),
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                }
            },
            "geometry",
        ),
        ({"hazardZoneId": 1, "colour": "red"}, "colour"),
    ],
)
def test_bad_inputs_name_the_input(inputs: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        exposure.parse(inputs)
    assert caught.value.input == named


def test_an_unknown_zone_is_named(tx: psycopg.Connection[Any]) -> None:
    with pytest.raises(InputNotFoundError, match="hazardZoneId"):
        exposure.run(tx, exposure.parse({"hazardZoneId": 999_999_999}))
