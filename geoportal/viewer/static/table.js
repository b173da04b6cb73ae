// The attribute table: the features of a chosen visible layer within the map's view, from
// `/collections/{id}/items?bbox=&limit=&offset=` (one page of PAGE_SIZE at a time), with the
// declarations' field titles and value labels in the interface language, the count of
// matches (numberMatched; "more" when the server does not count that far), paging, and a click
// on a row that frames and highlights the feature. It follows the map, debounced, asking for
// one page per settled view and again after a 429's Retry-After.

import { el } from "./panel.js";
import { t, tr } from "./i18n.js";
import { formatValue } from "./popup.js";

const PAGE_SIZE = 20;
const DEBOUNCE_MS = 600;
const MAX_TRIES = 3;
const HIGHLIGHT = "tools-highlight";
const LOCALES = { ky: "ky-KG", ru: "ru-RU", en: "en-GB" };

function viewBbox(map) {
  const b = map.getBounds();
  const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
  return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -85, 85),
    clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -85, 85)].map((v) => v.toFixed(5)).join(",");
}

// A fetch that waits out a 429/503 (its Retry-After) a few times before giving up.
async function fetchJson(url, signal) {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(url, { signal, headers: { Accept: "application/geo+json" } });
    if (response.ok) return response.json();
    if (![429, 503].includes(response.status) || attempt >= MAX_TRIES) throw new Error(`${response.status}`);
    const seconds = Number(response.headers.get("Retry-After")) || attempt;
    await new Promise((resolve) => setTimeout(resolve, Math.min(seconds, 10) * 1000));
  }
}

// [west, south, east, north] of a GeoJSON geometry.
function geometryBbox(geometry) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.type === "GeometryCollection" ? geometry.geometries.map((g) => g.coordinates) : geometry.coordinates);
  return box;
}

export class AttributeTable {
  constructor(viewer) {
    this.viewer = viewer;
    this.layerId = null;
    this.offset = 0;
    this.timer = null;
    this.controller = null;
    this.keepView = false;  // a move made by a click on a row keeps the rows
    this.section = el("section", { id: "feature-table", class: "tool-box" });
    this.section.hidden = true;
    viewer.map.getContainer().append(this.section);
  }

  isOpen() { return !this.section.hidden; }

