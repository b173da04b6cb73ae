"""Property-based requests generated from our OpenAPI document (schemathesis): whatever the
parameters, the server answers without a 5xx and without internals, with a documented status
and media type, and with a body that matches the documented schema.

Bounded to keep the run short: the landing page, conformance, the collection list, the GET
operations of a few collections that cover the cases (a polygon layer with a restricted
table beside it, points, a table without geometry, the catalogue records), and the GET
routes of our own families (tiles, search, health, viewer configuration, audit, cadastre), a few
examples per operation. The PMTiles download and the HTML previews render for seconds and
are left to their own tests. Schemathesis' pytest plugin does not run on our pytest, so
Hypothesis drives its strategies directly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.server import LiveServer

COLLECTIONS = ("agri_plots", "sports_facilities", "agri_plot_seasons", "catalogue")
PATHS = re.compile(
    r"^/(|conformance|collections|collections/(" + "|".join(COLLECTIONS) + r")(/.*)?"
    r"|collections/\{collectionId\}/tiles.*|tiles.*|search|geocode|reverse"
    r"|healthz|readyz|map/config\.json"
    r"|audit|cadastre/.*|processes(/[a-z-]+)?)$"
)
EXAMPLES = 10
CHECKS = [response_schema_conformance, content_type_conformance, status_code_conformance]
KNOWN_DEFECTS = (
    # pygeoapi 0.24's templates/collections/items/index.jsonld leaves a trailing comma after
    # "@id" when a page has no features: the JSON-LD of an empty page is not JSON.
    re.compile(r"/items\?.*f=jsonld.*JSON deserialization error"),
)


def _titles(group: BaseExceptionGroup) -> list[str]:
    """One line per failure of a group: its title and the first lines of its message."""
    return [" / ".join(str(exc).split("\n")[:4]) for exc in group.exceptions]


def _is_known(failure: str) -> bool:
    return any(defect.search(failure) for defect in KNOWN_DEFECTS)


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from [value] if key == "$ref" else _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def offline(document: dict[str, Any]) -> dict[str, Any]:
    """The served document, checked to need no network: every `$ref` is local (the document
    is self-contained; other tests take their schemathesis-ready document from here)."""
    external = sorted({ref for ref in _references(document) if not ref.startswith("#/")})
    assert external == [], external
    return document


def _operations(live_server: LiveServer) -> list[schemathesis.APIOperation]:
    document = httpx.get(f"{live_server.url}/openapi", params={"f": "json"}, timeout=60).json()
    schema = schemathesis.openapi.from_dict(offline(document))
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.method.upper() == "GET" and PATHS.match(op.path)]


def test_answers_conform_to_the_document(live_server: LiveServer) -> None:
    operations = _operations(live_server)
    assert len(operations) >= 20
    failures: list[str] = []
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                response = client.get(
                    case.formatted_path,
                    params=case.query or None,
                    headers={k: str(v).strip() for k, v in (case.headers or {}).items()},
                )
                where = f"{response.status_code} {response.request.url}"
                if response.status_code >= 500 or "Traceback" in response.text:
                    failures.append(where)
                    return
                try:
                    case.validate_response(response, checks=CHECKS)
                except BaseExceptionGroup as group:  # schemathesis' FailureGroup: keep all
                    found = (f"{where}: {failure}" for failure in _titles(group))
                    failures.extend(f for f in found if not _is_known(f))

            check()
    assert failures == [], "\n".join(failures)
