"""The country view of agriculture: `agri_plots` aggregated per rayon, for the zooms below
the plots' own (they are drawn from z9).

Computed from the loaded plots on request (one `GROUP BY` over the plots' `rayon`, the name
the generator and the loader give from the `rayons` layer), joined to the rayon outlines and
served as GeoJSON (`/map/aggregates/agri_plots.json`). The answer is kept per version of the
two layers (`catalog.layer_stats.version`, raised by every load and write), so it follows a
reload without a refresh step and costs one small query when nothing changed. No new table:
the numbers are always those of `agri_plots` as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from layers.catalogue import Catalogue

AGRI_AGGREGATE_ID = "agri_plots_by_rayon"
"""The viewer's id of the aggregate (no collection of the OGC API: a view of `agri_plots`)."""
SOURCE_LAYERS = ("agri_plots", "rayons")
MAX_ZOOM = 9
"""Drawn below this zoom, where `agri_plots` itself starts."""
SIMPLIFY_DEG = 0.002
"""Rayon outlines simplified to about 200 m: the aggregate is drawn at z5-z8."""

IRRIGATED_CLASSES: tuple[tuple[str, float, str, dict[str, str]], ...] = (
    (
        "under_25",
        25.0,
        "#e8dfa0",
        {"ky": "25 %дан аз сугарылат", "ru": "орошается менее 25 %", "en": "under 25 % irrigated"},
    ),
    (
        "25_50",
        50.0,
        "#b9d98a",
        {"ky": "25–50 % сугарылат", "ru": "орошается 25–50 %", "en": "25–50 % irrigated"},
    ),
    (
        "50_75",
        75.0,
        "#7fc3c7",
        {"ky": "50–75 % сугарылат", "ru": "орошается 50–75 %", "en": "50–75 % irrigated"},
    ),
    (
        "over_75",
        100.0,
        "#3f8fc9",
        {"ky": "75 %дан көп сугарылат", "ru": "орошается более 75 %", "en": "over 75 % irrigated"},
    ),
)
"""Classes of the irrigated share of the plot area: (value, upper bound in %, colour, label)."""

FIELDS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("rayon", "text", {"ky": "Район", "ru": "Район", "en": "Rayon"}),
    ("oblast", "text", {"ky": "Облус", "ru": "Область", "en": "Oblast"}),
    ("plot_count", "integer", {"ky": "Участоктор", "ru": "Участков", "en": "Plots"}),
    ("area_ha", "double", {"ky": "Аянты, га", "ru": "Площадь, га", "en": "Area, ha"}),
    (
        "irrigated_ha",
        "double",
        {"ky": "Сугат жер, га", "ru": "Орошаемая площадь, га", "en": "Irrigated area, ha"},
    ),
    (
        "irrigated_pct",
        "double",
        {"ky": "Сугат жердин үлүшү, %", "ru": "Доля орошаемой, %", "en": "Share irrigated, %"},
    ),
    (
        "irrigated_class",
        "text",
        {"ky": "Сугат жердин үлүшү", "ru": "Доля орошаемой площади", "en": "Share irrigated"},
    ),
)

_QUERY = """
SELECT r.id, r.name_en, r.oblast, p.plot_count, p.area_ha, p.irrigated_ha,
       ST_AsGeoJSON(ST_Simplify(r.geom, {tolerance}, true), 5)
FROM (
    SELECT rayon, count(*) AS plot_count, sum(area_ha) AS area_ha,
           coalesce(sum(area_ha) FILTER (WHERE irrigation = 'irrigated'), 0) AS irrigated_ha
    FROM {plots}
    WHERE rayon IS NOT NULL
    GROUP BY rayon
) AS p
JOIN {rayons} AS r ON r.name_en = p.rayon
ORDER BY r.id
"""


def irrigated_class(share_pct: float) -> str:
    """The class of an irrigated share in percent.

    >>> irrigated_class(0.0), irrigated_class(25.0), irrigated_class(80.0)
    ('under_25', '25_50', 'over_75')
    """
    for value, upper, _, _ in IRRIGATED_CLASSES:
        if share_pct < upper:
            return value
    return IRRIGATED_CLASSES[-1][0]


def aggregate_query(catalogue: Catalogue) -> sql.Composed:
    """The statement: one row per rayon holding plots (id, names, counts, GeoJSON outline)."""
    return sql.SQL(_QUERY).format(
        tolerance=sql.Literal(SIMPLIFY_DEG),
        plots=sql.Identifier(*catalogue.get("agri_plots").qualified_table),
        rayons=sql.Identifier(*catalogue.get("rayons").qualified_table),
    )


def versions_query(layer_ids: tuple[str, ...] = SOURCE_LAYERS) -> sql.Composed:
    """The load/write versions of `layer_ids` (the cache key of an answer computed from them)."""
    return sql.SQL(
        "SELECT coalesce(string_agg(layer_id || ':' || version, ',' ORDER BY layer_id), '') "
        "FROM catalog.layer_stats WHERE layer_id = ANY({})"
    ).format(sql.Literal(list(layer_ids)))


