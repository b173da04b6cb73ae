"""Request ids, problem details, CORS, security headers, body limits, rate limits."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from geoportal.security.settings import SecuritySettings
from geoportal.server.security_middleware import SecurityMiddleware
from tests.support.server import free_port, serve_asgi

PATHS = [
    "/",
    "/collections",
    "/collections/roads/items?limit=1",
    "/conformance",
    "/collections/roads/tiles/WebMercatorQuad/5/11/22",
    "/healthz",
    "/collections/nowhere/items",
    "/collections/roads/items?bbox=a,b",
]


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_has_request_id_cors_and_security_headers(
    client: httpx.Client, path: str
) -> None:
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code < 500
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors" in response.headers["content-security-policy"]
    assert "Traceback" not in response.text


def test_client_request_id_is_kept_when_well_formed(client: httpx.Client) -> None:
    kept = client.get("/healthz", headers={"X-Request-Id": "agency-42.abc"})
    assert kept.headers["x-request-id"] == "agency-42.abc"
    replaced = client.get("/healthz", headers={"X-Request-Id": "<script>" + "x" * 80})
    assert replaced.headers["x-request-id"] != "<script>" + "x" * 80


def test_preflight(client: httpx.Client) -> None:
    response = client.options(
        "/collections/roads/items",
        headers={
            "Origin": "https://maps.example.kg",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-crs, if-match",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "If-Match" in response.headers["access-control-allow-headers"]


def test_body_over_the_limit_is_413(client: httpx.Client, live_server) -> None:
    limit = live_server.settings.security.max_body_bytes
    declared = client.post(
        "/collections/roads/items",
        content=b"x" * (limit + 1),
        headers={"Content-Type": "application/json"},
    )
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    streamed = client.post(
        "/collections/roads/items",
        content=chunks(),
        headers={"Content-Type": "application/json", "X-API-Key": "gpk_000000000000_" + "A" * 43},
    )
    assert streamed.status_code in (401, 413)  # bad key refused before the body is read


async def _boom(request: Request) -> Response:
    raise RuntimeError("SELECT secret FROM restricted.agri_plot_operators")


async def _leaky(request: Request) -> Response:
    return PlainTextResponse('Traceback: psycopg error near "SELECT pin"', status_code=500)


async def _ok(request: Request) -> Response:
    return JSONResponse({"ok": True})


@pytest.fixture(scope="module")
def small_app() -> Iterator[str]:
    """A bare app behind the middleware: each request costs at least 1 ms of work, an
    address may spend 3 ms at once, then 0.1 ms a second."""
    settings = SecuritySettings(
        rate_limit_per_minute=0.006, rate_limit_burst=0.003, min_cost_ms=1.0
    )
    app = Starlette(
        routes=[Route("/boom", _boom), Route("/leaky", _leaky), Route("/ok", _ok)],
        middleware=[Middleware(SecurityMiddleware, settings=settings, authenticator=lambda: None)],
    )
    port = free_port()
    with serve_asgi(app, "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("path", ["/boom", "/leaky"])
def test_server_errors_become_problems_without_internals(small_app: str, path: str) -> None:
    response = httpx.get(small_app + path, headers={"X-Forwarded-For": path})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["requestId"] == response.headers["x-request-id"]
    assert "SELECT" not in response.text and "Traceback" not in response.text


def test_anonymous_clients_are_rate_limited(small_app: str) -> None:
    statuses = [httpx.get(small_app + "/ok").status_code for _ in range(6)]
    assert statuses[:1] == [200] and statuses[-1] == 429
    limited = httpx.get(small_app + "/ok")
    assert int(limited.headers["retry-after"]) >= 1


def test_credentials_without_an_authenticator_are_401_not_500(small_app: str) -> None:
    response = httpx.get(small_app + "/ok", headers={"X-API-Key": "gpk_x"})
    assert response.status_code == 401
