// The view as a PNG: a title and the date above the map, the legend of the visible layers on
// its right, the place names, a scale bar and the attribution (in the interface language)
// below. Drawn with the Canvas 2D API: the map's WebGL canvas is copied in MapLibre's
// `render` event, while its drawing buffer is still whole (no `preserveDrawingBuffer`, which
// would slow every frame); everything else is text and swatches, so no library is needed.

import { formatDate, t, tr } from "./i18n.js";
import { visibleAttributions } from "./attribution.js";
import { formatLength } from "./measure.js";

const LEGEND_WIDTH = 260;
const HEADER = 52;
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif';
const INK = "#1f2a33";
const MUTED = "#5b6b77";

// The text of a legend entry, as the layer panel shows it.
function entryLabel(layer, entry, lang) {
  if (entry.value === "*") return t("other", lang);
  if (!entry.value) return tr(layer.title, lang);
  const field = layer.fields.find((f) => f.name === layer.legend.field);
  return entry.value.split(", ").map((value) => (field && field.labels && field.labels[value]
    ? tr(field.labels[value], lang) : value.replace(/_/g, " "))).join(", ");
}

// The lines of `text` that fit `width` pixels with the context's font.
function wrap(ctx, text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > width) { lines.push(line); line = word; } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

function copyMapCanvas(map) {
  return new Promise((resolve) => {
    map.once("render", () => {
      const source = map.getCanvas();
      const copy = document.createElement("canvas");
      copy.width = source.width;
      copy.height = source.height;
      copy.getContext("2d").drawImage(source, 0, 0);
      resolve(copy);
    });
    map.triggerRepaint();
  });
}

function drawSwatch(ctx, entry, x, y) {
  ctx.fillStyle = entry.color;
  ctx.strokeStyle = entry.outline || "rgba(0,0,0,.3)";
  if (entry.symbol === "line") { ctx.fillRect(x, y + 5, 16, 3); return; }
  ctx.beginPath();
  if (entry.symbol === "circle") ctx.arc(x + 7, y + 7, 5, 0, 2 * Math.PI);
  else ctx.rect(x, y + 2, 16, 10);
  ctx.fill();
  ctx.stroke();
}

// The legend of the visible layers in a column at `x0`, down to `bottom`.
function drawLegend(ctx, viewer, x0, top, bottom) {
  const lang = viewer.lang;
  ctx.fillStyle = INK;
  ctx.font = `600 15px ${FONT}`;
  ctx.fillText(t("legend", lang), x0, top + 18);
  let y = top + 30;
  for (const layer of viewer.visibleLayers()) {
    if (y > bottom - 36) { ctx.fillText("…", x0, y + 12); break; }
    ctx.font = `600 13px ${FONT}`;
    ctx.fillStyle = INK;
    for (const line of wrap(ctx, tr(layer.title, lang), LEGEND_WIDTH - 24)) { ctx.fillText(line, x0, y + 12); y += 16; }
    ctx.font = `12px ${FONT}`;
    for (const entry of layer.legend.entries.slice(0, 12)) {
      if (y > bottom - 18) break;
      drawSwatch(ctx, entry, x0, y);
      ctx.fillStyle = INK;
      ctx.fillText(wrap(ctx, entryLabel(layer, entry, lang), LEGEND_WIDTH - 48)[0] || "", x0 + 22, y + 11);
      y += 16;
    }
    y += 6;
  }
}

// The place labels (HTML over the map) at their places on the image.
function drawPlaceLabels(ctx, map, top) {
  const origin = map.getContainer().getBoundingClientRect();
  ctx.textAlign = "center";
  ctx.lineWidth = 3;
  ctx.strokeStyle = "#fff";
  ctx.fillStyle = "#2b2b2b";
  for (const node of map.getContainer().querySelectorAll(".place-label")) {
    const box = node.getBoundingClientRect();
    const x = box.left - origin.left + box.width / 2;
    const y = top + box.bottom - origin.top - 4;
    ctx.font = `${node.classList.contains("capital") ? "700 13px" : "12px"} ${FONT}`;
    ctx.strokeText(node.textContent, x, y);
    ctx.fillText(node.textContent, x, y);
  }
  ctx.textAlign = "left";
}

// A scale bar of a round length at the bottom left of the map.
function drawScale(ctx, map, left, bottom, lang) {
  const height = map.getContainer().clientHeight;
  const a = map.unproject([0, height - 30]);
  const b = map.unproject([100, height - 30]);
  const per100 = geodesic.Geodesic.WGS84.Inverse(a.lat, a.lng, b.lat, b.lng).s12;
  const steps = [1, 2, 5];
  let length = 1;
  for (let p = 0; p < 8; p += 1) {
    for (const s of steps) if (s * 10 ** p <= per100 * 1.2) length = s * 10 ** p;
  }
  const px = (length / per100) * 100;
  ctx.fillStyle = "rgba(255,255,255,.85)";
  ctx.fillRect(left + 6, bottom - 30, px + 16, 24);
  ctx.strokeStyle = INK;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(left + 14, bottom - 20); ctx.lineTo(left + 14, bottom - 12);
  ctx.lineTo(left + 14 + px, bottom - 12); ctx.lineTo(left + 14 + px, bottom - 20);
  ctx.stroke();
  ctx.fillStyle = INK;
  ctx.font = `11px ${FONT}`;
  ctx.fillText(formatLength(length, lang, true), left + 18, bottom - 17);
}

// Draw the whole page of the view; resolves to a canvas (CSS pixels).
export async function renderView(viewer) {
  const map = viewer.map;
  const lang = viewer.lang;
  const shot = await copyMapCanvas(map);
  const mapWidth = map.getContainer().clientWidth;
  const mapHeight = map.getContainer().clientHeight;
  const width = mapWidth + LEGEND_WIDTH;
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = `11px ${FONT}`;
  const attribution = wrap(measure, [...visibleAttributions(viewer), "MapLibre"].join(" | "), width - 24);
  const height = HEADER + mapHeight + 14 + attribution.length * 14;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = "#0b5d8a";
  ctx.fillRect(0, 0, width, HEADER);
  ctx.fillStyle = "#fff";
  ctx.font = `600 18px ${FONT}`;
  ctx.fillText(t("title", lang), 12, 22);
  ctx.font = `13px ${FONT}`;
  ctx.fillText(`${t("subtitle", lang)} · ${formatDate(new Date(), lang, { timeZone: "Asia/Bishkek" })}`, 12, 42);
  ctx.drawImage(shot, 0, HEADER, mapWidth, mapHeight);
  drawPlaceLabels(ctx, map, HEADER);
  drawScale(ctx, map, 0, HEADER + mapHeight, lang);
  drawLegend(ctx, viewer, mapWidth + 12, HEADER, HEADER + mapHeight);
  ctx.fillStyle = MUTED;
  ctx.font = `11px ${FONT}`;
  attribution.forEach((line, i) => ctx.fillText(line, 12, HEADER + mapHeight + 14 + i * 14));
  return canvas;
}

// Render the view and hand it to the browser as a PNG download.
export async function exportPng(viewer) {
  const canvas = await renderView(viewer);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const name = `geoportal-${new Date().toISOString().slice(0, 10)}.png`;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  document.body.dataset.exported = name;
  return { name, width: canvas.width, height: canvas.height, legendX: canvas.width - LEGEND_WIDTH };
}
