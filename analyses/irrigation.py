"""Irrigation demand of a canal or a water users' association for a month (FAO-56).

Crop water demand of a plot = mean Kc over the month (by crop and growth stage from its
sowing date, `crops.py`) x ET0 (mm/day, the month's mean reference evapotranspiration,
given by the caller) x days x sown area; 1 mm on 1 ha is 10 m³. The gross demand divides
by the irrigation efficiency (conveyance and field application, default 1: net demand).

Plots served by a canal: the declared links of the request (`plotLinks`), else the rule of
`sql/irrigation_plots.sql`: an irrigated plot is served by its nearest canal when that lies
within `serviceDistanceM` (default 2,000 m, the size of the demo's service units). For a
water users' association: its area's plots, served by the canals crossing it.

Supplied volume of a canal: the largest mean flow among its flow sensors over the month
(the head gauge carries the whole canal; readings flagged `good` only) x the seconds of the
month. Deficit = gross demand - supplied volume (positive: too little water), null when no
sensor of the canal has a reading in the month. Months are calendar months in Asia/Bishkek.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import dict_row

from analyses import crops
from analyses import inputs as check
from analyses.errors import InputNotFoundError, InvalidInputError
from analyses.sql import statement

PROCESS_ID = "irrigation-demand"
BISHKEK = dt.timezone(dt.timedelta(hours=6), "Asia/Bishkek")
M3_PER_MM_HA = 10.0
MAX_LINKS = 10_000

DESCRIPTION: dict[str, Any] = {
    "version": "1.0.0",
    "id": PROCESS_ID,
    "title": "Irrigation demand and deficit per canal",
    "description": (
        "For a canal (canalId) or a water users' association (wuaId): the crop water "
        "demand of the plots it serves in a month (FAO-56: mean Kc by crop and growth stage "
        "from the sowing date x ET0 given in mm/day x days x sown area; gross = net / "
        "efficiency) against the volume measured by the canal's flow sensors (the largest "
        "monthly mean flow among them x seconds), and the deficit per canal. Plots are "
        "linked to canals by plotLinks where given, else an irrigated plot is served by its "
        "nearest canal within serviceDistanceM."
    ),
    "keywords": ["irrigation", "FAO-56", "crop water demand", "canals"],
    "jobControlOptions": ["sync-execute", "async-execute"],
    "outputTransmission": ["value"],
    "inputs": {
        "canalId": {
            "title": "Canal id (irrigation_canals)",
            "schema": {"type": "integer", "minimum": 1},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "wuaId": {
            "title": "Water users' association id (water_user_associations)",
            "schema": {"type": "integer", "minimum": 1},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "month": {
            "title": "Month (YYYY-MM)",
            "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "minOccurs": 1,
            "maxOccurs": 1,
        },
        "et0MmPerDay": {
            "title": "Reference evapotranspiration ET0 (mm/day, mean of the month)",
            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 20},
            "minOccurs": 1,
            "maxOccurs": 1,
        },
        "efficiency": {
            "title": "Irrigation efficiency (0-1]",
            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 1},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "serviceDistanceM": {
            "title": "Largest distance from a plot to the canal serving it (m)",
            "schema": {"type": "number", "minimum": 1, "maximum": 20000, "default": 2000},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "plotLinks": {
            "title": "Declared links of plots to canals",
            "schema": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"plotId": {"type": "integer"}, "canalId": {"type": "integer"}},
                    "required": ["plotId", "canalId"],
                },
            },
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "demand": {
            "title": "Demand, supply and deficit per canal",
            "schema": {
                "type": "object",
                "contentMediaType": "application/json",
                "properties": {
                    "month": {"type": "string"},
                    "canals": {"type": "array", "items": {"type": "object"}},
                    "totals": {"type": "object"},
                },
            },
        }
    },
    "example": {"inputs": {"canalId": 1, "month": "2026-07", "et0MmPerDay": 6.5}},
}


def parse(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Canal or association, month, ET0, efficiency, distance and links of a request.

    Raises:
        InvalidInputError: naming the input.
    """
    check.reject_unknown(inputs, DESCRIPTION["inputs"])
    given = [name for name in ("canalId", "wuaId") if name in inputs]
    if len(given) != 1:
        raise InvalidInputError("canalId", "give exactly one of canalId or wuaId")
    first = check.month(inputs, "month")
    return {
        given[0]: check.integer(inputs, given[0]),
        "month": first.strftime("%Y-%m"),
        "et0MmPerDay": check.number(
            inputs, "et0MmPerDay", minimum=0, maximum=20, exclusive_minimum=True
        ),
        "efficiency": check.number(
            inputs, "efficiency", default=1.0, minimum=0, maximum=1, exclusive_minimum=True
        ),
        "serviceDistanceM": check.number(
            inputs, "serviceDistanceM", default=2000.0, minimum=1, maximum=20000
        ),
        "plotLinks": _links(inputs.get("plotLinks")),
    }


