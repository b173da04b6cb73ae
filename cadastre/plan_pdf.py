"""The cadastral plan as a PDF (fpdf2) with its QR code (segno): one A4 page.

Top: code, category, use, both areas, address, registration date; left: the map of the
parcel (red) and its neighbours (grey) in its Kyrg-06 zone; right: the QR code of the
verification URL, printed beneath it too; then the coordinate table of the vertices and,
when the caller may read them, the rights summary.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import segno
from fontTools import subset
from fpdf import FPDF

from cadastre.plan import PlanFacts

MAP_BOX = (15.0, 58.0, 110.0, 110.0)
"""x, y, width, height of the map on the page (mm)."""
PLAN_UNICODES = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x180),
    *range(0x400, 0x530),
    0x2013,
    0x2014,
    0x2019,
    0x201C,
    0x201D,
    0x2026,
    0x2116,
    0x00B2,
]
"""Latin, Latin-1, Cyrillic (Kyrgyz letters included) and a little punctuation."""
QR_MASK = 0
"""A fixed mask pattern (ISO/IEC 18004 lets the encoder choose): scoring all eight costs
about 90 ms per plan in pure Python."""


@cache
def plan_font(font: Path) -> Path:
    """A subset of `font` with the letters a plan uses, made once per process and kept in
    the temporary folder: a full DejaVu Sans (6,000 glyphs) costs about 0.7 s to parse per
    document, the subset a few milliseconds."""
    digest = hashlib.sha256(f"{font}:{font.stat().st_mtime_ns}".encode()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"geoportal-plan-font-{digest}.ttf"
    if not target.exists():
        options = subset.Options()
        options.layout_features = []
        options.hinting = False
        loaded = subset.load_font(str(font), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=PLAN_UNICODES)
        subsetter.subset(loaded)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        subset.save_font(loaded, str(tmp), options)
        tmp.replace(target)
    return target


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    return [ring for polygon in polygons for ring in polygon]


class _Plan(FPDF):
    def __init__(self, font: Path) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(True, margin=15)
        if font.exists():
            self.add_font("plan", "", str(plan_font(font)))
            self.family = "plan"
        else:  # no Unicode font: Latin only (non-Latin letters become "?")
            self.family = "helvetica"

    def text_of(self, value: object) -> str:
        text = str(value)
        if self.family == "helvetica":
            return text.encode("latin-1", "replace").decode("latin-1")
        return text


def render_plan_pdf(facts: PlanFacts, verify_url: str, *, font: Path) -> bytes:
    """The plan's PDF bytes; `verify_url` is what the QR code holds."""
    pdf = _Plan(font)
    pdf.set_title(f"Cadastral plan {facts.code}")
    pdf.set_subject(verify_url)
    pdf.add_page()
    pdf.set_font(pdf.family, size=15)
    pdf.cell(
        0,
        8,
        f"Cadastral plan / Кадастровый план {facts.code}"
        if pdf.family != "helvetica"
        else f"Cadastral plan {facts.code}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(pdf.family, size=9)
    for line in _summary(facts):
        pdf.cell(0, 5, pdf.text_of(line), new_x="LMARGIN", new_y="NEXT")
    _draw_map(pdf, facts)
    _draw_qr(pdf, verify_url)
    pdf.set_xy(15, MAP_BOX[1] + MAP_BOX[3] + 4)
    _vertex_table(pdf, facts)
    _rights(pdf, facts)
    return bytes(pdf.output())


def _summary(facts: PlanFacts) -> list[str]:
    return [
        f"Land category: {facts.land_category}    Designated use: {facts.designated_use}",
        f"Area (WGS84 ellipsoid): {facts.area_m2:,.1f} m2    "
        f"Area (Kyrg-06 zone {facts.zone}, EPSG:{facts.srid}): {facts.area_national_m2:,.1f} m2",
        f"Address: {facts.address or '-'}    Registered on: {facts.registered_on.isoformat()}",
        f"Register version {facts.version_id}; issued {facts.issued_at}",
    ]


def _draw_map(pdf: _Plan, facts: PlanFacts) -> None:
    x0, y0, w, h = MAP_BOX
    own = _rings(facts.national)
    xs = [pt[0] for ring in own for pt in ring]
    ys = [pt[1] for ring in own for pt in ring]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0) * 1.6
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    scale = min(w, h) / span

    def page(pt: list[float]) -> tuple[float, float]:
        return x0 + w / 2 + (pt[0] - cx) * scale, y0 + h / 2 - (pt[1] - cy) * scale

    pdf.set_draw_color(0)
    pdf.rect(x0, y0, w, h)
    with pdf.rect_clip(x0, y0, w, h):
        pdf.set_draw_color(120)
        pdf.set_font(pdf.family, size=6)
        for neighbour in facts.neighbours:
            for ring in _rings(neighbour["geometry"]):
                pdf.polygon([page(pt) for pt in ring], style="D")
            first = page(_rings(neighbour["geometry"])[0][0])
            pdf.text(first[0] + 1, first[1] - 1, neighbour["code"])
        pdf.set_draw_color(200, 0, 0)
        pdf.set_line_width(0.6)
        for ring in own:
            pdf.polygon([page(pt) for pt in ring], style="D")
        pdf.set_line_width(0.2)
        pdf.set_font(pdf.family, size=6)
        for label, x, y in facts.vertices()[:60]:
            px, py = page([x, y])
            pdf.text(px + 0.8, py - 0.8, label)
    pdf.set_draw_color(0)
    pdf.set_font(pdf.family, size=7)
    pdf.text(x0, y0 + h + 3, f"1:{round(1000 / scale):,} (approx.), metres of EPSG:{facts.srid}")


