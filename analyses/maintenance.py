"""Road maintenance plan (RAMS): the treatments that maximise benefit within a budget.

Each candidate is (segment, work type) where the treatment model applies (`treatments.py`):
cost = unit cost (work type, surface, IRI band) x length, benefit = AADT x length x IRI
reduction. A mixed-integer programme (`scipy.optimize.milp`, HiGHS) chooses at most one
treatment per segment, total cost within the budget, maximum total benefit. The same
programme with a budget larger by `budgetStepPercent` gives the marginal benefit of money.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from analyses import inputs as check
from analyses import treatments
from analyses.errors import InvalidInputError

PROCESS_ID = "road-maintenance-plan"
OBLASTS = ("Bishkek", "Chuy", "Ysyk-Köl", "Naryn", "Batken", "Jalal-Abad", "Talas", "Osh")
ROAD_CLASSES = ("international", "national", "local", "urban")
MAX_CANDIDATES = 400_000
SOLVER_TIME_LIMIT_S = 120.0

_COST_TABLE_SCHEMA = {
    "type": "object",
    "description": "workType -> surface -> IRI band (good, fair, poor, very_poor) -> som/km",
    "additionalProperties": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": {"type": "number", "exclusiveMinimum": 0},
        },
    },
}

DESCRIPTION: dict[str, Any] = {
    "version": "1.0.0",
    "id": PROCESS_ID,
    "title": "Road maintenance plan (RAMS)",
    "description": (
        "Chooses at most one treatment (a road_works work type) per road segment to maximise "
        "the total benefit within a budget, with scipy.optimize.milp. Cost = unit cost (by "
        "work type, surface and IRI band = the segment's condition) x length. Benefit = AADT "
        "x length (km) x IRI reduction (m/km), the IRI after a work type given by the "
        "treatment model. Default treatment model, IRI after (paved / unpaved m/km): "
        + "; ".join(
            f"{work} {groups['paved']:g} / {groups['unpaved']:g}"
            for work, groups in treatments.IRI_AFTER.items()
        )
        + ". Default unit costs are the unitCosts input's default. Both may be overridden. "
        "Returns the plan, its totals and the marginal benefit of a budget larger by "
        "budgetStepPercent."
    ),
    "keywords": ["roads", "RAMS", "maintenance", "IRI", "optimisation"],
    "jobControlOptions": ["sync-execute", "async-execute"],
    "outputTransmission": ["value"],
    "inputs": {
        "budgetKgs": {
            "title": "Budget (som)",
            "schema": {"type": "number", "exclusiveMinimum": 0},
            "minOccurs": 1,
            "maxOccurs": 1,
        },
        "unitCosts": {
            "title": "Unit costs (som per km)",
            "description": "Replaces the default table as a whole.",
            "schema": {**_COST_TABLE_SCHEMA, "default": treatments.UNIT_COSTS},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "treatmentModel": {
            "title": "IRI after each work type (m/km)",
            "description": "workType -> {paved, unpaved} -> IRI after; over the defaults.",
            "schema": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "paved": {"type": "number", "minimum": 1, "maximum": 20},
                        "unpaved": {"type": "number", "minimum": 1, "maximum": 20},
                    },
                },
                "default": treatments.IRI_AFTER,
            },
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "oblast": {
            "title": "Only the segments of this oblast",
            "schema": {"type": "string", "enum": list(OBLASTS)},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "roadClasses": {
            "title": "Only these road classes",
            "schema": {"type": "array", "items": {"type": "string", "enum": list(ROAD_CLASSES)}},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "roadNumbers": {
            "title": "Only these roads (road numbers)",
            "schema": {"type": "array", "items": {"type": "string"}},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "roadIds": {
            "title": "Only these segments (feature ids of roads)",
            "schema": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "budgetStepPercent": {
            "title": "Budget step for the marginal benefit (%)",
            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 100, "default": 10},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "plan": {
            "title": "The plan, its totals and the marginal benefit of a larger budget",
            "schema": {
                "type": "object",
                "contentMediaType": "application/json",
                "properties": {
                    "treatments": {"type": "array", "items": {"type": "object"}},
                    "totals": {"type": "object"},
                    "byWorkType": {"type": "object"},
                    "marginal": {"type": "object"},
                },
            },
        }
    },
    "example": {"inputs": {"budgetKgs": 500_000_000, "oblast": "Chuy"}},
}


@dataclass(frozen=True)
class Candidate:
    """One (segment, work type) the model allows."""

    segment: Mapping[str, Any]
    work_type: str
    iri_after: float
    cost: float
    benefit: float


def parse(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Budget, cost table, model and segment filters of a request.

    Raises:
        InvalidInputError: naming the input.
    """
    check.reject_unknown(inputs, DESCRIPTION["inputs"])
    return {
        "budgetKgs": check.number(inputs, "budgetKgs", minimum=0, exclusive_minimum=True),
        "unitCosts": treatments.parse_unit_costs(inputs.get("unitCosts")),
        "treatmentModel": treatments.parse_iri_after(inputs.get("treatmentModel")),
        "oblast": check.choice(inputs, "oblast", OBLASTS),
        "roadClasses": check.choices(inputs, "roadClasses", ROAD_CLASSES),
        "roadNumbers": check.text_list(inputs, "roadNumbers"),
        "roadIds": check.id_list(inputs, "roadIds"),
        "budgetStepPercent": check.number(
            inputs,
            "budgetStepPercent",
            default=10.0,
            minimum=0,
            maximum=100,
            exclusive_minimum=True,
        ),
    }


