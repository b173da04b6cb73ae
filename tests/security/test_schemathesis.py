"""Property-based requests generated from our OpenAPI document (schemathesis): whatever the
parameters, the server answers without a 5xx and without internals.

Bounded to keep the run short: the landing page, conformance, the collection list and the
GET operations of a few collections that cover the cases (a polygon layer with a restricted
table beside it, points, a table without geometry, the catalogue records), 10 examples per
operation. Schemathesis' pytest plugin does not run on our pytest, so Hypothesis drives its
strategies directly."""

from __future__ import annotations

import re
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.server import LiveServer

COLLECTIONS = ("agri_plots", "sports_facilities", "agri_plot_seasons", "catalogue")
PATHS = re.compile(
    r"^/(|conformance|collections|collections/(" + "|".join(COLLECTIONS) + r")(/.*)?)$"
)
EXAMPLES = 10


def _external_parameter(ref: str, path: str) -> dict[str, Any]:
    """A stand-in for a parameter defined in an OGC document on the internet."""
    name = ref.rsplit("/", 1)[-1].removesuffix(".yaml")
    where = "path" if "{" + name + "}" in path else "query"
    kind = "integer" if name in ("tileRow", "tileCol") else "string"
    return {"name": name, "in": where, "required": where == "path", "schema": {"type": kind}}


def offline(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its references to OGC documents on the internet replaced by
    permissive stand-ins (no network in tests). The served document still has them: making
    it self-contained (CONVENTIONS) is separate work."""

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                if "/parameters/" in ref:
                    return _external_parameter(ref, path)
                if "/responses/" in ref:
                    return {"description": ref.rsplit("/", 1)[-1]}
                return {}
            return {key: walk(value, path) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item, path) for item in node]
        return node

    paths = {path: walk(item, path) for path, item in document.get("paths", {}).items()}
    return {**walk({k: v for k, v in document.items() if k != "paths"}, ""), "paths": paths}


def _operations(live_server: LiveServer) -> list[schemathesis.APIOperation]:
    document = httpx.get(f"{live_server.url}/openapi", params={"f": "json"}, timeout=60).json()
    schema = schemathesis.openapi.from_dict(offline(document))
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.method.upper() == "GET" and PATHS.match(op.path)]


def test_no_server_errors(live_server: LiveServer) -> None:
    operations = _operations(live_server)
    assert len(operations) >= 12
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
                    headers={k: str(v) for k, v in (case.headers or {}).items()},
                )
                if response.status_code >= 500 or "Traceback" in response.text:
                    failures.append(f"{response.status_code} {response.request.url}")

            check()
    assert failures == []
