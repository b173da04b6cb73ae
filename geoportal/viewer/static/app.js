// The geoportal's public map viewer: MapLibre GL JS on the national basemap tiles and the
// vector tiles of every layer, all described by /map/config.json (generated from the layer
// catalogue). Plain ES modules, no build step.

import { LANGUAGE_NAMES, initialLanguage, rememberLanguage, t } from "./i18n.js";
import { el, renderPanel, updateZoomHints } from "./panel.js";
import { popupContent } from "./popup.js";
import { setupSearch } from "./search.js";
import { readHashState, writeHashState } from "./state.js";
import { renderDownloads } from "./downloads.js";
import { renderTimeControl } from "./time.js";
import { PlaceLabels } from "./labels.js";
import { retryUrl, setupTileRetry } from "./retry.js";
import { coordinateText } from "./coords.js";
import { Tools } from "./tools.js";
import { BasemapLabels, groundStyle } from "./basemap.js";

// Tooltips of MapLibre's buttons in the interface language.
function mapLocale(lang) {
  const keys = ["zoomIn", "zoomOut", "resetBearing", "fullscreen", "exitFullscreen", "toggleAttribution", "locate"];
  const names = ["NavigationControl.ZoomIn", "NavigationControl.ZoomOut", "NavigationControl.ResetBearing",
    "FullscreenControl.Enter", "FullscreenControl.Exit", "AttributionControl.ToggleAttribution",
    "GeolocateControl.FindMyLocation"];
  return Object.fromEntries(names.map((name, i) => [name, t(keys[i], lang)]));
}

const TYPE_ORDER = { background: 0, fill: 1, raster: 1.5, "fill-extrusion": 2, line: 3, circle: 4, symbol: 5 };
const PITCH_3D = 15;

function buildStyle(config, basemap) {
  const bounds = basemap.bounds;
  const sources = {
    basemap: {
      type: "vector", tiles: basemap.tiles.map(retryUrl), minzoom: basemap.minzoom,
      maxzoom: basemap.maxzoom, bounds, attribution: basemap.attribution,
    },
  };
  const entries = [];
  config.layers.forEach((layer, order) => {
    if (layer.raster_tiles) {  // a raster product of the image bank (PNG map tiles)
      sources[layer.source] = {
        type: "raster", tiles: [retryUrl(layer.raster_tiles)], tileSize: 256, minzoom: layer.minzoom,
        maxzoom: layer.maxzoom, attribution: layer.attribution || "",
      };
    }
    const source = sources[layer.source];
    if (layer.tiles && source) {  // a composite source of several layers (`collections=`)
      source.minzoom = Math.min(source.minzoom, Math.max(0, layer.minzoom));
      source.maxzoom = Math.max(source.maxzoom, layer.maxzoom);
      if (layer.attribution && !source.attribution.includes(layer.attribution)) {
        source.attribution = [source.attribution, layer.attribution].filter(Boolean).join("; ");
      }
    } else if (layer.geojson) {  // a small aggregate the server computes (agri_plots by rayon)
      sources[layer.source] = { type: "geojson", data: layer.geojson, attribution: layer.attribution || "" };
    } else if (layer.tiles) {
      sources[layer.source] = {
        type: "vector", tiles: [retryUrl(layer.tiles)], minzoom: Math.max(0, layer.minzoom),
        maxzoom: layer.maxzoom, bounds, attribution: layer.attribution || "",
      };
    }
    for (const styleLayer of layer.style) entries.push({ order, styleLayer });
    if (layer.extrusion) {
      entries.push({ order, styleLayer: { ...layer.extrusion, source: layer.source } });
    }
  });
  entries.sort((a, b) => (TYPE_ORDER[a.styleLayer.type] - TYPE_ORDER[b.styleLayer.type])
    || (a.order - b.order));
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#e6e2d8" } }];
  if (config.external_basemap) {  // optional, configured by deployments with internet
    sources.external = {
      type: "raster", tiles: [config.external_basemap.tiles], tileSize: 256,
      attribution: config.external_basemap.attribution,
    };
    layers.push({ id: "external", type: "raster", source: "external", layout: { visibility: "none" } });
  }
  const ground = groundStyle(config, retryUrl);  // the ground above z10 (basemap.js)
  Object.assign(sources, ground.sources);
  layers.push(...ground.layers);
  for (const { styleLayer } of entries) {
    layers.push({ ...styleLayer, layout: { ...(styleLayer.layout || {}), visibility: "none" } });
  }
  return { version: 8, sources, layers };
}

