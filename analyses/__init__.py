"""Analyses of the national layers, served as OGC API Processes.

One module per analysis, each a chain of small typed steps: `parse` checks a request's
inputs (raising `InvalidInputError` naming the input), `run` reads the database through the
connection it is given and returns plain JSON-able results. `catalogue.PROCESSES` lists them
with their OGC API Processes descriptions. This package imports neither `geoportal` nor
pygeoapi: the server (`geoportal/pygeoapi_/processes.py`) and the job kinds
(`geoportal/job_kinds.py`) adapt it.
"""

from analyses.catalogue import PROCESSES, Process, get_process
from analyses.errors import AnalysesError, InputNotFoundError, InvalidInputError

__all__ = [
    "PROCESSES",
    "AnalysesError",
    "InputNotFoundError",
    "InvalidInputError",
    "Process",
    "get_process",
]
