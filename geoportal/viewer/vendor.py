"""Where the browser libraries are: the npm packages (MapLibre GL JS, Leaflet, ...) that the
map viewer, the folium previews and pygeoapi's HTML pages load from this server.

Their manifest is `browser-libs/package.json` (with its lock file) at the root of the source
tree; `make setup` runs `npm ci` there, into `browser-libs/node_modules` (git-ignored). The
`viewer_vendor_dir` setting (`GEOPORTAL_VIEWER_VENDOR_DIR`) names the folder explicitly; without
it the first of these that exists is used:

1. `browser-libs/node_modules` of the source tree holding this code (a checkout, or an
   editable install: `pip install -e .`);
2. `browser-libs/node_modules` of the directory pip installed the package from (a
   non-editable `pip install /path/to/checkout`, recorded in its `direct_url.json`);
3. `<sys.prefix>/share/kg-geoportal/browser-libs/node_modules`, the place for a deployment
   that installs the package from a wheel (copy `browser-libs/` there and run `npm ci`).

When none exists the first is named, so the viewer's "unavailable" page says where
`make setup` puts them.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from geoportal.settings import Settings

BROWSER_LIBS = "browser-libs"
"""The folder of the npm manifest, at the root of the source tree."""
DISTRIBUTION = "kg-geoportal"


def installed_from() -> Path | None:
    """The local directory pip installed this distribution from, if it recorded one."""
    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    url = urlsplit(str(json.loads(text).get("url", "")))
    return Path(unquote(url.path)) if url.scheme == "file" else None


def vendor_dir_candidates() -> list[Path]:
    """Where the npm packages may be, in the order they are looked for (module docstring)."""
    roots = [Path(__file__).resolve().parents[2], installed_from()]
    candidates = [root / BROWSER_LIBS / "node_modules" for root in roots if root is not None]
    candidates.append(Path(sys.prefix) / "share" / DISTRIBUTION / BROWSER_LIBS / "node_modules")
    return list(dict.fromkeys(candidates))


def find_vendor_dir() -> Path:
    """The first candidate folder that exists, else the first candidate."""
    candidates = vendor_dir_candidates()
    return next((path for path in candidates if path.is_dir()), candidates[0])


def vendor_dir_of(settings: Settings) -> Path:
    """Where the npm packages are: the `viewer_vendor_dir` setting, else `find_vendor_dir()`."""
    return settings.viewer_vendor_dir or find_vendor_dir()
