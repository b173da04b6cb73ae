"""The route families we serve beside pygeoapi, each described by one function.

To document a new family (`/jobs`, `/ingest`, `/downloads/{format}`, `/stac`,
`/cadastre/...`): add a module here whose function takes the `RouteContext` and returns its
`Operation`s (response schemas in `schemas.py`), list the function in `FAMILIES`, and run
`tests/server/test_openapi.py` and `tests/security/test_schemathesis.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from geoportal.server.openapi.context import RouteContext
from geoportal.server.openapi.families.cadastre import cadastre
from geoportal.server.openapi.families.exports import exports
from geoportal.server.openapi.families.geocoding import geocoding
from geoportal.server.openapi.families.ingest import ingest
from geoportal.server.openapi.families.jobs import jobs
from geoportal.server.openapi.families.processes import processes
from geoportal.server.openapi.families.raster import raster_tiles
from geoportal.server.openapi.families.server import audit, health, search
from geoportal.server.openapi.families.stac import stac
from geoportal.server.openapi.families.tiles import downloads, tiles
from geoportal.server.openapi.families.viewer import viewer
from geoportal.server.openapi.families.writes import writes
from geoportal.server.openapi.model import Operation

Family = Callable[[RouteContext], list[Operation]]

FAMILIES: tuple[Family, ...] = (
    health,
    writes,
    audit,
    processes,
    jobs,
    ingest,
    search,
    geocoding,
    tiles,
    raster_tiles,
    stac,
    downloads,
    exports,
    viewer,
    cadastre,
)
"""Every family, in the order their paths appear in the document."""