def _links(value: Any) -> list[list[int]]:
    if value is None:
        return []
    if not isinstance(value, list) or not value or len(value) > MAX_LINKS:
        raise InvalidInputError("plotLinks", f"expected a list of 1 to {MAX_LINKS} links")
    links = []
    for link in value:
        ids = [link.get(k) if isinstance(link, Mapping) else None for k in ("plotId", "canalId")]
        if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 1 for i in ids):
            raise InvalidInputError("plotLinks", f"expected {{plotId, canalId}} ids, got {link!r}")
        links.append([int(i) for i in ids])  # type: ignore[arg-type]
    return links


def target_canals(conn: psycopg.Connection[Any], params: Mapping[str, Any]) -> list[dict]:
    """The canals of the request (id, name, order, capacity).

    Raises:
        InputNotFoundError: no such canal or association (or an association no canal crosses).
    """
    with conn.cursor(row_factory=dict_row) as cur:
        if "canalId" in params:
            cur.execute(
                "SELECT c.id, c.canal_name, c.canal_order, c.capacity_m3s "
                "FROM irrigation.irrigation_canals c WHERE c.id = %s",
                [params["canalId"]],
            )
            rows = cur.fetchall()
            if not rows:
                raise InputNotFoundError("canalId", f"no canal {params['canalId']}")
            return rows
        if not cur.execute(
            "SELECT 1 FROM irrigation.water_user_associations WHERE id = %s", [params["wuaId"]]
        ).fetchone():
            raise InputNotFoundError("wuaId", f"no water users' association {params['wuaId']}")
        cur.execute(
            "SELECT c.id, c.canal_name, c.canal_order, c.capacity_m3s "
            "FROM irrigation.irrigation_canals c "
            "JOIN irrigation.water_user_associations w ON ST_Intersects(c.geom, w.geom) "
            "WHERE w.id = %s ORDER BY c.id",
            [params["wuaId"]],
        )
        return cur.fetchall()


def month_bounds(month: str) -> tuple[dt.date, int]:
    """First day and number of days of a `YYYY-MM` month."""
    first = dt.datetime.strptime(month, "%Y-%m").date()
    return first, calendar.monthrange(first.year, first.month)[1]


def run(
    conn: psycopg.Connection[Any], params: Mapping[str, Any], progress: Any = None
) -> dict[str, Any]:
    """Demand, supply and deficit per canal for `params` (from `parse`)."""
    canals = target_canals(conn, params)
    first, days = month_bounds(params["month"])
    ids = [c["id"] for c in canals]
    links = params.get("plotLinks") or []
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            statement("irrigation_plots"),
            {
                "canal_ids": ids,
                "wua_id": params.get("wuaId"),
                "distance_m": params["serviceDistanceM"],
                "link_plots": [plot for plot, _ in links],
                "link_canals": [canal for _, canal in links],
                "month_end": first + dt.timedelta(days=days - 1),
            },
        )
        plots = cur.fetchall()
        start = dt.datetime.combine(first, dt.time(), BISHKEK)
        cur.execute(
            statement("irrigation_flows"),
            {
                "canal_ids": ids,
                "month_start": start,
                "month_next": start + dt.timedelta(days=days),
            },
        )
        sensors = cur.fetchall()
    if progress:
        progress(60, f"{len(plots)} plot seasons on {len(canals)} canals")
    return {"demand": _summary(params, canals, plots, sensors, first, days)}