class Viewer {
  constructor(config) {
    this.config = config;
    this.lang = initialLanguage(config);
    this.layerById = Object.fromEntries(config.layers.map((layer) => [layer.id, layer]));
    this.styleOwner = {};
    for (const layer of config.layers) {
      for (const styleLayer of layer.style) this.styleOwner[styleLayer.id] = layer;
      if (layer.extrusion) this.styleOwner[layer.extrusion.id] = layer;
    }
    const state = readHashState();
    const known = new Set(config.layers.map((layer) => layer.id));
    this.visible = new Set(state.layers ? state.layers.filter((id) => known.has(id))
      : config.layers.filter((layer) => layer.visible).map((layer) => layer.id));
    this.opacity = state.opacity;
    this.date = state.date;
    this.external = Boolean(config.external_basemap) && state.external;
    this.popup = null;
  }

  // -- state --------------------------------------------------------------------------
  isVisible(id) { return this.visible.has(id); }
  opacityOf(id) { return this.opacity[id] ?? 100; }
  visibleLayers() { return this.config.layers.filter((layer) => this.visible.has(layer.id)); }
  saveState() {
    writeHashState({ layers: [...this.visible], opacity: this.opacity, date: this.date,
      external: this.external });
  }

  setVisible(id, on) {
    if (on) this.visible.add(id); else this.visible.delete(id);
    const checkbox = document.getElementById(`toggle-${id}`);
    if (checkbox && checkbox.checked !== on) {
      checkbox.checked = on;
      checkbox.closest(".layer").querySelector(".layer-details").hidden = !on;
      checkbox.closest("details").open = true;
    }
    this.applyLayer(this.layerById[id]);
    this.saveState();
    this.refreshPanels();
    if (id === "settlements") this.refreshLabels();
  }

  setOpacity(id, value) {
    this.opacity[id] = value;
    this.applyLayer(this.layerById[id]);
    this.saveState();
  }

  setExternalBasemap(on) {
    this.external = on;
    this.map.setLayoutProperty("external", "visibility", on ? "visible" : "none");
    if (this.layerById.country) this.applyLayer(this.layerById.country);
    this.saveState();
  }

  setDate(date) {
    this.date = date;
    this.refreshPanels();
    this.applyDate();
    this.saveState();
  }

  // The tile template of each source with layers filtered by time, with the date if one is set.
  timedSources() {
    const out = {};
    for (const layer of this.config.layers) {
      if (layer.time && (layer.tiles || layer.raster_tiles)) out[layer.source] = layer.tiles || layer.raster_tiles;
    }
    return out;
  }

  tileUrl(template) {
    if (!this.date) return template;
    const sep = template.includes("?") ? "&" : "?";
    return `${template}${sep}datetime=${encodeURIComponent(`../${this.date}T23:59:59Z`)}`;
  }

  applyDate() {
    for (const [source, template] of Object.entries(this.timedSources())) {
      this.map.getSource(source).setTiles([retryUrl(this.tileUrl(template))]);
    }
  }

  // Ask again for every tile (after tiles kept failing).
  reloadTiles() {
    for (const [id, source] of Object.entries(this.map.getStyle().sources)) {
      if (source.type === "vector" || source.type === "raster") this.map.getSource(id).setTiles(source.tiles);
    }
  }

  tileTrouble(state) {
    const notice = document.getElementById("notice");
    if (state === "ok") {
      if (notice.dataset.state === "retrying") notice.hidden = true;
      return;
    }
    if (state === "retrying" && notice.dataset.state === "failed" && !notice.hidden) return;
    notice.dataset.state = state;
    notice.querySelector("span").textContent = t(state === "failed" ? "tilesFailed" : "tilesRetrying", this.lang);
    notice.querySelector("button").hidden = state !== "failed";
    notice.hidden = false;
  }

