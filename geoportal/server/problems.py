"""Problem details of our routes: kept as the import path of older modules; everything lives
in `geoportal.server.errors` (the one error table and shape)."""

from __future__ import annotations

from geoportal.server.errors import (
    CODES,
    PROBLEM_JSON,
    TITLES,
    HTTPProblem,
    problem_body,
    problem_response,
    route_problem,
)

__all__ = [
    "CODES",
    "PROBLEM_JSON",
    "TITLES",
    "HTTPProblem",
    "problem_body",
    "problem_response",
    "route_problem",
]
