"""pygeoapi's HTML pages with our own copies of their browser libraries instead of CDNs.

pygeoapi's templates load Bootstrap, Leaflet, Swagger UI and a few Leaflet plugins from
unpkg, jsDelivr and cdnjs. Government networks are often closed, and the geoportal fetches
nothing from the internet at run time, so this layer rewrites those URLs in every HTML page
pygeoapi renders to the same files served from the npm packages the setup installs
(`browser-libs/package.json`, served under `/map/vendor/`). Tags that only serve browsers of
another age (html5shiv for Internet Explorer 8) or web fonts are dropped.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

VENDOR_PREFIX = "/map/vendor"

# https://unpkg.com/leaflet@1.3.1/dist/leaflet.js, https://cdn.jsdelivr.net/npm/redoc@latest/...
_NPM_CDN = re.compile(
    r"https://(?:unpkg\.com|cdn\.jsdelivr\.net/npm)/"
    r"(?P<package>(?:@[\w.-]+/)?[\w.-]+?)(?:@[\w.^~-]+)?/(?P<path>[^\"'\s?#]*)"
)
# cdnjs keeps Leaflet's files at the top of the version folder; npm keeps them in dist/
_CDNJS_LEAFLET = re.compile(r"https://cdnjs\.cloudflare\.com/ajax/libs/leaflet/[\d.]+/")
_DROPPED = re.compile(
    r"<script[^>]*src=\"https://cdnjs\.cloudflare\.com/ajax/libs/html5shiv/[^\"]*\"[^>]*>\s*"
    r"</script>|<link[^>]*href=\"https://fonts\.googleapis\.com/[^\"]*\"[^>]*>"
)


def localise(html: str, prefix: str = "") -> str:
    """`html` with CDN URLs of npm packages pointing at `prefix` + /map/vendor/<package>/."""
    vendor = f"{prefix}{VENDOR_PREFIX}"
    html = _DROPPED.sub("", html)
    html = _CDNJS_LEAFLET.sub(f"{vendor}/leaflet/dist/", html)
    return _NPM_CDN.sub(lambda m: f"{vendor}/{m['package']}/{m['path']}", html)


class LocalAssets:
    """ASGI middleware: rewrites the HTML responses of the app it wraps with :func:`localise`."""

    def __init__(self, app: ASGIApp, prefix: str = "") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message["headers"]))
                is_html = headers.get("content-type", "").startswith("text/html")
                if not is_html or headers.get("content-encoding"):
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            headers = MutableHeaders(raw=list(start["headers"]))
            charset = "utf-8"  # pygeoapi renders its pages in UTF-8
            body = localise(b"".join(chunks).decode(charset), self.prefix).encode(charset)
            headers["content-length"] = str(len(body))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)
