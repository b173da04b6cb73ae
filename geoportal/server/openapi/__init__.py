"""The OpenAPI document of the geoportal (`/openapi`, `/api`): pygeoapi's, corrected, plus
every route family we serve beside it, self-contained (the OGC components it refers to are
vendored in `ogc/` and inlined at build time). See `document.py`."""

from geoportal.server.openapi.document import build_document

__all__ = ["build_document"]