def _draw_qr(pdf: _Plan, verify_url: str) -> None:
    qr = segno.make(verify_url, error="m", mask=QR_MASK)
    png = io.BytesIO()
    qr.save(png, kind="png", scale=4, border=2)
    png.seek(0)
    x = MAP_BOX[0] + MAP_BOX[2] + 8
    pdf.image(png, x=x, y=MAP_BOX[1], w=60, h=60, link=verify_url)
    pdf.set_xy(x, MAP_BOX[1] + 62)
    pdf.set_font(pdf.family, size=5)
    pdf.multi_cell(62, 2.5, "Verify: " + verify_url, new_x="LMARGIN", new_y="NEXT")


def _vertex_table(pdf: _Plan, facts: PlanFacts) -> None:
    pdf.set_font(pdf.family, size=8)
    pdf.cell(
        0,
        5,
        f"Vertices (Kyrg-06 zone {facts.zone}, EPSG:{facts.srid}, metres)",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    rows = facts.vertices()
    columns = 3
    per_column = (len(rows) + columns - 1) // columns
    top = pdf.get_y()
    for c in range(columns):
        pdf.set_xy(15 + c * 62, top)
        for label, x, y in rows[c * per_column : (c + 1) * per_column]:
            pdf.set_x(15 + c * 62)
            pdf.cell(10, 4, label)
            pdf.cell(26, 4, f"X {x:,.2f}")
            pdf.cell(26, 4, f"Y {y:,.2f}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(top + per_column * 4 + 3)


def _rights(pdf: _Plan, facts: PlanFacts) -> None:
    pdf.set_font(pdf.family, size=8)
    if facts.rights is None:
        pdf.cell(
            0,
            5,
            "Rights: not shown (restricted to the cadastre agency)",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        return
    pdf.cell(0, 5, "Rights:", new_x="LMARGIN", new_y="NEXT")
    for right in facts.rights:
        line = f"  {right['name']}: {right['right']}, share {right['share']:g}"
        pdf.cell(0, 4, pdf.text_of(line), new_x="LMARGIN", new_y="NEXT")
    for item in facts.encumbrances or []:
        line = f"  Encumbrance {item['type']} for {item['beneficiary']} from {item['from']}"
        pdf.cell(0, 4, pdf.text_of(line), new_x="LMARGIN", new_y="NEXT")
