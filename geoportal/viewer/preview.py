"""Quick-look maps of a layer or one feature, rendered with folium (Leaflet).

folium's pages load Leaflet, jQuery, Bootstrap, Font Awesome and the awesome-markers plugin
from CDNs by default. Every one of those entries is pointed here at the copies installed
from npm in `browser-libs/node_modules` (docs/viewer.md, no CDN): served by the geoportal under
`/map/vendor/` for the preview routes, or inlined into the file (images and woff2 fonts as
data URIs) for `geoportal preview`, so the page works with no network at all. There is no
background tile layer (no external tile service): the country and oblast outlines give the
context.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from geoportal.viewer.legend import layer_legend
from layers.catalogue import Catalogue
from layers.geography import KYRGYZSTAN_EXTENT_4326
from layers.model import Layer

if TYPE_CHECKING:  # folium (and branca, jinja2...) is imported when a preview is drawn
    import folium

FOLIUM_JS: dict[str, str] = {
    "leaflet": "leaflet/dist/leaflet.js",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "awesome_markers": "leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
}
FOLIUM_CSS: dict[str, str] = {
    "leaflet_css": "leaflet/dist/leaflet.css",
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    "glyphicons_css": "glyphicons-only-bootstrap/css/bootstrap.min.css",
    "awesome_markers_font_css": "@fortawesome/fontawesome-free/css/all.min.css",
    "awesome_markers_css": "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    "awesome_rotate_css": "@geoportal/leaflet.awesome.rotate.css",
}
"""folium's default JS/CSS entries (folium.folium._default_js/_css) -> our local copies, as
paths under the vendor folder; `@geoportal/` is our own file in geoportal/viewer/static."""
OWN_PREFIX = "@geoportal/"
STATIC_DIR = Path(__file__).parent / "static"
INLINE_URL_TYPES = (".png", ".gif", ".svg", ".woff2")
"""Resources referenced by inlined CSS that become data URIs; other font formats (the
fallbacks of old browsers) are dropped rather than fetched."""
DEFAULT_LIMIT = 2_000
MAX_LIMIT = 10_000


class PreviewError(Exception):
    """A preview cannot be made (the message says why)."""


class FeatureNotFoundError(PreviewError):
    """The feature asked for does not exist."""


@dataclass(frozen=True)
class PreviewData:
    """What a preview draws: the layer's features and the country/oblast context (GeoJSON)."""

    features: dict[str, Any]
    context: dict[str, Any]


def vendor_file(vendor_dir: Path, relative: str) -> Path:
    """The file behind a vendor path (our own files live in geoportal/viewer/static)."""
    if relative.startswith(OWN_PREFIX):
        return STATIC_DIR / relative.removeprefix(OWN_PREFIX)
    return vendor_dir / relative


def missing_assets(vendor_dir: Path) -> list[str]:
    """Vendor files folium needs that are not installed (empty when all are there)."""
    return [
        rel
        for rel in [*FOLIUM_JS.values(), *FOLIUM_CSS.values()]
        if not vendor_file(vendor_dir, rel).is_file()
    ]


def _feature_sql(layer: Layer, feature_id: str | None) -> sql.Composed:
    props = sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(f.name), sql.Identifier(f.name))
        for f in layer.public_fields
    )
    where = sql.SQL("id::text = %(fid)s") if feature_id is not None else sql.SQL("true")
    return sql.SQL(
        "SELECT json_build_object('type', 'FeatureCollection', 'features', "
        "coalesce(json_agg(json_build_object('type', 'Feature', 'id', id, "
        "'geometry', ST_AsGeoJSON(ST_Transform(geom, 4326), 6)::json, "
        "'properties', json_build_object({props}))), '[]'::json)) "
        "FROM (SELECT * FROM {table} WHERE geom IS NOT NULL AND {where} ORDER BY id "
        "LIMIT %(limit)s) AS f"
    ).format(props=props, table=sql.Identifier(*layer.qualified_table), where=where)


CONTEXT_LAYERS = ("country", "oblasts")
"""Layers drawn as outlines under every preview (the first one filled), when declared."""


def _context_sql(context: list[Layer]) -> sql.Composed:
    parts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {kind} AS kind, geom FROM {table}").format(
            kind=sql.Literal(lyr.id), table=sql.Identifier(*lyr.qualified_table)
        )
        for lyr in context
    )
    return sql.SQL(
        "SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg("
        "json_build_object('type', 'Feature', 'properties', json_build_object('kind', kind), "
        "'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(ST_Transform(geom, 4326), 0.01),"
        " 5)::json)), '[]'::json)) FROM ({parts}) AS c"
    ).format(parts=parts)


def read_preview_data(
    conn: psycopg.Connection,
    layer: Layer,
    feature_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    context: list[Layer] | None = None,
) -> PreviewData:
    """The features to draw (public fields only, CRS84) and the outlines of the `context`
    layers (simplified to about 1 km), first one filled.

    Raises:
        PreviewError: the layer has no geometry.
        FeatureNotFoundError: `feature_id` is not a feature of the layer.
    """
    if not layer.has_geometry:
        raise PreviewError(f"layer {layer.id} has no geometry: nothing to draw on a map")
    row = conn.execute(
        _feature_sql(layer, feature_id), {"fid": feature_id, "limit": limit}
    ).fetchone()
    features = row[0] if row else {"type": "FeatureCollection", "features": []}
    if feature_id is not None and not features["features"]:
        raise FeatureNotFoundError(f"layer {layer.id} has no feature {feature_id!r}")
    outlines = {"type": "FeatureCollection", "features": []}
    if context:
        try:
            with conn.transaction():
                row = conn.execute(_context_sql(context)).fetchone()
            outlines = row[0] if row else outlines
        except psycopg.errors.UndefinedTable:  # a context layer not migrated: no outlines
            pass
    return PreviewData(features=features, context=outlines)


