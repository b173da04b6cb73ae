"""Errors of the analyses; the server maps them to HTTP answers (400 naming the input)."""

from __future__ import annotations


class AnalysesError(Exception):
    """Base class of the analyses' errors."""


class UnknownProcessError(AnalysesError):
    """No analysis has this id."""


class InvalidInputError(AnalysesError):
    """An input of a process request is missing, malformed or out of range."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.input = name


class InputNotFoundError(InvalidInputError):
    """An input names a feature that does not exist (a hazard zone, a canal)."""


class WorkNotSurveyedError(AnalysesError):
    """The database refused to accept a road work whose road was not surveyed after it
    (the rule of migration 0021); the message names the work, the segment and the dates."""

    CONSTRAINT = "road_work_accepted_after_survey"
