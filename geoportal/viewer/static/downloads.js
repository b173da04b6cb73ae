// The download panel: the chosen visible layer in the current view as GeoJSON or CSV (the
// OGC API items with `bbox`, capped and saying so), the visible layers in the view as a file
// of every format `/downloads/{format}` writes (whole, following the time filter), and as a
// PMTiles package when the server has that endpoint. Formats the server does not offer are
// not shown.

import { el } from "./panel.js";
import { t, tr } from "./i18n.js";

function viewBbox(map) {
  const b = map.getBounds();
  const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
  return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -85, 85),
    clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -85, 85)].map((v) => v.toFixed(5)).join(",");
}

export function renderDownloads(container, config, viewer) {
  const lang = viewer.lang;
  const layers = viewer.visibleLayers().filter((layer) => layer.items);  // no aggregates
  const previous = container.querySelector("select")?.value;
  const heading = el("h2", { text: t("downloads", lang) });
  if (!layers.length || !viewer.map) {
    container.replaceChildren(heading, el("p", { class: "hint", text: t("noVisible", lang) }));
    return;
  }
  const bbox = viewBbox(viewer.map);
  const select = el("select", { id: "download-layer", "aria-label": t("downloadLayer", lang) });
  for (const layer of layers) select.append(el("option", { value: layer.id, text: tr(layer.title, lang) }));
  if (layers.some((layer) => layer.id === previous)) select.value = previous;
  const links = el("p", { class: "download-links" });
  const fill = () => {
    const layer = viewer.layerById[select.value];
    const limit = config.downloads.max_items;
    const query = `bbox=${bbox}&limit=${limit}`;
    links.replaceChildren(el("a", {
      href: `${layer.downloads.geojson}&${query}`, download: `${layer.id}.geojson`,
      "data-format": "geojson", text: "GeoJSON",
    }));
    if (layer.downloads.csv) {
      links.append(el("a", { href: `${layer.downloads.csv}&${query}`, download: `${layer.id}.csv`, "data-format": "csv", text: "CSV" }));
    }
  };
  select.addEventListener("change", fill);
  fill();
  const parts = [heading, el("p", { class: "hint", text: `${t("downloadHint", lang)} (${t("upTo", lang)} ${config.downloads.max_items.toLocaleString()})` }), select, links];
  if (config.downloads.export && config.downloads.formats.length) {
    parts.push(exportLinks(config, viewer, layers, bbox));
  }
  if (config.downloads.pmtiles) {
    const maxzoom = Math.min(16, Math.ceil(viewer.map.getZoom()) + 2);
    const ids = layers.map((layer) => layer.id).join(",");
    parts.push(el("p", {}, [el("a", {
      id: "download-pmtiles", "data-format": "pmtiles",
      href: `${config.downloads.pmtiles}?layers=${ids}&bbox=${bbox}&maxzoom=${maxzoom}`,
      text: t("pmtiles", lang),
    })]));
  }
  container.replaceChildren(...parts);
}

const FORMAT_NAMES = {
  geopackage: "GeoPackage", shapefile: "Shapefile (zip)", geojson: "GeoJSON", geojsonseq: "GeoJSONSeq",
  csv: "CSV", flatgeobuf: "FlatGeobuf", geoparquet: "GeoParquet",
};

// Every layer on, in the view, at the chosen date: one link per format of `/downloads/{format}`.
function exportLinks(config, viewer, layers, bbox) {
  const ids = layers.map((layer) => layer.id).join(",");
  const time = viewer.date ? `&datetime=${encodeURIComponent(`../${viewer.date}T23:59:59Z`)}` : "";
  const links = config.downloads.formats.map((format) => el("a", {
    href: `${config.downloads.export}/${format}?layers=${ids}&bbox=${bbox}${time}`,
    "data-export": format, text: FORMAT_NAMES[format] || format,
  }));
  return el("div", { id: "download-exports" }, [
    el("p", { class: "hint", text: t("exportHint", viewer.lang) }),
    el("p", { class: "download-links" }, links),
  ]);
}
