"""One error shape on every route family, ours and pygeoapi's: RFC 9457 problem JSON with the
OGC exception's `code` and `description` and the `requestId`, as `application/problem+json`;
database messages never reach the client."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route

from geoportal.errors import ERRORS, register, status_of
from geoportal.security.settings import SecuritySettings
from geoportal.server.security_middleware import SecurityMiddleware
from tests.support.server import free_port, serve_asgi

FIELDS = {"type", "title", "status", "detail", "instance", "code", "description", "requestId"}
FEATURE = {"type": "Feature", "geometry": None, "properties": {}}
CASES = [  # (family, method, path, key user, body, expected status)
    ("pygeoapi collection", "GET", "/collections/nowhere", None, None, 404),
    ("pygeoapi items", "GET", "/collections/roads/items?filter=id%20%3E%3E%3E", None, None, 400),
    ("fast path items", "GET", "/collections/roads/items?bbox=a,b", None, None, 400),
    ("fast path item", "GET", "/collections/oblasts/items/987654321", None, None, 404),
    ("tiles", "GET", "/collections/roads/tiles/WebMercatorQuad/99/0/0", None, None, 404),
    ("basemap", "GET", "/tiles/WebMercatorQuad/99/0/0", None, None, 404),
    ("tileset", "GET", "/collections/nowhere/tiles/WebMercatorQuad", None, None, 404),
    ("search", "GET", "/search", None, None, 400),
    ("downloads", "GET", "/downloads/pmtiles?layers=nowhere", None, None, 400),
    ("viewer", "GET", "/collections/nowhere/preview", None, None, 404),
    ("writes 401", "POST", "/collections/roads/items", None, FEATURE, 401),
    ("writes 403", "POST", "/collections/roads/items", "sports.editor", FEATURE, 403),
    ("writes 400", "POST", "/collections/roads/items", "roads.editor", {"type": "x"}, 400),
    ("audit 401", "GET", "/audit", None, None, 401),
    ("audit 403", "GET", "/audit", "roads.editor", None, 403),
    ("bad key 401", "GET", "/collections", "bad-key", None, 401),
    ("unknown route 404", "GET", "/no/such/route", None, None, 404),
    ("405", "DELETE", "/collections", None, None, 405),
]


def assert_problem(answer: httpx.Response, status: int) -> dict:
    """The answer is a problem of `status` in the one shape."""
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert FIELDS <= set(body), sorted(FIELDS - set(body))
    assert body["status"] == status and body["detail"] and body["description"]
    assert body["requestId"] == answer.headers["x-request-id"]
    assert body["instance"].startswith("/") and isinstance(body["code"], str)
    for leak in ("Traceback", "psycopg", "SELECT", 'File "'):
        assert leak not in answer.text
    return body


@pytest.mark.parametrize(("family", "method", "path", "user", "body", "status"), CASES)
def test_every_route_family_answers_one_problem_shape(
    client: httpx.Client,
    api_keys: dict[str, str],
    family: str,
    method: str,
    path: str,
    user: str | None,
    body: dict | None,
    status: int,
) -> None:
    headers = {"Accept": "application/json"}
    if user:
        headers["X-API-Key"] = api_keys.get(user, "gpk_000000000000_" + "A" * 43)
    content = json.dumps(body).encode() if body is not None else None
    if content is not None:
        headers["Content-Type"] = "application/geo+json"
    answer = client.request(method, path, headers=headers, content=content)
    assert_problem(answer, status)


def test_a_body_over_the_limit_is_a_413_problem(client: httpx.Client, live_server) -> None:
    limit = live_server.settings.security.max_body_bytes
    answer = client.post(
        "/collections/roads/items",
        content=b"x" * (limit + 1),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(answer, 413)


class _EngineError(Exception):
    """Stands for an exception class another package registers (the features engine)."""


async def _engine_fails(request: object) -> JSONResponse:
    raise _EngineError("no such thing 'x'")


async def _database_fails(request: object) -> JSONResponse:
    import psycopg

    raise psycopg.errors.UndefinedColumn('column "secret_pin" does not exist')


def test_429_and_registered_classes_take_the_same_shape() -> None:
    register(_EngineError, 404, "NotFound")  # the one-liner another package uses
    try:
        assert status_of(_EngineError()) == (404, "NotFound")
        # 1 ms of work a second, 20 ms at once, each request at least 1 ms
        settings = SecuritySettings(
            rate_limit_per_minute=0.06, rate_limit_burst=0.02, min_cost_ms=1.0
        )
        app = Starlette(
            routes=[Route("/engine", _engine_fails), Route("/db", _database_fails)],
            middleware=[
                Middleware(SecurityMiddleware, settings=settings, authenticator=lambda: None)
            ],
        )
        port = free_port()
        with serve_asgi(app, "127.0.0.1", port), httpx.Client() as client:
            url = f"http://127.0.0.1:{port}"
            assert assert_problem(client.get(url + "/engine"), 404)["code"] == "NotFound"
            database = assert_problem(client.get(url + "/db"), 500)
            assert "secret_pin" not in json.dumps(database)
            statuses = []
            for _ in range(100):  # at most 20 more requests of 1 ms pass
                limited = client.get(url + "/engine")
                statuses.append(limited.status_code)
                if limited.status_code == 429:
                    break
            body = assert_problem(limited, 429)
            assert body["code"] == "TooManyRequests" and int(limited.headers["retry-after"]) >= 1
    finally:
        ERRORS.pop(_EngineError, None)