  addLayers() {
    const map = this.viewer.map;
    map.addSource(HIGHLIGHT, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: `${HIGHLIGHT}-fill`, type: "fill", source: HIGHLIGHT, filter: ["==", "$type", "Polygon"],
      paint: { "fill-color": "#ffd43b", "fill-opacity": 0.35 } });
    map.addLayer({ id: `${HIGHLIGHT}-line`, type: "line", source: HIGHLIGHT, filter: ["!=", "$type", "Point"],
      paint: { "line-color": "#f08c00", "line-width": 4 } });
    map.addLayer({ id: `${HIGHLIGHT}-point`, type: "circle", source: HIGHLIGHT, filter: ["==", "$type", "Point"],
      paint: { "circle-radius": 9, "circle-color": "rgba(255,212,59,.5)", "circle-stroke-color": "#f08c00", "circle-stroke-width": 3 } });
    map.on("moveend", () => {
      if (!this.isOpen()) return;
      if (this.keepView) { this.keepView = false; return; }
      this.offset = 0;
      this.schedule();
    });
  }

  toggle() {
    if (this.isOpen()) this.close(); else this.open();
    this.viewer.tools.changed();
  }

  open() {
    this.section.hidden = false;
    this.offset = 0;
    this.render();
    this.load();
  }

  close() {
    this.section.hidden = true;
    if (this.controller) this.controller.abort();
    this.highlight(null);
    this.viewer.tools.changed();
  }

  // The layers the table can show: visible ones with features (not rasters).
  layers() {
    return this.viewer.visibleLayers().filter((layer) => layer.items);
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), DEBOUNCE_MS);
  }

  // The page's URL for the current layer, view and offset.
  url(layer) {
    const params = new URLSearchParams({ f: "json", bbox: viewBbox(this.viewer.map), limit: String(PAGE_SIZE), offset: String(this.offset) });
    if (this.viewer.date && layer.time) params.set("datetime", `../${this.viewer.date}T23:59:59Z`);
    return `${layer.items}?${params}`;
  }

  async load() {
    const layer = this.viewer.layerById[this.layerId];
    if (!this.isOpen() || !layer) { this.render(); return; }
    if (this.controller) this.controller.abort();
    this.controller = new AbortController();
    const url = this.url(layer);
    this.section.dataset.state = "loading";
    try {
      const body = await fetchJson(url, this.controller.signal);
      this.page = { url, layer, body };
      this.section.dataset.url = url;
      this.section.dataset.state = "done";
    } catch (error) {
      if (error.name === "AbortError") return;
      this.page = { url, layer, error: true };
      this.section.dataset.state = "failed";
    }
    this.render();
  }

  render() {
    const lang = this.viewer.lang;
    const layers = this.layers();
    if (!layers.some((layer) => layer.id === this.layerId)) {
      this.layerId = layers.length ? layers[0].id : null;
      this.page = null;
    }
    const select = el("select", { id: "table-layer", "aria-label": t("downloadLayer", lang) });
    for (const layer of layers) select.append(el("option", { value: layer.id, text: tr(layer.title, lang) }));
    if (this.layerId) select.value = this.layerId;
    select.addEventListener("change", () => { this.layerId = select.value; this.offset = 0; this.page = null; this.load(); });
    const close = el("button", { type: "button", class: "table-close", "aria-label": t("close", lang), title: t("close", lang), text: "×", onclick: () => this.close() });
    const header = el("div", { class: "table-header" }, [el("h2", { text: t("attributeTable", lang) }), select, close]);
    const parts = [header];
    if (!this.layerId) parts.push(el("p", { class: "hint", text: t("noVisible", lang) }));
    else if (this.page && this.page.layer.id === this.layerId) parts.push(...this.pageParts(lang));
    this.section.replaceChildren(...parts);
  }

  pageParts(lang) {
    const { layer, body, error } = this.page;
    if (error) return [el("p", { class: "hint", text: t("tableFailed", lang) })];
    const features = body.features || [];
    const locale = LOCALES[lang] || "en-GB";
    const matched = body.numberMatched;
    const hasNext = (body.links || []).some((link) => link.rel === "next") || (matched ?? 0) > this.offset + features.length;
    let count = t("noFeatures", lang);
    if (features.length) {
      const range = `${(this.offset + 1).toLocaleString(locale)}–${(this.offset + features.length).toLocaleString(locale)}`;
      count = matched !== undefined ? `${range} ${t("of", lang)} ${matched.toLocaleString(locale)}`
        : `${range} ${t(hasNext ? "ofMore" : "of", lang)}${hasNext ? "" : ` ${(this.offset + features.length).toLocaleString(locale)}`}`;
    }
    const counter = el("span", { class: "table-count", "data-matched": matched === undefined ? "" : String(matched), text: count });
    const prev = el("button", { type: "button", class: "table-prev", text: "‹", "aria-label": t("previous", lang), onclick: () => { this.offset = Math.max(0, this.offset - PAGE_SIZE); this.load(); } });
    const next = el("button", { type: "button", class: "table-next", text: "›", "aria-label": t("next", lang), onclick: () => { this.offset += PAGE_SIZE; this.load(); } });
    prev.disabled = this.offset === 0;
    next.disabled = !hasNext;
    const fields = layer.fields;
    const head = el("tr", {}, fields.map((f) => el("th", { scope: "col", text: tr(f.title, lang) })));
    const rows = features.map((feature) => {
      const row = el("tr", { tabindex: "0", "data-id": String(feature.id) },
        fields.map((f) => el("td", { text: formatValue(feature.properties[f.name], f, lang) })));
      const pick = () => this.zoomTo(feature, row);
      row.addEventListener("click", pick);
      row.addEventListener("keydown", (event) => { if (event.key === "Enter") pick(); });
      return row;
    });
    const table = el("table", { class: "attributes feature-rows" }, [el("thead", {}, [head]), el("tbody", {}, rows)]);
    return [el("div", { class: "table-paging" }, [prev, counter, next]), el("div", { class: "table-scroll" }, [table])];
  }

  zoomTo(feature, row) {
    for (const other of this.section.querySelectorAll("tr[aria-selected]")) other.removeAttribute("aria-selected");
    row.setAttribute("aria-selected", "true");
    this.highlight(feature);
    if (!feature.geometry) return;
    const [west, south, east, north] = geometryBbox(feature.geometry);
    this.keepView = true;
    const map = this.viewer.map;
    if (east - west < 1e-6 && north - south < 1e-6) map.flyTo({ center: [west, south], zoom: Math.max(map.getZoom(), 15) });
    else map.fitBounds([[west, south], [east, north]], { padding: 60, maxZoom: 17 });
  }

  highlight(feature) {
    const source = this.viewer.map.getSource(HIGHLIGHT);
    if (source) source.setData({ type: "FeatureCollection", features: feature && feature.geometry ? [feature] : [] });
    this.section.dataset.highlighted = feature ? String(feature.id) : "";
  }
}