def read_segments(conn: psycopg.Connection[Any], params: Mapping[str, Any]) -> list[dict]:
    """The road segments the filters of `params` select (all of them without filters)."""
    where: list[sql.Composable] = [sql.SQL("true")]
    values: list[Any] = []
    if params.get("oblast"):
        where.append(sql.SQL("oblast = %s"))
        values.append(params["oblast"])
    for column, key in (
        ("road_class", "roadClasses"),
        ("road_number", "roadNumbers"),
        ("id", "roadIds"),
    ):
        if params.get(key):
            where.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(column)))
            values.append(list(params[key]))
    query = sql.SQL(
        "SELECT id, road_number, road_class, surface, condition, iri_m_per_km, aadt, length_km "
        "FROM roads.roads WHERE {} ORDER BY id"
    ).format(sql.SQL(" AND ").join(where))
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, values)
        return cur.fetchall()


def candidates(
    segments: Sequence[Mapping[str, Any]],
    unit_costs: Mapping[str, Mapping[str, Mapping[str, float]]],
    iri_after: Mapping[str, Mapping[str, float]],
) -> list[Candidate]:
    """Every (segment, work type) with a unit cost for the segment's surface and band, an
    IRI after in the model, and a positive benefit."""
    found = []
    for segment in segments:
        group = treatments.surface_group(segment["surface"])
        for work, by_surface in unit_costs.items():
            unit = by_surface.get(segment["surface"], {}).get(segment["condition"])
            after = iri_after.get(work, {}).get(group)
            if unit is None or after is None or after >= segment["iri_m_per_km"]:
                continue
            length = float(segment["length_km"])
            benefit = float(segment["aadt"]) * length * (float(segment["iri_m_per_km"]) - after)
            if benefit > 0:
                found.append(Candidate(segment, work, after, unit * length, benefit))
    if len(found) > MAX_CANDIDATES:
        raise InvalidInputError(
            "roadIds", f"{len(found)} candidate treatments; narrow the segments (oblast, ...)"
        )
    return found


