"""Irrigation demand of a hand-made canal with known plots, crops and flow readings, in a
place with no demo plot or canal nearby; expectations computed by hand from FAO-56."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from analyses import irrigation
from analyses.errors import InputNotFoundError, InvalidInputError
from tests.analyses.conftest import insert, square

ET0, EFFICIENCY = 6.0, 0.8
MAIZE_M3 = 1.2 * ET0 * 30 * 10 * 10  # mid-season all June, 10 ha: 21,600 m³
POTATO_M3 = 0.5 * ET0 * 21 * 5 * 10  # sown 10 June, initial stage 21 days, 5 ha: 3,150 m³
FAR_MAIZE_M3 = 1.2 * ET0 * 30 * 2 * 10  # the far plot, 2 ha: 4,320 m³
SUPPLIED_M3 = 0.012 * 30 * 86_400  # mean of the good June readings of the head gauge


def _remote(tx: psycopg.Connection[Any]) -> tuple[float, float]:
    row = tx.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM base.rayons) q "
        "WHERE NOT EXISTS (SELECT FROM agriculture.agri_plots a "
        "                  WHERE a.geom && ST_Expand(q.p, 0.15)) "
        "AND NOT EXISTS (SELECT FROM irrigation.irrigation_canals c "
        "                WHERE c.geom && ST_Expand(q.p, 0.15)) "
        "ORDER BY ST_Y(p) LIMIT 1"
    ).fetchone()
    assert row is not None, "no rayon without plots and canals around its middle"
    return float(row[0]), float(row[1])


def _plot(tx: psycopg.Connection[Any], lon: float, lat: float, irrigated: bool = True) -> int:
    return insert(
        tx,
        "agriculture.agri_plots",
        square(lon, lat, 0.001),
        plot_code=f"T-{lon:.4f}-{lat:.4f}",
        farm_name="test",
        area_ha=4.0,
        soil_type="serozem",
        irrigation="irrigated" if irrigated else "rain_fed",
        oblast="Naryn",
        rayon="test",
        elevation_m=1500,
    )


def _season(tx: psycopg.Connection[Any], plot: int, crop: str, sown: str, ha: float) -> None:
    insert(
        tx,
        "agriculture.agri_plot_seasons",
        plot_id=plot,
        year=2026,
        season="spring",
        crop=crop,
        sowing_date=sown,
        sown_area_ha=ha,
        fertiliser="none",
        fertiliser_kg_ha=0,
        pesticide="none",
        pesticide_l_ha=0,
    )


@pytest.fixture
def canal(tx: psycopg.Connection[Any]) -> dict[str, Any]:
    """Canal A with two served plots, a rain-fed one, a far one, and two flow gauges."""
    lon, lat = _remote(tx)
    a = insert(
        tx,
        "irrigation.irrigation_canals",
        f"LINESTRING({lon} {lat}, {lon + 0.02} {lat})",
        canal_name="test A",
        canal_order="inter_farm",
        capacity_m3s=1.0,
        lining="earth",
        condition="fair",
        length_km=1.6,
        source_river="test",
    )
    maize, potato = _plot(tx, lon + 0.005, lat + 0.003), _plot(tx, lon + 0.015, lat - 0.004)
    _season(tx, maize, "maize", "2026-03-15", 10.0)
    _season(tx, potato, "potato", "2026-06-10", 5.0)
    _season(tx, _plot(tx, lon + 0.01, lat + 0.002, irrigated=False), "maize", "2026-03-15", 3.0)
    far = _plot(tx, lon + 0.005, lat + 0.03)
    _season(tx, far, "maize", "2026-03-15", 2.0)
    for code, flows in (
        ("T-HEAD", [(0.010, "good"), (0.014, "good"), (5.0, "suspect")]),
        ("T-TAIL", [(0.004, "good")]),
    ):
        sensor = insert(
            tx,
            "irrigation.irrigation_sensors",
            f"POINT({lon} {lat})",
            multi=False,
            sensor_code=code,
            sensor_type="flow",
            canal_id=a,
            installed="2020-01-01",
            status="active",
        )
        for day, (flow, flag) in enumerate(flows, 1):
            insert(
                tx,
                "irrigation.irrigation_readings",
                sensor_id=sensor,
                quality_flag=flag,
                observed_at=f"2026-06-{day:02d}T12:00:00+06:00",
                flow_m3s=flow,
            )
        insert(
            tx,
            "irrigation.irrigation_readings",
            sensor_id=sensor,
            quality_flag="good",
            observed_at="2026-07-01T00:30:00+06:00",
            flow_m3s=9.0,
        )  # July in Bishkek
    wua = insert(
        tx,
        "irrigation.water_user_associations",
        square(lon + 0.01, lat, 0.008),
        name="test",
        registration_number="T-1",
        members_count=3,
        service_area_ha=15.0,
        oblast="Naryn",
        rayon="test",
    )
    return {"id": a, "far": far, "wua": wua}


def _run(tx: psycopg.Connection[Any], **inputs: Any) -> dict[str, Any]:
    base = {"month": "2026-06", "et0MmPerDay": ET0, "efficiency": EFFICIENCY}
    return irrigation.run(tx, irrigation.parse({**base, **inputs}))["demand"]


def test_a_canal_s_demand_supply_and_deficit(tx: psycopg.Connection[Any], canal: dict) -> None:
    [result] = _run(tx, canalId=canal["id"])["canals"]
    assert result["plots"] == 2
    assert result["netDemandM3"] == pytest.approx(MAIZE_M3 + POTATO_M3, abs=0.1)
    assert result["grossDemandM3"] == pytest.approx((MAIZE_M3 + POTATO_M3) / EFFICIENCY, abs=0.1)
    assert result["suppliedM3"] == pytest.approx(SUPPLIED_M3, abs=0.1)
    assert result["deficitM3"] == pytest.approx(
        (MAIZE_M3 + POTATO_M3) / EFFICIENCY - SUPPLIED_M3, abs=0.2
    )
    readings = {s["sensorCode"]: s["readings"] for s in result["sensors"]}
    assert readings == {"T-HEAD": 2, "T-TAIL": 1}


def test_a_declared_link_serves_a_far_plot(tx: psycopg.Connection[Any], canal: dict) -> None:
    links = [{"plotId": canal["far"], "canalId": canal["id"]}]
    [result] = _run(tx, canalId=canal["id"], plotLinks=links)["canals"]
    assert result["plots"] == 3
    assert result["netDemandM3"] == pytest.approx(MAIZE_M3 + POTATO_M3 + FAR_MAIZE_M3, abs=0.1)


def test_an_association_s_canals(tx: psycopg.Connection[Any], canal: dict) -> None:
    demand = _run(tx, wuaId=canal["wua"])
    assert [c["canalId"] for c in demand["canals"]] == [canal["id"]]
    assert demand["totals"]["grossDemandM3"] == pytest.approx(
        (MAIZE_M3 + POTATO_M3) / EFFICIENCY, abs=0.1
    )


def test_unknown_canal_and_association_are_named(tx: psycopg.Connection[Any]) -> None:
    for name in ("canalId", "wuaId"):
        with pytest.raises(InputNotFoundError, match=name):
            _run(tx, **{name: 999_999_999})


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"month": "2026-06", "et0MmPerDay": 5}, "canalId"),
        ({"canalId": 1, "wuaId": 1, "month": "2026-06", "et0MmPerDay": 5}, "canalId"),
        ({"canalId": 1, "month": "June", "et0MmPerDay": 5}, "month"),
        ({"canalId": 1, "month": "2026-13", "et0MmPerDay": 5}, "month"),
        ({"canalId": 1, "month": "2026-06"}, "et0MmPerDay"),
        ({"canalId": 1, "month": "2026-06", "et0MmPerDay": 0}, "et0MmPerDay"),
        ({"canalId": 1, "month": "2026-06", "et0MmPerDay": 5, "efficiency": 1.5}, "efficiency"),
        (
            {"canalId": 1, "month": "2026-06", "et0MmPerDay": 5, "plotLinks": [{"plotId": 1}]},
            "plotLinks",
        ),
    ],
)
def test_bad_inputs_name_the_input(inputs: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        irrigation.parse(inputs)
    assert caught.value.input == named
