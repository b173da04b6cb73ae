"""One ASGI middleware around the whole app (pygeoapi, our routes, the fast path):

- a request id (`X-Request-Id`: the client's when well-formed, else a new one) on every
  response and in every problem;
- authentication: the caller's Identity in `scope["state"]["identity"]` (Starlette's
  `request.state.identity`) and in the `CURRENT_IDENTITY` context variable; bad credentials
  are a 401 before any handler runs;
- rate limiting of anonymous clients (token bucket per client address, in process);
- a request body size limit (413);
- CORS (`Access-Control-Allow-Origin: *` on every answer, preflight `OPTIONS` answered here);
- security headers;
- no 5xx body from below ever reaches a client: it is replaced by a problem with the request
  id (the error is logged with the same id), so no stack trace or SQL leaks.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from geoportal.problems import PROBLEM_JSON, problem_body
from geoportal.security.authn import Authenticator
from geoportal.security.errors import AuthenticationError
from geoportal.security.identity import ANONYMOUS, CURRENT_IDENTITY, Identity
from geoportal.security.settings import SecuritySettings

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ALLOWED_METHODS = "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = (
    "Accept, Accept-Language, Authorization, Content-Type, Content-Crs, "
    "If-Match, If-None-Match, X-API-Key, X-Request-Id"
)
EXPOSED_HEADERS = "ETag, Location, Link, Content-Crs, X-Request-Id, X-Tile-Cache, Retry-After"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-resource-policy", b"cross-origin"),
    (b"content-security-policy", b"frame-ancestors 'self'; base-uri 'self'; object-src 'none'"),
    (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
]
UNLIMITED_PATHS = ("/healthz", "/readyz", "/metrics")
OWN_5XX_PATHS = ("/readyz",)
"""Routes whose 5xx body is kept: /readyz's 503 names what is missing (no trace, no SQL)."""


class BodyTooLargeError(Exception):
    """The request body passed the configured limit while it was read."""


@dataclass
class TokenBuckets:
    """Requests per minute per client address, with a burst allowance (in process: each
    worker process limits on its own, so the effective limit is per worker)."""

    per_minute: int
    burst: int
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, client: str, now: float | None = None) -> float:
        """0 when the request may pass, else the seconds to wait before retrying."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        tokens, last = self.buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * rate)
        if tokens < 1.0:
            self.buckets[client] = (tokens, now)
            return (1.0 - tokens) / rate
        self.buckets[client] = (tokens - 1.0, now)
        if len(self.buckets) > 100_000:  # forget idle clients (full buckets)
            self.buckets = {k: v for k, v in self.buckets.items() if v[0] < self.burst - 1}
        return 0.0


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class SecurityMiddleware:
    """See the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        settings: SecuritySettings,
        authenticator: Callable[[], Authenticator | None],
    ) -> None:
        self.app = app
        self.settings = settings
        self.authenticator = authenticator
        self.limiter = TokenBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
        origins = settings.cors_allow_origins
        self.any_origin = "*" in origins
        self.origins = set(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        extra = self._response_headers(scope, request_id)
        reply = _Replier(send, extra, request_id, keep_5xx=scope["path"] in OWN_5XX_PATHS)
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await reply.empty(204, self._preflight_headers())
            return
        try:
            identity = await self._identity(scope)
        except AuthenticationError as exc:
            await reply.problem(401, str(exc), [(b"www-authenticate", b'Bearer realm="geoportal"')])
            return
        state["identity"] = identity
        if not identity.is_authenticated and scope["path"] not in UNLIMITED_PATHS:
            wait = self.limiter.take(self._client(scope))
            if wait > 0:
                await reply.problem(
                    429,
                    "too many requests from this address; retry later or authenticate",
                    [(b"retry-after", str(max(1, round(wait))).encode())],
                )
                return
        length = _header(scope, b"content-length")
        if length and length.isdigit() and int(length) > self.settings.max_body_bytes:
            await reply.problem(413, f"request body above {self.settings.max_body_bytes} bytes")
            return
        token = CURRENT_IDENTITY.set(identity)
        try:
            await self.app(scope, self._limited(receive), reply.send)
        except BodyTooLargeError:
            await reply.problem(413, f"request body above {self.settings.max_body_bytes} bytes")
        except Exception:
            log.exception("unhandled error (request id %s)", request_id)
            await reply.problem(500, "internal error; quote the request id when reporting it")
        finally:
            CURRENT_IDENTITY.reset(token)

    async def _identity(self, scope: Scope) -> Identity:
        authorization = _header(scope, b"authorization")
        api_key = _header(scope, b"x-api-key")
        if authorization is None and api_key is None:
            return ANONYMOUS
        authenticator = self.authenticator()
        if authenticator is None:
            raise AuthenticationError("authentication is not available (server starting)")
        return await authenticator.authenticate(authorization, api_key)

    def _client(self, scope: Scope) -> str:
        if self.settings.trust_forwarded_for:
            forwarded = _header(scope, b"x-forwarded-for")
            if forwarded:
                return forwarded.split(",")[0].strip()
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    def _limited(self, receive: Receive) -> Receive:
        limit = self.settings.max_body_bytes
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLargeError
            return message

        return wrapped

    def _allow_origin(self, scope: Scope) -> bytes | None:
        if self.any_origin:
            return b"*"
        origin = _header(scope, b"origin")
        return origin.encode() if origin and origin in self.origins else None

    def _response_headers(self, scope: Scope, request_id: str) -> list[tuple[bytes, bytes]]:
        headers = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
        origin = self._allow_origin(scope)
        if origin:
            headers += [
                (b"access-control-allow-origin", origin),
                (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
            ]
            if not self.any_origin:
                headers.append((b"vary", b"Origin"))
        if self.settings.hsts:
            headers.append((b"strict-transport-security", b"max-age=31536000"))
        return headers

    def _preflight_headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
        ]


class _Replier:
    """Sends the response of the app below, adding our headers, and replaces a 5xx body."""

    def __init__(
        self,
        send: Send,
        headers: list[tuple[bytes, bytes]],
        request_id: str,
        *,
        keep_5xx: bool = False,
    ) -> None:
        self._send = send
        self._keep_5xx = keep_5xx
        self._headers = headers
        self.request_id = request_id
        self.started = False
        self._swallow = False

    def _merge(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        ours = {name for name, _ in self._headers}
        return [(k, v) for k, v in headers if k.lower() not in ours] + self._headers

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            status = int(message["status"])
            if status >= 500 and not self._keep_5xx:
                self._swallow = True
                log.error("%s answered by the handler (request id %s)", status, self.request_id)
                await self._start(status, self._problem_headers([]))
                body = problem_body(
                    status,
                    "the server could not answer this request; quote "
                    "the request id when reporting it",
                    self.request_id,
                )
                await self._send({"type": "http.response.body", "body": json.dumps(body).encode()})
                return
            message = {**message, "headers": self._merge(list(message.get("headers", [])))}
            await self._send(message)
            return
        if self._swallow:
            return
        await self._send(message)

    def _problem_headers(self, extra: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return self._merge([(b"content-type", PROBLEM_JSON.encode()), *extra])

    async def _start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def problem(
        self, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        """Answer with a problem (only if nothing was sent yet)."""
        if self.started:
            return
        self.started = True
        await self._start(status, self._problem_headers(headers or []))
        body = json.dumps(problem_body(status, detail, self.request_id)).encode()
        await self._send({"type": "http.response.body", "body": body})

    async def empty(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """An empty answer (CORS preflight)."""
        self.started = True
        await self._start(status, self._merge(headers))
        await self._send({"type": "http.response.body", "body": b""})