def _plot_demands(
    plots: list[dict], params: Mapping[str, Any], first: dt.date, days: int
) -> dict[int, dict[int, dict[str, Any]]]:
    """canal id -> plot id -> {areaHa, declared, crops, netDemandM3}."""
    by_canal: dict[int, dict[int, dict[str, Any]]] = {}
    for row in plots:
        plot = by_canal.setdefault(row["canal_id"], {}).setdefault(
            row["plot_id"],
            {
                "plotId": row["plot_id"],
                "areaHa": float(row["area_ha"]),
                "declaredLink": row["declared"],
                "crops": [],
                "netDemandM3": 0.0,
            },
        )
        if row["crop"] is None or row["sowing_date"] is None:
            continue
        kc = crops.mean_kc(row["crop"], row["season"], row["sowing_date"], first, days)
        if kc > 0:
            volume = kc * params["et0MmPerDay"] * days * float(row["sown_area_ha"]) * M3_PER_MM_HA
            plot["crops"].append({"crop": row["crop"], "meanKc": round(kc, 4)})
            plot["netDemandM3"] += volume
    return by_canal


def _summary(
    params: Mapping[str, Any],
    canals: list[dict],
    plots: list[dict],
    sensors: list[dict],
    first: dt.date,
    days: int,
) -> dict[str, Any]:
    seconds = days * 86_400
    by_canal = _plot_demands(plots, params, first, days)
    results = []
    for canal in canals:
        served = list(by_canal.get(canal["id"], {}).values())
        net = sum(p["netDemandM3"] for p in served)
        gross = net / params["efficiency"]
        gauges = [s for s in sensors if s["canal_id"] == canal["id"]]
        measured = [float(s["mean_flow_m3s"]) for s in gauges if s["readings"]]
        supplied = max(measured) * seconds if measured else None
        results.append(
            {
                "canalId": canal["id"],
                "canalName": canal["canal_name"],
                "canalOrder": canal["canal_order"],
                "plots": len(served),
                "irrigatedAreaHa": round(sum(p["areaHa"] for p in served), 4),
                "netDemandM3": round(net, 1),
                "grossDemandM3": round(gross, 1),
                "requiredMeanFlowM3s": round(gross / seconds, 6),
                "suppliedM3": round(supplied, 1) if supplied is not None else None,
                "deficitM3": round(gross - supplied, 1) if supplied is not None else None,
                "sensors": [
                    {
                        "sensorId": s["sensor_id"],
                        "sensorCode": s["sensor_code"],
                        "readings": s["readings"],
                        "meanFlowM3s": float(s["mean_flow_m3s"]) if s["readings"] else None,
                    }
                    for s in gauges
                ],
                "servedPlots": [{**p, "netDemandM3": round(p["netDemandM3"], 1)} for p in served],
            }
        )
    measured_canals = [r for r in results if r["deficitM3"] is not None]
    return {
        "month": params["month"],
        "days": days,
        "et0MmPerDay": params["et0MmPerDay"],
        "efficiency": params["efficiency"],
        "canals": results,
        "totals": {
            "canals": len(results),
            "plots": sum(r["plots"] for r in results),
            "grossDemandM3": round(sum(r["grossDemandM3"] for r in results), 1),
            "suppliedM3": round(sum(r["suppliedM3"] for r in measured_canals), 1),
            "deficitM3": round(sum(r["deficitM3"] for r in measured_canals), 1),
            "canalsWithoutReadings": len(results) - len(measured_canals),
        },
    }
