"""The HTML views of the cadastre's routes: a plan, and a plan's verification."""

from __future__ import annotations

import html
from typing import Any

from cadastre import plan

FACT_NAMES = {
    "c": "cadastralCode",
    "p": "parcelId",
    "v": "version",
    "a": "area_m2",
    "n": "areaNational_m2",
    "s": "nationalCrs",
    "lc": "landCategory",
    "du": "designatedUse",
    "r": "registeredOn",
    "g": "geometryMd5",
    "t": "issuedAt",
}


def readable_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """The signed facts under readable names."""
    out = {FACT_NAMES.get(k, k): v for k, v in facts.items()}
    if "nationalCrs" in out:
        out["nationalCrs"] = f"EPSG:{out['nationalCrs']}"
    return out


def verification_html(body: dict[str, Any]) -> str:
    """The verification answer as a page."""
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in body["facts"].items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Plan verification"
        f"</title></head><body><h1>Signature valid: {html.escape(body['status'])}</h1>"
        f"<p>{html.escape(body['detail'])}</p><table>{rows}</table></body></html>"
    )


def plan_html(facts: plan.PlanFacts, url: str) -> str:
    """The plan as a page (the PDF's facts, the verification link)."""
    e = html.escape
    vertices = "".join(
        f"<tr><td>{e(label)}</td><td>{x:,.2f}</td><td>{y:,.2f}</td></tr>"
        for label, x, y in facts.vertices()
    )
    rights = (
        "<p>Rights: not shown (restricted to the cadastre agency)</p>"
        if facts.rights is None
        else "<ul>"
        + "".join(
            f"<li>{e(r['name'])}: {e(r['right'])}, share {r['share']:g}</li>" for r in facts.rights
        )
        + "</ul>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Cadastral plan {e(facts.code)}</title></head><body>"
        f"<h1>Cadastral plan {e(facts.code)}</h1><dl>"
        f"<dt>Land category</dt><dd>{e(facts.land_category)}</dd>"
        f"<dt>Designated use</dt><dd>{e(facts.designated_use)}</dd>"
        f"<dt>Area (ellipsoid)</dt><dd>{facts.area_m2:,.1f} m²</dd>"
        f"<dt>Area (Kyrg-06 zone {facts.zone}, EPSG:{facts.srid})</dt>"
        f"<dd>{facts.area_national_m2:,.1f} m²</dd>"
        f"<dt>Address</dt><dd>{e(facts.address or '-')}</dd></dl>"
        f"<p><a href='{e(url)}'>Verify this plan</a> · "
        f"<a href='?f=pdf'>PDF</a></p>"
        f"<table><tr><th>Vertex</th><th>X (m)</th><th>Y (m)</th></tr>{vertices}</table>"
        f"{rights}</body></html>"
    )