  // -- the map ------------------------------------------------------------------------
  applyLayer(layer) {
    const on = this.visible.has(layer.id);
    const factor = this.opacityOf(layer.id) / 100;
    const pitched = this.map.getPitch() >= PITCH_3D;
    for (const styleLayer of layer.style) {
      // Buildings tilted draw as 3D; over an external base map the country fill would hide it.
      const flatHidden = (layer.extrusion && pitched && styleLayer.type === "fill")
        || (this.external && styleLayer.id === "country-0");
      this.map.setLayoutProperty(styleLayer.id, "visibility", on && !flatHidden ? "visible" : "none");
      const property = `${styleLayer.type}-opacity`;
      if (["fill", "line", "circle", "raster"].includes(styleLayer.type)) {
        const declared = (styleLayer.paint || {})[property];
        let value = factor;  // the declared opacity (a number or an expression) times the slider
        if (typeof declared === "number") value = declared * factor;
        else if (Array.isArray(declared)) {
          // A zoom curve must stay the outermost expression: it keeps its declared opacity.
          const zoomCurve = JSON.stringify(declared).includes('["zoom"]');
          value = factor === 1 || zoomCurve ? declared : ["*", factor, declared];
        }
        this.map.setPaintProperty(styleLayer.id, property, value);
      }
    }
    if (layer.extrusion) {
      this.map.setLayoutProperty(layer.extrusion.id, "visibility", on && pitched ? "visible" : "none");
      this.map.setPaintProperty(layer.extrusion.id, "fill-extrusion-opacity", 0.9 * factor);
    }
  }

  start(basemap) {
    const view = this.config.view;
    this.tileStats = setupTileRetry((state) => this.tileTrouble(state));
    const firstVisit = !location.hash.includes("map=");  // read before the map writes it
    this.map = new maplibregl.Map({
      container: "map",
      style: buildStyle(this.config, basemap),
      center: view.center,
      zoom: view.zoom,
      hash: "map",
      maxPitch: 70,
      attributionControl: false,  // added by tools.js, in the interface language
      locale: mapLocale(this.lang),
    });
    if (firstVisit && view.bounds) {  // a first visit: the whole country
      const [west, south, east, north] = view.bounds;
      this.map.fitBounds([[west, south], [east, north]], { padding: 8, animate: false });
    }
    this.map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    this.map.addControl(new maplibregl.FullscreenControl(), "top-right");
    this.map.addControl(new maplibregl.GeolocateControl({
      positionOptions: { enableHighAccuracy: true }, fitBoundsOptions: { maxZoom: 15 },
    }), "top-right");
    this.tools = new Tools(this);  // measure, PNG, attribute table, zoom to a layer, attribution
    this.map.on("load", () => {
      if (this.date) this.applyDate();
      for (const layer of this.config.layers) this.applyLayer(layer);
      if (this.external) this.setExternalBasemap(true);
      this.saveState();
      updateZoomHints(document.getElementById("layers"), this.map.getZoom());
      this.refreshPanels();
      document.body.dataset.mapReady = "true";
    });
    this.map.on("pitchend", () => this.visibleLayers().forEach((layer) => this.applyLayer(layer)));
    this.labels = new PlaceLabels(this.map);
    this.basemapLabels = new BasemapLabels(this.map, this.config, this);
    this.map.on("moveend", () => { this.refreshPanels(); this.refreshLabels(); });
    this.map.on("idle", () => { if (!this.labelsDrawn) { this.labelsDrawn = true; this.refreshLabels(); } });
    this.map.on("zoomend", () => updateZoomHints(document.getElementById("layers"), this.map.getZoom()));
    this.map.on("click", (event) => {
      if (this.tools.takesClicks()) return;  // a measuring point
      if (window.matchMedia("(max-width: 700px)").matches) this.closePanel();  // a tap on the map
      this.identify(event.point, event.lngLat);
    });
    this.map.once("idle", () => {  // phones: the attribution folded behind its (i) button
      if (window.matchMedia("(max-width: 700px)").matches) {
        for (const node of document.querySelectorAll(".maplibregl-ctrl-attrib")) {
          node.classList.remove("maplibregl-compact-show");
          node.removeAttribute("open");
        }
      }
    });
    const coords = document.getElementById("coords");
    this.map.on("mousemove", (event) => {
      coords.textContent = coordinateText(event.lngLat, this.config.grid);
      this.map.getCanvas().style.cursor = this.featuresAt(event.point).length ? "pointer" : "";
    });
    this.map.getCanvas().setAttribute("aria-label", t("map", this.lang));
  }