def _feature(row: tuple[Any, ...]) -> dict[str, Any]:
    rayon_id, name, oblast, count, area, irrigated, geometry = row
    area_ha = float(area or 0)
    irrigated_ha = float(irrigated or 0)
    share = 100.0 * irrigated_ha / area_ha if area_ha > 0 else 0.0
    return {
        "type": "Feature",
        "id": int(rayon_id),
        "geometry": json.loads(geometry),
        "properties": {
            "rayon": name,
            "oblast": oblast,
            "plot_count": int(count),
            "area_ha": round(area_ha, 1),
            "irrigated_ha": round(irrigated_ha, 1),
            "irrigated_pct": round(share, 1),
            "irrigated_class": irrigated_class(share),
        },
    }


def read_agri_aggregate(conn: psycopg.Connection, catalogue: Catalogue) -> dict[str, Any]:
    """The aggregate as a GeoJSON FeatureCollection (CRS84; feature id: the rayon's id).

    Plots without a rayon are left out; a rayon without plots has no feature.
    """
    rows = conn.execute(aggregate_query(catalogue)).fetchall()
    return {"type": "FeatureCollection", "features": [_feature(row) for row in rows]}


@dataclass
class VersionedCache:
    """The last answer of `compute` and the versions of the layers it was computed from."""

    layer_ids: tuple[str, ...]
    compute: Callable[[psycopg.Connection, Catalogue], Any]
    versions: str | None = None
    body: bytes = b""

    def get(self, conn: psycopg.Connection, catalogue: Catalogue) -> tuple[str, bytes]:
        """(version key, JSON bytes): computed again only when one of the layers changed."""
        row = conn.execute(versions_query(self.layer_ids)).fetchone()
        versions = str(row[0]) if row else ""
        if versions != self.versions or not self.body:
            body = json.dumps(self.compute(conn, catalogue), ensure_ascii=False)
            self.body, self.versions = body.encode("utf-8"), versions
        return versions, self.body


def aggregate_cache() -> VersionedCache:
    """The cache of the agriculture aggregate."""
    return VersionedCache(SOURCE_LAYERS, read_agri_aggregate)


def aggregate_layer_config(base_url: str) -> dict[str, Any]:
    """The aggregate as a layer of the viewer's panel (theme agriculture, visible at first)."""
    classes = [(value, color) for value, _, color, _ in IRRIGATED_CLASSES]
    match: list[Any] = ["match", ["get", "irrigated_class"]]
    for value, color in classes:
        match += [value, color]
    match.append("#cccccc")
    fields = [
        {
            "name": name,
            "type": kind,
            "title": title,
            "labels": {value: label for value, _, _, label in IRRIGATED_CLASSES}
            if name == "irrigated_class"
            else None,
        }
        for name, kind, title in FIELDS
    ]
    source = f"aggregate-{AGRI_AGGREGATE_ID}"
    style = [
        {
            "id": f"{AGRI_AGGREGATE_ID}-0",
            "type": "fill",
            "source": source,
            "maxzoom": MAX_ZOOM,
            "paint": {"fill-color": match, "fill-opacity": 0.6},
        },
        {
            "id": f"{AGRI_AGGREGATE_ID}-1",
            "type": "line",
            "source": source,
            "maxzoom": MAX_ZOOM,
            "paint": {"line-color": "#5b7d3a", "line-width": 0.6},
        },
    ]
    return {
        "id": AGRI_AGGREGATE_ID,
        "theme": "agriculture",
        "title": {
            "ky": "Айыл чарба участоктору райондор боюнча (сугат жердин үлүшү)",
            "ru": "Сельхозучастки по районам (доля орошаемой площади)",
            "en": "Agricultural plots by rayon (share irrigated)",
        },
        "geometry": "MultiPolygon",
        "minzoom": 0,
        "maxzoom": MAX_ZOOM - 1,
        "source": source,
        "tiles": None,
        "geojson": f"{base_url}/map/aggregates/agri_plots.json",
        "style": style,
        "extrusion": None,
        "legend": {
            "field": "irrigated_class",
            "entries": [
                {"symbol": "fill", "color": color, "value": value, "outline": None}
                for value, color in classes
            ],
        },
        "attribution": "",
        "licence": "CC BY 4.0 (synthetic demo data)",
        "visible": True,
        "title_field": "rayon",
        "fields": fields,
        "popup_title": None,
        "time": None,
        "related": [],
        "items": None,
        "record": None,
        "downloads": None,
        "aggregate_of": "agri_plots",
    }


def add_aggregate_layers(config: dict[str, Any], catalogue: Catalogue, base_url: str) -> None:
    """Put the aggregate into the viewer's layers, after `agri_plots` (when both source
    layers are declared)."""
    if not set(SOURCE_LAYERS) <= set(catalogue.ids):
        return
    layers = config["layers"]
    after = next((i for i, layer in enumerate(layers) if layer["id"] == "agri_plots"), None)
    index = len(layers) if after is None else after + 1
    layers.insert(index, aggregate_layer_config(base_url))
