"""What an export says about itself: the trilingual metadata, licence and attribution of its
layers as tables (inside a GeoPackage), and as a README (inside a zip)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from exports.plan import ExportPlan
from layers.model import LANGUAGES

LAYERS_TABLE = "layer_metadata"
EXPORT_TABLE = "export_info"


def _area(plan: ExportPlan) -> str:
    query = plan.query
    if query.region is not None:
        return f"{query.region.kind} {query.region.label} (id {query.region.id})"
    if query.bbox is not None:
        return "bbox " + ",".join(f"{v:g}" for v in query.bbox) + " (CRS84)"
    return "the whole country"


def export_facts(plan: ExportPlan, counts: dict[str, int]) -> list[tuple[str, str]]:
    """(key, value) facts of the export: what was asked and what was written."""
    query = plan.query
    return [
        ("format", plan.format.name),
        ("area", _area(plan)),
        ("filter", query.filter or ""),
        ("datetime", query.datetime or ""),
        ("crs", f"EPSG:{plan.srid}" if plan.srid != 4326 else "CRS84 (longitude, latitude)"),
        ("layers", ",".join(part.layer.id for part in plan.layers)),
        ("features", str(sum(counts.values()))),
        ("exported", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        ("completeness", "every matching feature is included: no limit was applied"),
    ]


def metadata_tables(plan: ExportPlan, counts: dict[str, int]) -> dict[str, pa.Table]:
    """`layer_metadata` (one row per layer: titles, abstracts and custodians in Kyrgyz,
    Russian and English, licence, attribution, lineage, features) and `export_info`."""
    rows: dict[str, list[object]] = {"layer_id": [], "table_name": []}
    for what in ("title", "abstract", "custodian"):
        for lang in LANGUAGES:
            rows[f"{what}_{lang}"] = []
    for name in ("licence", "attribution", "lineage", "update_frequency", "feature_count"):
        rows[name] = []
    for part in plan.layers:
        layer = part.layer
        rows["layer_id"].append(layer.id)
        rows["table_name"].append(layer.id)
        for what in ("title", "abstract", "custodian"):
            for lang in LANGUAGES:
                rows[f"{what}_{lang}"].append(getattr(layer, what).get(lang))
        rows["licence"].append(layer.licence)
        rows["attribution"].append(layer.attribution)
        rows["lineage"].append(layer.lineage)
        rows["update_frequency"].append(layer.update_frequency)
        rows["feature_count"].append(counts.get(layer.id, 0))
    facts = export_facts(plan, counts)
    return {
        LAYERS_TABLE: pa.table(rows),
        EXPORT_TABLE: pa.table({"key": [k for k, _ in facts], "value": [v for _, v in facts]}),
    }


def readme_text(plan: ExportPlan, counts: dict[str, int]) -> str:
    """The README of a zipped export: the query, then each layer's titles, licence,
    attribution and count."""
    lines = ["Kyrgyz Republic national geoportal: data export", ""]
    lines += [f"{key}: {value}" for key, value in export_facts(plan, counts)]
    for part in plan.layers:
        layer = part.layer
        lines += ["", f"== {layer.id} ({counts.get(layer.id, 0)} features)"]
        for lang in LANGUAGES:
            lines.append(f"title ({lang}): {layer.title.get(lang)}")
        for lang in LANGUAGES:
            lines.append(f"custodian ({lang}): {layer.custodian.get(lang)}")
        lines.append(f"licence: {layer.licence}")
        lines.append(f"attribution: {layer.attribution}")
        if layer.lineage:
            lines.append(f"lineage: {' '.join(layer.lineage.split())}")
        lines.append(f"fields: id, {', '.join(part.fields)}")
    return "\n".join(lines) + "\n"