  featuresAt(point) {
    const layers = this.map.getStyle().layers
      .filter((l) => this.styleOwner[l.id] && this.visible.has(this.styleOwner[l.id].id)
        && l.id !== "country-0" && this.map.getLayoutProperty(l.id, "visibility") === "visible")
      .map((l) => l.id);
    if (!layers.length) return [];
    const box = [[point.x - 4, point.y - 4], [point.x + 4, point.y + 4]];
    return this.map.queryRenderedFeatures(box, { layers });
  }

  // Every feature under the pointer, once each (a feature drawn by several style layers or
  // tiles is one), topmost first: the popup steps through them.
  identify(point, lngLat) {
    const seen = new Set();
    const hits = [];
    for (const feature of this.featuresAt(point)) {
      if (feature.id === undefined) continue;
      const layer = this.styleOwner[feature.layer.id];
      const key = `${layer.id}/${feature.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      hits.push({ layer, id: feature.id, properties: feature.properties });
    }
    if (hits.length) this.openPopup(hits[0].layer, hits[0].id, hits[0].properties, lngLat, hits, 0);
  }

  stepper(hits, index, lngLat) {
    if (!hits || hits.length < 2) return null;
    const go = (step) => {
      const next = (index + step + hits.length) % hits.length;
      const hit = hits[next];
      this.openPopup(hit.layer, hit.id, hit.properties, lngLat, hits, next);
    };
    return el("nav", { class: "popup-stepper", "aria-label": t("featureOf", this.lang) }, [
      el("button", { type: "button", class: "popup-prev", "aria-label": t("previous", this.lang), text: "‹", onclick: () => go(-1) }),
      el("span", { class: "popup-count", text: `${index + 1} / ${hits.length}` }),
      el("button", { type: "button", class: "popup-next", "aria-label": t("next", this.lang), text: "›", onclick: () => go(1) }),
    ]);
  }

  openPopup(layer, featureId, properties, lngLat, hits = null, index = 0) {
    if (this.popup) this.popup.remove();
    this.popup = new maplibregl.Popup({ maxWidth: "340px", focusAfterOpen: true })
      .setLngLat(lngLat).setHTML("").addTo(this.map);
    popupContent(layer, featureId, properties, this, this.config, this.stepper(hits, index, lngLat))
      .catch(() => {});
  }

  showPopupContent(node) {
    if (this.popup) this.popup.setDOMContent(node);
  }

  async flyToResult(result) {
    const [minx, miny, maxx, maxy] = result.bbox;
    const layer = this.layerById[result.collection];
    if (layer && !this.visible.has(layer.id)) this.setVisible(layer.id, true);
    const center = [(minx + maxx) / 2, (miny + maxy) / 2];
    const minZoom = layer ? Math.max(layer.minzoom + 1, 10) : 12;
    if (maxx - minx < 1e-6 && maxy - miny < 1e-6) {
      // a town given as a point: the whole town (about 20 km across), not one street
      const town = ["settlements", "oblasts", "rayons", "city_districts"].includes(result.collection);
      this.map.flyTo({ center, zoom: town ? 11 : Math.max(minZoom, 15) });
    } else {
      const camera = this.map.cameraForBounds([[minx, miny], [maxx, maxy]], { padding: 60, maxZoom: 18 });
      this.map.flyTo({ ...camera, zoom: Math.max(camera.zoom, layer ? layer.minzoom : 0) });
    }
    this.map.once("moveend", () => {
      if (layer) this.openPopup(layer, result.id, {}, center);
      document.body.dataset.searchDone = result.id;
    });
  }

  refreshLabels() {
    this.labels.update(this.lang, this.visible.has("settlements"));
    if (this.basemapLabels) this.basemapLabels.update(this.lang, this.labels.boxes);
  }

  // -- panels -------------------------------------------------------------------------
  refreshPanels() {
    renderDownloads(document.getElementById("downloads"), this.config, this);
    if (this.tools) this.tools.refresh();
  }

  renderAll() {
    document.documentElement.lang = this.lang;
    document.title = `${t("title", this.lang)} — ${t("map", this.lang)}`;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n, this.lang);
    for (const node of document.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel, this.lang));
    const input = document.getElementById("search-input");
    input.placeholder = t("searchPlaceholder", this.lang);
    for (const button of document.querySelectorAll("#languages button")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === this.lang));
    }
    renderPanel(document.getElementById("layers"), this.config, this);
    if (this.tools) this.tools.render();
    if (this.map) updateZoomHints(document.getElementById("layers"), this.map.getZoom());
    renderTimeControl(document.getElementById("time"), this.config, this);
    if (this.map) {
      this.map.getCanvas().setAttribute("aria-label", t("map", this.lang));
      this.translateControls();
      this.refreshPanels();
      this.refreshLabels();
    }
  }

  translateControls() {
    const titles = { "zoom-in": "zoomIn", "zoom-out": "zoomOut", compass: "resetBearing",
      fullscreen: "fullscreen", shrink: "exitFullscreen", "attrib-button": "toggleAttribution",
      geolocate: "locate" };
    for (const [cls, key] of Object.entries(titles)) {
      for (const node of document.querySelectorAll(`.maplibregl-ctrl-${cls}`)) {
        node.title = t(key, this.lang);
        node.setAttribute("aria-label", t(key, this.lang));
      }
    }
  }

  closePanel() {
    document.getElementById("sidebar").classList.add("closed");
    document.getElementById("panel-toggle").setAttribute("aria-expanded", "false");
  }

  setLanguage(lang) {
    this.lang = lang;
    rememberLanguage(lang);
    this.renderAll();
    if (this.popup) this.popup.remove();
  }
}

function setupChrome(viewer) {
  const languages = document.getElementById("languages");
  for (const lang of viewer.config.languages) {
    languages.append(el("button", {
      type: "button", "data-lang": lang, lang, title: LANGUAGE_NAMES[lang],
      text: lang.toUpperCase(), onclick: () => viewer.setLanguage(lang),
    }));
  }
  const toggle = document.getElementById("panel-toggle");
  const sidebar = document.getElementById("sidebar");
  const narrow = window.matchMedia("(max-width: 700px)");
  const setOpen = (open) => {
    sidebar.classList.toggle("closed", !open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  setOpen(!narrow.matches);
  toggle.addEventListener("click", () => setOpen(sidebar.classList.contains("closed")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && viewer.popup) viewer.popup.remove();
  });
  const share = document.getElementById("share");
  share.addEventListener("click", async () => {  // the URL holds the whole view
    const url = location.href;
    try {
      if (navigator.clipboard) await navigator.clipboard.writeText(url);
      else if (navigator.share) { await navigator.share({ url, title: document.title }); return; }
      share.textContent = t("linkCopied", viewer.lang);
      share.dataset.copied = url;
      setTimeout(() => { share.textContent = t("share", viewer.lang); }, 2500);
    } catch (error) { /* the person closed the share sheet or refused the clipboard */ }
  });
  const notice = document.getElementById("notice");
  notice.querySelector("button").addEventListener("click", () => {
    notice.hidden = true;
    viewer.reloadTiles();
  });
  document.getElementById("api-link").href = viewer.config.links.api;
  document.getElementById("catalogue-link").href = `${viewer.config.links.catalogue}?f=html`;
}

async function main() {
  const script = document.querySelector("script[data-config]");
  const response = await fetch(script.dataset.config);
  const config = await response.json();
  const viewer = new Viewer(config);
  window.geoportalViewer = viewer;
  setupChrome(viewer);
  viewer.renderAll();
  const basemap = await (await fetch(config.basemap.tilejson)).json();
  viewer.start(basemap);
  setupSearch(document.getElementById("search"), config, viewer);
}

main().catch((error) => {
  document.getElementById("map").textContent = `${t("loadFailed", "en")}: ${error.message}`;
  throw error;
});

