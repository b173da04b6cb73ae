// Measuring on the map: click points, the geodesic length (m/km) of the line or the area
// (m²/ha/km²) and perimeter of the polygon show live, the pointer's position included.
// Geodesics on the WGS 84 ellipsoid by GeographicLib (Karney's algorithms, the npm package
// geographiclib-geodesic, loaded as the global `geodesic`): exact to the nanometre, the same
// algorithms as PROJ's geod.

import { el } from "./panel.js";
import { t } from "./i18n.js";

const SOURCE = "tools-measure";
const LOCALES = { ky: "ky-KG", ru: "ru-RU", en: "en-GB" };
const UNITS = {
  m: { ky: "м", ru: "м", en: "m" }, km: { ky: "км", ru: "км", en: "km" },
  m2: { ky: "м²", ru: "м²", en: "m²" }, ha: { ky: "га", ru: "га", en: "ha" },
  km2: { ky: "км²", ru: "км²", en: "km²" },
};

// Length and area of the points ([lng, lat]) on WGS 84: { lengthM, areaM2, perimeterM }.
export function geodesicMeasure(points, closed) {
  const polygon = geodesic.Geodesic.WGS84.Polygon(!closed);
  for (const [lng, lat] of points) polygon.AddPoint(lat, lng);
  const result = polygon.Compute(false, true);
  if (!closed) return { lengthM: result.perimeter || 0, areaM2: 0, perimeterM: 0 };
  return { lengthM: 0, areaM2: Math.abs(result.area || 0), perimeterM: result.perimeter || 0 };
}

function number(value, lang, digits) {
  return value.toLocaleString(LOCALES[lang] || "en-GB", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

// A length in m or km; `round` for a scale bar's round lengths (no decimals).
export function formatLength(m, lang, round = false) {
  if (m < 1000) return `${number(m, lang, m < 100 && !round ? 1 : 0)} ${UNITS.m[lang]}`;
  return `${number(m / 1000, lang, round ? 0 : m < 100_000 ? 2 : 1)} ${UNITS.km[lang]}`;
}

export function formatArea(m2, lang) {
  if (m2 < 10_000) return `${number(m2, lang, 0)} ${UNITS.m2[lang]}`;
  if (m2 < 1_000_000) return `${number(m2 / 10_000, lang, 2)} ${UNITS.ha[lang]}`;
  return `${number(m2 / 1_000_000, lang, 2)} ${UNITS.km2[lang]}`;
}

export class Measure {
  constructor(viewer, onChange) {
    this.viewer = viewer;
    this.onChange = onChange;  // told when the tool starts or stops
    this.mode = null;  // "distance", "area" or null
    this.points = [];
    this.pointer = null;
    this.done = false;
    this.box = el("div", { id: "measure", class: "tool-box", role: "status", "aria-live": "polite" });
    this.box.hidden = true;
    viewer.map.getContainer().append(this.box);
  }

  addLayers() {
    const map = this.viewer.map;
    map.addSource(SOURCE, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: `${SOURCE}-fill`, type: "fill", source: SOURCE, filter: ["==", "$type", "Polygon"],
      paint: { "fill-color": "#d9480f", "fill-opacity": 0.15 } });
    map.addLayer({ id: `${SOURCE}-line`, type: "line", source: SOURCE, filter: ["!=", "$type", "Point"],
      paint: { "line-color": "#d9480f", "line-width": 2.5, "line-dasharray": [2, 1] } });
    map.addLayer({ id: `${SOURCE}-points`, type: "circle", source: SOURCE, filter: ["==", "$type", "Point"],
      paint: { "circle-radius": 4.5, "circle-color": "#fff", "circle-stroke-color": "#d9480f", "circle-stroke-width": 2 } });
    map.on("click", (event) => this.click(event.lngLat));
    map.on("mousemove", (event) => {
      if (!this.mode || this.done) return;
      this.pointer = [event.lngLat.lng, event.lngLat.lat];
      this.viewer.map.getCanvas().style.cursor = "crosshair";
      this.draw();
    });
  }

  isActive() { return Boolean(this.mode) && !this.done; }

  start(mode) {
    this.clear();
    this.mode = mode;
    this.box.hidden = false;
    this.viewer.map.getCanvas().style.cursor = "crosshair";
    this.draw();
    this.onChange();
  }

  click(lngLat) {
    if (!this.isActive()) return;
    this.points.push([lngLat.lng, lngLat.lat]);
    this.draw();
  }

  finish() {
    this.done = true;
    this.pointer = null;
    this.viewer.map.getCanvas().style.cursor = "";
    this.draw();
    this.onChange();
  }

  clear() {
    this.mode = null;
    this.points = [];
    this.pointer = null;
    this.done = false;
    this.box.hidden = true;
    if (this.viewer.map.getSource(SOURCE)) this.draw();
    this.viewer.map.getCanvas().style.cursor = "";
    this.onChange();
  }

  // The points measured, with the pointer as the next one while measuring.
  path() {
    return this.pointer ? [...this.points, this.pointer] : this.points;
  }

  draw() {
    const path = this.path();
    const features = this.points.map((p) => ({ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: p } }));
    if (this.mode === "area" && path.length >= 3) {
      features.push({ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [[...path, path[0]]] } });
    } else if (path.length >= 2) {
      features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: path } });
    }
    this.viewer.map.getSource(SOURCE).setData({ type: "FeatureCollection", features });
    if (this.mode) this.renderBox(path);
  }

  renderBox(path) {
    const lang = this.viewer.lang;
    const closed = this.mode === "area";
    const measured = geodesicMeasure(path, closed);
    let text = t(closed ? "measureAreaHint" : "measureDistanceHint", lang);
    if (closed && path.length >= 3) {
      text = `${t("area", lang)}: ${formatArea(measured.areaM2, lang)} · ${t("perimeter", lang)}: ${formatLength(measured.perimeterM, lang)}`;
    } else if (!closed && path.length >= 2) {
      text = `${t("length", lang)}: ${formatLength(measured.lengthM, lang)}`;
    }
    this.box.dataset.lengthM = String(measured.lengthM);
    this.box.dataset.areaM2 = String(measured.areaM2);
    const buttons = [];
    if (!this.done) {
      buttons.push(el("button", { type: "button", class: "measure-finish", text: t("finish", lang), onclick: () => this.finish() }));
    }
    buttons.push(el("button", { type: "button", class: "measure-clear", text: t("clear", lang), onclick: () => this.clear() }));
    this.box.replaceChildren(el("span", { class: "measure-value", text }), ...buttons);
  }
}
