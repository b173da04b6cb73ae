// The map tools: measure a distance or an area, export the view as a PNG, the attribute
// table of the features in view, zoom to a layer's extent (a button per layer of the panel)
// and the attribution in the interface language. The viewer (app.js) creates one `Tools`
// when its map exists and calls `render()` when the language or the panel changes, and
// `refresh()` when the visible layers change.

import { el } from "./panel.js";
import { t, tr } from "./i18n.js";
import { Measure } from "./measure.js";
import { AttributeTable } from "./table.js";
import { exportPng } from "./export.js";
import { applyAttribution } from "./attribution.js";

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {  // 24x24 outline icons
  distance: "M3 17 L17 3 L21 7 L7 21 Z M7 13 L9 15 M10 10 L12 12 M13 7 L15 9",
  area: "M4 6 L14 3 L20 10 L16 20 L6 17 Z",
  png: "M4 5 H20 V19 H4 Z M4 15 L9 10 L14 15 M13 13 L16 10 L20 14 M15 8 A1.5 1.5 0 1 0 15.01 8",
  table: "M4 5 H20 V19 H4 Z M4 10 H20 M4 14.5 H20 M10 5 V19",
  extent: "M4 9 V4 H9 M15 4 H20 V9 M20 15 V20 H15 M9 20 H4 V15",
};

function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "tool-icon");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

// The buttons, as a MapLibre control under the zoom buttons.
class ToolbarControl {
  constructor(tools) { this.tools = tools; }

  onAdd() {
    const tool = (id, name, onclick) => el("button", { type: "button", id, class: "tool-button", onclick }, [icon(name)]);
    this.buttons = {
      measureDistance: tool("tool-distance", "distance", () => this.tools.measureToggle("distance")),
      measureArea: tool("tool-area", "area", () => this.tools.measureToggle("area")),
      exportPng: tool("tool-export", "png", () => this.tools.exportView()),
      attributeTable: tool("tool-table", "table", () => this.tools.table.toggle()),
    };
    this.container = el("div", { class: "maplibregl-ctrl maplibregl-ctrl-group tools", role: "toolbar" }, Object.values(this.buttons));
    return this.container;
  }

  onRemove() { this.container.remove(); }

  translate(lang) {
    this.container.setAttribute("aria-label", t("tools", lang));
    for (const [key, button] of Object.entries(this.buttons)) {
      button.title = t(key, lang);
      button.setAttribute("aria-label", t(key, lang));
    }
  }
}

export class Tools {
  constructor(viewer) {
    this.viewer = viewer;
    viewer.tools = this;
    this.extents = {};  // collection id -> [west, south, east, north] (promise)
    const map = viewer.map;
    this.toolbar = new ToolbarControl(this);
    map.addControl(this.toolbar, "top-right");
    this.measure = new Measure(viewer, () => this.changed());
    this.table = new AttributeTable(viewer);
    map.on("load", () => {
      this.measure.addLayers();
      this.table.addLayers();
      applyAttribution(viewer);
      this.loaded = true;
    });
    document.addEventListener("keydown", (event) => this.key(event));
    this.render();
  }

  // True while a click on the map is a measuring point, not a feature's popup.
  takesClicks() { return this.measure.isActive(); }

  key(event) {
    if (event.key !== "Escape") return;
    if (this.measure.isActive() && this.measure.points.length >= 2) this.measure.finish();
    else if (this.measure.mode) this.measure.clear();
    else if (this.table.isOpen()) this.table.close();
  }

  measureToggle(mode) {
    if (this.measure.mode === mode && this.measure.isActive()) this.measure.clear();
    else {
      if (this.viewer.popup) this.viewer.popup.remove();
      this.measure.start(mode);
    }
  }

  async exportView() {
    const button = this.toolbar.buttons.exportPng;
    button.disabled = true;
    try { await exportPng(this.viewer); } finally { button.disabled = false; }
  }

  // The pressed state of the buttons.
  changed() {
    const { buttons } = this.toolbar;
    buttons.measureDistance.setAttribute("aria-pressed", String(this.measure.mode === "distance"));
    buttons.measureArea.setAttribute("aria-pressed", String(this.measure.mode === "area"));
    buttons.attributeTable.setAttribute("aria-pressed", String(this.table.isOpen()));
  }

  // The language or the panel changed.
  render() {
    const lang = this.viewer.lang;
    this.toolbar.translate(lang);
    this.decoratePanel();
    this.changed();
    if (this.loaded) {
      applyAttribution(this.viewer);
      if (this.measure.mode) this.measure.draw();
    }
    if (this.table.isOpen()) this.table.render();
  }

  // The visible layers changed.
  refresh() {
    if (this.table.isOpen()) {
      const before = this.table.layerId;
      this.table.render();
      if (this.table.layerId !== before) this.table.load();
    }
  }

  // A "zoom to the layer" button on each layer of the panel.
  decoratePanel() {
    const lang = this.viewer.lang;
    for (const item of document.querySelectorAll("#layers li.layer[data-layer]")) {
      const layer = this.viewer.layerById[item.dataset.layer];
      const row = item.querySelector(".layer-row");
      if (!layer || !row || row.querySelector(".zoom-layer")) continue;
      const label = `${t("zoomToLayer", lang)}: ${tr(layer.title, lang)}`;
      row.append(el("button", {
        type: "button", class: "zoom-layer", title: label, "aria-label": label,
        "data-layer": layer.id, onclick: () => this.zoomToLayer(layer.id),
      }, [icon("extent")]));
    }
  }

  // The layer's extent from its collection's metadata (`extent.spatial.bbox`).
  extentOf(id) {
    if (!this.extents[id]) {
      const url = `${this.viewer.config.links.collections}/${encodeURIComponent(id)}?f=json`;
      this.extents[id] = fetch(url).then((r) => (r.ok ? r.json() : Promise.reject(new Error(`${r.status}`))))
        .then((body) => body.extent.spatial.bbox[0])
        .catch((error) => { delete this.extents[id]; throw error; });
    }
    return this.extents[id];
  }

  async zoomToLayer(id) {
    // an aggregate (farming per rayon) covers what its source collection covers
    const collection = this.viewer.layerById[id]?.aggregate_of || id;
    let extent;
    try { extent = await this.extentOf(collection); } catch (error) { return; }  // none known
    const [west, south, east, north] = extent;
    if (!this.viewer.isVisible(id)) this.viewer.setVisible(id, true);
    this.viewer.map.fitBounds([[west, south], [east, north]], { padding: 20, maxZoom: 16 });
    this.viewer.map.once("moveend", () => { document.body.dataset.zoomedTo = id; });
  }
}