def solve(options: Sequence[Candidate], budget: float) -> tuple[list[int], bool]:
    """Indices of the chosen candidates (at most one per segment, cost within `budget`,
    benefit maximal) and whether HiGHS proved the plan optimal."""
    from scipy import sparse  # SciPy only when a plan is solved (in a worker)
    from scipy.optimize import Bounds, LinearConstraint, milp

    affordable = [i for i, c in enumerate(options) if c.cost <= budget]
    if not affordable:
        return [], True
    chosen = [options[i] for i in affordable]
    segment_row: dict[int, int] = {}
    rows = [segment_row.setdefault(c.segment["id"], len(segment_row)) for c in chosen]
    n = len(chosen)
    one_per_segment = sparse.csr_array(
        (np.ones(n), (np.array(rows), np.arange(n))), shape=(len(segment_row), n)
    )
    costs = np.array([c.cost for c in chosen])
    result = milp(
        c=-np.array([c.benefit for c in chosen]),
        constraints=[
            LinearConstraint(one_per_segment, -np.inf, 1),
            LinearConstraint(costs.reshape(1, -1), -np.inf, budget),
        ],
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
        options={"time_limit": SOLVER_TIME_LIMIT_S, "mip_rel_gap": 1e-9},
    )
    if result.x is None:
        return [], False
    picked = [affordable[i] for i in np.flatnonzero(result.x > 0.5)]
    return picked, bool(result.status == 0)


def _entry(c: Candidate) -> dict[str, Any]:
    s = c.segment
    return {
        "roadId": s["id"],
        "roadNumber": s["road_number"],
        "roadClass": s["road_class"],
        "surface": s["surface"],
        "iriBand": s["condition"],
        "lengthKm": round(float(s["length_km"]), 3),
        "aadt": s["aadt"],
        "iriBefore": float(s["iri_m_per_km"]),
        "iriAfter": c.iri_after,
        "workType": c.work_type,
        "costKgs": round(c.cost, 2),
        "benefit": round(c.benefit, 3),
    }


def run(
    conn: psycopg.Connection[Any], params: Mapping[str, Any], progress: Any = None
) -> dict[str, Any]:
    """The plan for `params` (from `parse`); see the module's docstring."""
    segments = read_segments(conn, params)
    options = candidates(segments, params["unitCosts"], params["treatmentModel"])
    if progress:
        progress(20, f"{len(options)} candidate treatments on {len(segments)} segments")
    budget = float(params["budgetKgs"])
    picked, optimal = solve(options, budget)
    if progress:
        progress(60, "plan found; solving with a larger budget")
    larger = budget * (1 + float(params["budgetStepPercent"]) / 100)
    picked_larger, optimal_larger = solve(options, larger)
    plan = [options[i] for i in picked]
    benefit = sum(c.benefit for c in plan)
    larger_benefit = sum(options[i].benefit for i in picked_larger)
    by_work: dict[str, dict[str, float]] = {}
    for c in plan:
        work = by_work.setdefault(c.work_type, {"segments": 0, "lengthKm": 0.0, "costKgs": 0.0})
        work["segments"] += 1
        work["lengthKm"] += float(c.segment["length_km"])
        work["costKgs"] += c.cost
    cost = sum(c.cost for c in plan)
    return {
        "plan": {
            "treatments": [_entry(c) for c in sorted(plan, key=lambda c: c.segment["id"])],
            "totals": {
                "budgetKgs": budget,
                "costKgs": round(cost, 2),
                "unspentKgs": round(budget - cost, 2),
                "benefit": round(benefit, 3),
                "segments": len(plan),
                "lengthKm": round(sum(float(c.segment["length_km"]) for c in plan), 3),
                "candidateSegments": len(segments),
                "candidateTreatments": len(options),
                "optimal": optimal,
            },
            "byWorkType": {
                work: {k: round(v, 3) for k, v in values.items()}
                for work, values in sorted(by_work.items())
            },
            "marginal": {
                "budgetKgs": larger,
                "benefit": round(larger_benefit, 3),
                "marginalBenefitPerKgs": (larger_benefit - benefit) / (larger - budget),
                "marginalBenefitPerMillionKgs": round(
                    (larger_benefit - benefit) / (larger - budget) * 1e6, 6
                ),
                "optimal": optimal_larger,
            },
            "benefitUnit": "vehicle-km per day x m/km of IRI reduction",
        }
    }
