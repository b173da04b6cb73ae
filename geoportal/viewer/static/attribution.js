// The attribution in the interface language: each layer's declared attribution comes in
// ky/ru/en in /map/config.json (`attribution_i18n`); every tile source gets the texts of its
// layers in the current language, and MapLibre's attribution control is added again to show
// them. On phones it stays folded behind its (i) button.

import { tr } from "./i18n.js";

const MAPLIBRE = '<a href="https://maplibre.org/" target="_blank" rel="noopener">MapLibre</a>';

// The texts, leaving out one that another contains (as MapLibre's control does).
function withoutRepeats(texts) {
  const unique = [...new Set(texts.filter(Boolean))];
  return unique.filter((text) => !unique.some((other) => other !== text && other.includes(text)));
}

// The attribution of every source of `config`'s layers in `lang`: { sourceId: text }.
export function sourceAttributions(config, lang) {
  const out = {};
  for (const layer of config.layers) {
    const text = tr(layer.attribution_i18n, lang) || layer.attribution || "";
    if (!text) continue;
    const parts = out[layer.source] || [];
    if (!parts.includes(text)) parts.push(text);
    out[layer.source] = parts;
  }
  return Object.fromEntries(Object.entries(out).map(([id, parts]) => [id, withoutRepeats(parts).join("; ")]));
}

// The attribution texts of the visible layers (for the PNG export), once each: a text that
// another one contains is left out, as MapLibre's control does.
export function visibleAttributions(viewer) {
  const texts = viewer.visibleLayers().map((layer) => tr(layer.attribution_i18n, viewer.lang) || layer.attribution);
  if (viewer.external && viewer.config.external_basemap) texts.push(viewer.config.external_basemap.attribution);
  return withoutRepeats(texts);
}

// Put the translated texts on the map's sources and (re)add the attribution control.
export function applyAttribution(viewer) {
  const map = viewer.map;
  for (const [id, text] of Object.entries(sourceAttributions(viewer.config, viewer.lang))) {
    const source = map.getSource(id);
    if (source) source.attribution = text;
  }
  if (viewer.attributionControl) map.removeControl(viewer.attributionControl);
  viewer.attributionControl = new maplibregl.AttributionControl({ compact: true, customAttribution: MAPLIBRE });
  map.addControl(viewer.attributionControl, "bottom-right");
  if (window.matchMedia("(max-width: 700px)").matches) {  // folded on phones
    for (const node of document.querySelectorAll(".maplibregl-ctrl-attrib")) {
      node.classList.remove("maplibregl-compact-show");
      node.removeAttribute("open");
    }
  }
}
