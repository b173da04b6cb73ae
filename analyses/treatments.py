"""The default treatment model and unit costs of the road maintenance plan (RAMS).

IRI bands are the roads layer's `condition` classes (paved: good <= 4, fair <= 6,
poor <= 10 m/km, very_poor above; unpaved gravel and earth: 8, 12, 16). A treatment applies
to a segment when a unit cost is given for its work type, the segment's surface and its
band, and when it lowers the segment's roughness.

IRI after a work type (m/km), by surface group, from the acceptance values the roads
department records (`road_works.acceptance_iri_m_per_km`, mid-range):

| work type | paved | unpaved |
| --- | --- | --- |
| periodic_maintenance | 3.5 | 7.0 |
| resurfacing | 2.5 | 6.0 |
| rehabilitation | 2.2 | 5.0 |
| reconstruction | 2.0 | 4.5 |

Benefit of a treatment = AADT (vehicles/day) x segment length (km) x IRI reduction (m/km):
vehicle-km a day driven on a road smoother by that much, the quantity vehicle operating
cost savings are proportional to (HDM-4 makes them nearly linear in IRI in this range).
Emergency repairs are not planned (no default unit cost); a caller may give one.

Unit costs (som per km, 2026 prices) are the mid-range of the roads department's recent
contracts by work type, halved for unpaved roads, higher in worse bands (more base repair).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyses.errors import InvalidInputError

WORK_TYPES = (
    "periodic_maintenance",
    "resurfacing",
    "rehabilitation",
    "reconstruction",
    "emergency_repair",
)
SURFACES = ("asphalt", "concrete", "gravel", "earth")
PAVED = ("asphalt", "concrete")
BANDS = ("good", "fair", "poor", "very_poor")

IRI_AFTER: dict[str, dict[str, float]] = {
    "periodic_maintenance": {"paved": 3.5, "unpaved": 7.0},
    "resurfacing": {"paved": 2.5, "unpaved": 6.0},
    "rehabilitation": {"paved": 2.2, "unpaved": 5.0},
    "reconstruction": {"paved": 2.0, "unpaved": 4.5},
}
"""Default IRI after each work type (m/km), by surface group."""

_PAVED_COSTS = {
    "periodic_maintenance": {"good": 3.0e6, "fair": 4.5e6, "poor": 6.5e6},
    "resurfacing": {"fair": 14e6, "poor": 20e6, "very_poor": 26e6},
    "rehabilitation": {"poor": 55e6, "very_poor": 70e6},
    "reconstruction": {"very_poor": 120e6},
}
UNIT_COSTS: dict[str, dict[str, dict[str, float]]] = {
    work: {
        surface: {band: cost * (1.0 if surface in PAVED else 0.5) for band, cost in by_band.items()}
        for surface in SURFACES
    }
    for work, by_band in _PAVED_COSTS.items()
}
"""Default unit cost (som per km): work type -> surface -> IRI band -> cost."""


def surface_group(surface: str) -> str:
    """`paved` (asphalt, concrete) or `unpaved` (gravel, earth)."""
    return "paved" if surface in PAVED else "unpaved"


def parse_unit_costs(value: Any, name: str = "unitCosts") -> dict[str, dict[str, dict[str, float]]]:
    """The caller's unit costs (work type -> surface -> band -> som per km), or the defaults.

    Raises:
        InvalidInputError: an unknown work type, surface or band, or a cost that is not a
            positive number.
    """
    if value is None:
        return UNIT_COSTS
    if not isinstance(value, Mapping) or not value:
        raise InvalidInputError(name, "expected {workType: {surface: {band: somPerKm}}}")
    costs: dict[str, dict[str, dict[str, float]]] = {}
    for work, by_surface in value.items():
        _known(name, work, WORK_TYPES, "work type")
        if not isinstance(by_surface, Mapping):
            raise InvalidInputError(name, f"{work}: expected {{surface: {{band: somPerKm}}}}")
        for surface, by_band in by_surface.items():
            _known(name, surface, SURFACES, "surface")
            if not isinstance(by_band, Mapping):
                raise InvalidInputError(name, f"{work}.{surface}: expected {{band: somPerKm}}")
            for band, cost in by_band.items():
                _known(name, band, BANDS, "IRI band")
                if isinstance(cost, bool) or not isinstance(cost, int | float) or cost <= 0:
                    raise InvalidInputError(
                        name, f"{work}.{surface}.{band}: expected a positive cost, got {cost!r}"
                    )
                costs.setdefault(work, {}).setdefault(surface, {})[band] = float(cost)
    return costs


def parse_iri_after(value: Any, name: str = "treatmentModel") -> dict[str, dict[str, float]]:
    """The caller's IRI after each work type (work type -> {paved, unpaved} -> m/km), over
    the defaults (a work type not given keeps its default).

    Raises:
        InvalidInputError: unknown work type or group, or an IRI outside 1-20 m/km.
    """
    model = {work: dict(groups) for work, groups in IRI_AFTER.items()}
    if value is None:
        return model
    if not isinstance(value, Mapping) or not value:
        raise InvalidInputError(name, "expected {workType: {paved: iri, unpaved: iri}}")
    for work, groups in value.items():
        _known(name, work, WORK_TYPES, "work type")
        if not isinstance(groups, Mapping) or not groups:
            raise InvalidInputError(name, f"{work}: expected {{paved: iri, unpaved: iri}}")
        for group, iri in groups.items():
            _known(name, group, ("paved", "unpaved"), "surface group")
            if isinstance(iri, bool) or not isinstance(iri, int | float) or not 1 <= iri <= 20:
                raise InvalidInputError(
                    name, f"{work}.{group}: expected an IRI from 1 to 20 m/km, got {iri!r}"
                )
            model.setdefault(work, {})[group] = float(iri)
    return model


def _known(name: str, value: Any, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InvalidInputError(name, f"unknown {what} {value!r}; expected one of {list(allowed)}")