def _style_function(layer: Layer) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A folium style function with the colours of the layer's declared style."""
    legend = layer_legend(layer)
    entries = legend["entries"]
    default = entries[-1]["color"] if entries else "#3388ff"
    colors = {e["value"]: e["color"] for e in entries if e["value"] not in (None, "*")}
    field = legend["field"]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        value = feature["properties"].get(field) if field else None
        color = next((c for key, c in colors.items() if str(value) in key.split(", ")), default)
        return {"color": color, "fillColor": color, "weight": 2, "fillOpacity": 0.5}

    return style


def build_map(layer: Layer, data: PreviewData, language: str = "en") -> folium.Map:
    """The folium map of `data` on its context outlines (no background tiles), fitted to the
    features (to the country when there are none)."""
    import folium

    fmap = folium.Map(tiles=None, control_scale=True, prefer_canvas=True)
    first = data.context["features"][0]["properties"]["kind"] if data.context["features"] else None
    folium.GeoJson(
        data.context,
        name="context",
        control=False,
        style_function=lambda f: {
            "color": "#7a5c8e",
            "weight": 1.5 if f["properties"]["kind"] == first else 0.7,
            "fill": f["properties"]["kind"] == first,
            "fillColor": "#f3efe6",
            "fillOpacity": 0.6,
        },
    ).add_to(fmap)
    fields = [f.name for f in layer.public_fields]
    aliases = [f.title.get(language) for f in layer.public_fields]
    style = _style_function(layer)
    marker = None
    if layer.geometry_type in ("Point", "MultiPoint"):
        marker = folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.9)
    if data.features["features"]:
        folium.GeoJson(
            data.features,
            name=layer.title.get(language),
            style_function=style,
            marker=marker,
            tooltip=folium.GeoJsonTooltip(fields=[layer.title_field or fields[0]], labels=False),
            popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
        ).add_to(fmap)
        bounds = _bounds(data.features)
        fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], max_zoom=16)
    else:
        west, south, east, north = KYRGYZSTAN_EXTENT_4326
        fmap.fit_bounds([[south, west], [north, east]])
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def _bounds(collection: dict[str, Any]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for part in coords:
                walk(part)

    for feature in collection["features"]:
        walk(feature["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


def render_html(fmap: folium.Map, vendor_url: str, static_url: str) -> str:
    """The page, with folium's default JS/CSS pointed at `vendor_url/<package path>` (and
    our own stylesheet at `static_url/<name>`)."""

    def url(path: str) -> str:
        if path.startswith(OWN_PREFIX):
            return f"{static_url}/{path.removeprefix(OWN_PREFIX)}"
        return f"{vendor_url}/{path}"

    fmap.default_js = [(name, url(path)) for name, path in FOLIUM_JS.items()]
    fmap.default_css = [(name, url(path)) for name, path in FOLIUM_CSS.items()]
    return fmap.get_root().render()


def _data_uri(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or (
        "font/woff2" if path.suffix == ".woff2" else "application/octet-stream"
    )
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


def inline_css(path: Path) -> str:
    """A stylesheet with its images and woff2 fonts as data URIs, other references dropped."""

    def replace(match: re.Match[str]) -> str:
        target = match.group(2)
        if target.startswith(("data:", "#")):
            return match.group(0)
        file = (path.parent / target.split("?")[0].split("#")[0]).resolve()
        if file.suffix in INLINE_URL_TYPES and file.is_file():
            return f'url("{_data_uri(file)}")'
        return 'url("data:,")'

    return re.sub(r"""url\((['"]?)([^'")]+)\1\)""", replace, path.read_text("utf-8"))


def render_standalone(fmap: folium.Map, vendor_dir: Path) -> str:
    """One HTML file that needs nothing else: every script and stylesheet inlined.

    Raises:
        PreviewError: the vendor files are not installed (`make setup` installs them).
    """
    missing = missing_assets(vendor_dir)
    if missing:
        raise PreviewError(
            f"browser libraries missing in {vendor_dir}: {', '.join(missing)}; "
            "run `make setup` (npm ci in viewer/)"
        )
    marker = "geoportal-vendor:"
    page = render_html(fmap, marker, marker + "/" + OWN_PREFIX.rstrip("/"))

    def script(match: re.Match[str]) -> str:
        code = vendor_file(vendor_dir, match.group(1)).read_text("utf-8")
        return "<script>" + code.replace("</script", "<\\/script") + "</script>"

    def stylesheet(match: re.Match[str]) -> str:
        return "<style>" + inline_css(vendor_file(vendor_dir, match.group(1))) + "</style>"

    page = re.sub(rf'<script src="{marker}/([^"]+)"></script>', lambda m: script(m), page)
    page = re.sub(
        rf'<link rel="stylesheet" href="{marker}/([^"]+)"\s*/?>', lambda m: stylesheet(m), page
    )
    if marker in page:
        raise PreviewError("a folium asset could not be inlined")  # folium changed its tags
    return page


def context_layers(catalogue: Catalogue) -> list[Layer]:
    """The declared layers of CONTEXT_LAYERS, in that order."""
    return [catalogue.get(lid) for lid in CONTEXT_LAYERS if lid in catalogue.ids]
