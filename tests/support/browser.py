"""Headless Chromium (the Debian package) driven by Playwright, for the viewer's end-to-end
tests. Every request that is not for the server under test is aborted and recorded, so a
page that would need the internet fails its test."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # WebGL without a GPU: ANGLE on SwiftShader (software), which MapLibre needs.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
IGNORED_CONSOLE = ("GPU stall due to ReadPixels", "Automatic fallback to software WebGL")
"""Chromium's own performance notes about software WebGL, not errors of the page."""


def missing_browser_message() -> str | None:
    """Why the end-to-end tests cannot run here, or None when they can."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return (
            "Playwright for Python is not installed: `pip install -e '.[test]'` (make test does it)"
        )
    if not CHROMIUM.is_file():
        return (
            f"{CHROMIUM} is missing: install the Debian packages chromium and "
            "chromium-driver (`make test` does it as root: scripts/system-deps.sh "
            "chromium chromium-driver)"
        )
    return None


@dataclass
class PageRecord:
    """What a page did: console errors, requests made, requests blocked."""

    page: Any
    base_url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        """Keep a screenshot of the page as a test artifact (var/test-artifacts/NAME.png)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def requests_to(self, fragment: str) -> list[str]:
        """Requests whose URL contains `fragment`."""
        return [url for url in self.requests if fragment in url]


@contextmanager
def open_page(browser: Any, base_url: str, **context_options: Any) -> Iterator[PageRecord]:
    """A page in a fresh browser context that may only reach `base_url` (and data/blob)."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **context_options})
    page = context.new_page()
    record = PageRecord(page=page, base_url=base_url)

    def on_console(message: Any) -> None:
        if message.type == "error" and not any(s in message.text for s in IGNORED_CONSOLE):
            record.errors.append(message.text)

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith((base_url, "data:", "blob:")):
            route.continue_()
        else:
            record.blocked.append(url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda error: record.errors.append(f"uncaught: {error}"))
    page.on("request", lambda request: record.requests.append(request.url))
    page.route("**/*", route)
    try:
        yield record
    finally:
        context.close()


def pixel_stats(png: bytes) -> tuple[int, float]:
    """(number of distinct colours, share of the most common colour) of a screenshot."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").resize((320, 200))
    colors = image.getcolors(maxcolors=320 * 200) or []
    top = max(count for count, _ in colors)
    return len(colors), top / (320 * 200)
