"""One ASGI middleware around the whole app (pygeoapi, our routes, the fast path):

- a request id (`X-Request-Id`: the client's when well-formed, else a new one) on every
  response and in every problem;
- authentication: the caller's Identity in `scope["state"]["identity"]` (Starlette's
  `request.state.identity`) and in the `CURRENT_IDENTITY` context variable; bad credentials
  are a 401 before any handler runs;
- the rate limit of work (`rate_limit.py`): per anonymous address, per key, failed
  authentications per address; 429 problem with `Retry-After`;
- a request body size limit (413): `max_body_bytes`, or the path's own limit in
  `body_limits` (`POST /ingest` streams uploads up to `uploads.max_bytes` to disk);
- CORS, decided here alone from `cors_allow_origins` (headers from below are dropped),
  preflight `OPTIONS` answered here;
- security headers;
- one error shape: every 4xx/5xx answer from below (pygeoapi's `{"code", "description"}`,
  Starlette's plain text, our problems) leaves as the problem JSON of `errors.py`; no 5xx body
  from below ever reaches a client (it is logged with the request id), so no stack trace or
  SQL leaks.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from geoportal.errors import (
    GENERIC_DETAIL,
    PROBLEM_JSON,
    normalize_error_body,
    problem_body,
    status_of,
)
from geoportal.security.authn import Authenticator
from geoportal.security.errors import AuthenticationError
from geoportal.security.identity import ANONYMOUS, CURRENT_IDENTITY, Identity
from geoportal.security.settings import SecuritySettings
from geoportal.server.logs import REQUEST_ID as REQUEST_ID_VAR
from geoportal.server.rate_limit import Budget, WorkLimiter, retry_after

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ALLOWED_METHODS = "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = (
    "Accept, Accept-Language, Authorization, Content-Type, Content-Crs, "
    "If-Match, If-None-Match, X-API-Key, X-Request-Id"
)
EXPOSED_HEADERS = (
    "ETag, Location, Link, Content-Crs, Content-Disposition, X-Request-Id, X-Tile-Cache, "
    "X-Tile-Count, Retry-After"
)
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
"""Routes whose 5xx problem is kept as they wrote it: /readyz's 503 names what is missing
(migrations, the database), never a trace or SQL."""
STATIC_PREFIXES = ("/map/static/", "/map/vendor/", "/static/", "/favicon.ico")
"""Files served as they are: charged `cheap_cost_ms`, never refused."""


class BodyTooLargeError(Exception):
    """The request body passed the configured limit while it was read."""


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
        limiter: WorkLimiter | None = None,
        body_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.body_limits = dict(body_limits or {})
        self.authenticator = authenticator
        self.limiter = limiter or WorkLimiter(settings)
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
        REQUEST_ID_VAR.set(request_id)  # on this request's log records (JSON logs)
        reply = _Replier(send, self._response_headers(scope, request_id), request_id, scope)
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await reply.empty(204, self._preflight_headers(scope))
            return
        path = scope["path"]
        limited = self.limiter.enabled and path not in UNLIMITED_PATHS
        limited = limited and not path.startswith(STATIC_PREFIXES)
        identity = await self._authenticate(scope, reply, limited)
        if identity is None:
            return
        state["identity"] = identity
        payer = self._payer(scope, identity) if limited else None
        if payer is not None and await self._refused(reply, *payer, "this client"):
            return
        body_limit = self.body_limits.get(path, self.settings.max_body_bytes)
        length = _header(scope, b"content-length")
        if length and length.isdigit() and int(length) > body_limit:
            await reply.problem(413, f"request body above {body_limit} bytes")
            return
        token = CURRENT_IDENTITY.set(identity)
        mark = self.limiter.clock.start()
        try:
            await self.app(scope, self._limited(receive, body_limit), reply.send)
        except BodyTooLargeError:
            await reply.problem(413, f"request body above {body_limit} bytes")
        except Exception as exc:
            status = status_of(exc)[0]
            log.exception("unhandled error (request id %s)", request_id)
            await reply.problem(status, GENERIC_DETAIL.get(status, GENERIC_DETAIL[500]))
        finally:
            CURRENT_IDENTITY.reset(token)
            work_s = self.limiter.clock.end(mark)
            if payer is not None:
                self.limiter.charge(*payer, self._cost_ms(scope, reply, work_s))

    async def _authenticate(self, scope: Scope, reply: _Replier, limited: bool) -> Identity | None:
        """The caller; None when answered (401, or 429 for an address that failed too often)."""
        has_credentials = _header(scope, b"authorization") or _header(scope, b"x-api-key")
        if not has_credentials:
            return ANONYMOUS
        failures = self.limiter.auth_failures(self._client(scope))
        if limited and await self._refused(reply, *failures, "failed authentications from"):
            return None
        try:
            return await self._identity(scope)
        except AuthenticationError as exc:
            if limited:
                self.limiter.charge(*failures, self.settings.auth_failure_cost_s * 1000)
            await reply.problem(401, str(exc), [(b"www-authenticate", b'Bearer realm="geoportal"')])
            return None

    def _payer(self, scope: Scope, identity: Identity) -> tuple[str, Budget] | None:
        if identity.is_authenticated:
            return self.limiter.of_identity(identity)
        return self.limiter.anonymous(self._client(scope))

    async def _refused(self, reply: _Replier, bucket: str, budget: Budget, who: str) -> bool:
        wait = self.limiter.wait_s(bucket, budget)
        if wait <= 0:
            return False
        await reply.problem(
            429,
            f"{who} used more server time than its share; retry after "
            f"{retry_after(wait)} s (an API key has its own quota)",
            [(b"retry-after", retry_after(wait).encode())],
        )
        return True

    def _cost_ms(self, scope: Scope, reply: _Replier, work_s: float) -> float:
        if reply.status == 304 or reply.tile_source not in (None, b"database"):
            return self.settings.cheap_cost_ms
        if reply.status == 429:
            return 0.0
        if scope.get("path") in self.body_limits:
            # a streamed upload lasts as long as the client's network, not our work: the
            # load itself runs in a worker (a key's quota would otherwise be spent waiting)
            return self.settings.min_cost_ms
        return max(self.settings.min_cost_ms, work_s * 1000)

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

    def _limited(self, receive: Receive, limit: int) -> Receive:
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

    def _response_headers(self, scope: Scope, request_id: str) -> Headers:
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

    def _preflight_headers(self, scope: Scope) -> Headers:
        if self._allow_origin(scope) is None:
            return []
        return [
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
        ]


def _merge(below: Headers, ours: Headers) -> Headers:
    """Headers from below without CORS (decided here alone) and without those we set; `Vary`
    values joined."""
    names = {name for name, _ in ours}
    vary = [v for k, v in below if k.lower() == b"vary"] + [v for k, v in ours if k == b"vary"]
    kept = [
        (k, v)
        for k, v in below
        if k.lower() not in names
        and k.lower() != b"vary"
        and not k.lower().startswith(b"access-control-")
    ]
    ours = [(k, v) for k, v in ours if k != b"vary"]
    return kept + ours + ([(b"vary", b", ".join(vary))] if vary else [])


class _Replier:
    """Sends the response of the app below with our headers, in the one error shape."""

    def __init__(self, send: Send, headers: Headers, request_id: str, scope: Scope) -> None:
        self._send = send
        self._headers = headers
        self.request_id = request_id
        self.path = str(scope.get("path", ""))
        self._head = scope.get("method") == "HEAD"
        self.started = False
        self.status = 0
        self.tile_source: bytes | None = None
        self._error: Message | None = None  # the start of an error answer being reshaped
        self._chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = int(message["status"])
            headers = list(message.get("headers", []))
            self.tile_source = next((v for k, v in headers if k.lower() == b"x-tile-cache"), None)
            if self.status >= 400 and not self._head:
                self._error = {**message, "headers": headers}
                return
            await self._send({**message, "headers": _merge(headers, self._headers)})
            return
        if self._error is None or message["type"] != "http.response.body":
            await self._send(message)
            return
        self._chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self._send_error()

    async def _send_error(self) -> None:
        assert self._error is not None
        start, body = self._error, b"".join(self._chunks)
        headers = list(start["headers"])
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        if self.status >= 500:
            log.error("%s answered by the handler (request id %s)", self.status, self.request_id)
        shaped = (
            None
            if self.path in OWN_5XX_PATHS
            else normalize_error_body(
                self.status, body, content_type.decode("latin-1"), self.request_id, self.path
            )
        )
        if shaped is not None:
            drop = (b"content-type", b"content-length", b"content-encoding")
            headers = [(k, v) for k, v in headers if k.lower() not in drop]
            headers += [(b"content-type", PROBLEM_JSON.encode())]
            headers += [(b"content-length", str(len(shaped)).encode())]
            body = shaped
        await self._send({**start, "headers": _merge(headers, self._headers)})
        await self._send({"type": "http.response.body", "body": body})

    async def problem(self, status: int, detail: str, headers: Headers | None = None) -> None:
        """Answer with a problem (only if nothing was sent yet)."""
        if self.started and self._error is None:
            return
        self.started, self.status, self._error = True, status, None
        body = json.dumps(
            problem_body(status, detail, self.request_id, instance=self.path or None)
        ).encode()
        extra = [(b"content-type", PROBLEM_JSON.encode()), *(headers or [])]
        if status == 503:
            extra.append((b"retry-after", b"5"))
        await self._start(status, _merge(extra, self._headers))
        await self._send({"type": "http.response.body", "body": body})

    async def _start(self, status: int, headers: Headers) -> None:
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def empty(self, status: int, headers: Headers) -> None:
        """An empty answer (CORS preflight)."""
        self.started = True
        await self._start(status, _merge([], self._headers) + headers)
        await self._send({"type": "http.response.body", "body": b""})
