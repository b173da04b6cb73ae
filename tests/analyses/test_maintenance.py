"""The road maintenance plan against brute force on a small network: every assignment of at
most one treatment per segment is tried, the best one within the budget is the plan's."""

from __future__ import annotations

import itertools
from typing import Any

import psycopg
import pytest

from analyses import maintenance, treatments
from analyses.errors import InvalidInputError


def _segments(tx: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Seven segments of different surfaces and bands (the worst first)."""
    rows = tx.execute(
        "SELECT DISTINCT ON (surface, condition) id, surface, condition, iri_m_per_km, aadt, "
        "length_km FROM roads.roads WHERE condition <> 'good' AND aadt > 0 "
        "ORDER BY surface, condition, iri_m_per_km DESC, id"
    ).fetchall()
    keys = ("id", "surface", "condition", "iri", "aadt", "length_km")
    return [dict(zip(keys, row, strict=True)) for row in rows][:7]


def _options(segment: dict[str, Any]) -> list[tuple[str | None, float, float]]:
    """(work type, cost, benefit) of each treatment of a segment, and doing nothing, by hand
    from the documented default tables."""
    group = "paved" if segment["surface"] in ("asphalt", "concrete") else "unpaved"
    found: list[tuple[str | None, float, float]] = [(None, 0.0, 0.0)]
    for work, by_surface in treatments.UNIT_COSTS.items():
        unit = by_surface[segment["surface"]].get(segment["condition"])
        after = treatments.IRI_AFTER[work][group]
        if unit is not None and after < segment["iri"]:
            km = segment["length_km"]
            found.append((work, unit * km, segment["aadt"] * km * (segment["iri"] - after)))
    return found


def _brute_force(segments: list[dict[str, Any]], budget: float) -> float:
    best = 0.0
    for plan in itertools.product(*(_options(s) for s in segments)):
        if sum(cost for _, cost, _ in plan) <= budget:
            best = max(best, sum(benefit for _, _, benefit in plan))
    return best


@pytest.mark.parametrize("share", [0.15, 0.4, 0.8])
def test_the_plan_is_the_brute_force_optimum(tx: psycopg.Connection[Any], share: float) -> None:
    segments = _segments(tx)
    assert len(segments) >= 5
    most = sum(max(cost for _, cost, _ in _options(s)) for s in segments)
    budget = share * most
    params = maintenance.parse({"budgetKgs": budget, "roadIds": [s["id"] for s in segments]})
    plan = maintenance.run(tx, params)["plan"]
    assert plan["totals"]["benefit"] == pytest.approx(_brute_force(segments, budget), rel=1e-6)
    assert plan["totals"]["costKgs"] <= budget + 1e-6
    assert len({t["roadId"] for t in plan["treatments"]}) == len(plan["treatments"])
    larger = budget * 1.1
    marginal = plan["marginal"]
    assert marginal["benefit"] == pytest.approx(_brute_force(segments, larger), rel=1e-6)
    assert marginal["marginalBenefitPerKgs"] == pytest.approx(
        (marginal["benefit"] - plan["totals"]["benefit"]) / (larger - budget)
    )


def test_a_caller_s_model_and_costs_replace_the_defaults(tx: psycopg.Connection[Any]) -> None:
    segment = _segments(tx)[0]
    costs = {"resurfacing": {segment["surface"]: {segment["condition"]: 1_000.0}}}
    model = {"resurfacing": {"paved": 1.5, "unpaved": 1.5}}
    params = maintenance.parse(
        {
            "budgetKgs": 1_000.0 * segment["length_km"] + 1,
            "roadIds": [segment["id"]],
            "unitCosts": costs,
            "treatmentModel": model,
        }
    )
    [chosen] = maintenance.run(tx, params)["plan"]["treatments"]
    assert chosen["workType"] == "resurfacing" and chosen["iriAfter"] == 1.5
    assert chosen["benefit"] == pytest.approx(
        segment["aadt"] * segment["length_km"] * (segment["iri"] - 1.5), rel=1e-6
    )


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({}, "budgetKgs"),
        ({"budgetKgs": -5}, "budgetKgs"),
        ({"budgetKgs": "lots"}, "budgetKgs"),
        ({"budgetKgs": 1e6, "unitCosts": {"painting": {}}}, "unitCosts"),
        ({"budgetKgs": 1e6, "unitCosts": {"resurfacing": {"asphalt": {"poor": -1}}}}, "unitCosts"),
        ({"budgetKgs": 1e6, "treatmentModel": {"resurfacing": {"paved": 40}}}, "treatmentModel"),
        ({"budgetKgs": 1e6, "oblast": "Atlantis"}, "oblast"),
        ({"budgetKgs": 1e6, "roadClasses": ["motorway"]}, "roadClasses"),
        ({"budgetKgs": 1e6, "roadIds": [0]}, "roadIds"),
        ({"budgetKgs": 1e6, "budgetStepPercent": 0}, "budgetStepPercent"),
    ],
)
def test_bad_inputs_name_the_input(inputs: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        maintenance.parse(inputs)
    assert caught.value.input == named
