// The layer panel: layers grouped by theme, a toggle, an opacity slider and a legend each.

import { t, tr } from "./i18n.js";

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function swatch(entry) {
  const node = el("span", { class: `swatch swatch-${entry.symbol}`, "aria-hidden": "true" });
  node.style.setProperty("--color", entry.color);
  if (entry.outline) node.style.setProperty("--outline", entry.outline);
  return node;
}

function legend(layer, lang) {
  const list = el("ul", { class: "legend" });
  if (layer.legend.title) list.append(el("li", { class: "legend-field", text: layer.legend.title }));
  const field = layer.fields.find((f) => f.name === layer.legend.field);
  if (field && layer.legend.entries.length > 1) {
    list.append(el("li", { class: "legend-field", text: tr(field.title, lang) }));
  }
  for (const entry of layer.legend.entries) {
    let label = tr(layer.title, lang);
    if (entry.value === "*") label = t("other", lang);
    else if (entry.value) {  // one class, or several sharing a colour ("a, b")
      label = entry.value.split(", ").map((value) => (field && field.labels && field.labels[value]
        ? tr(field.labels[value], lang) : value.replace(/_/g, " "))).join(", ");
    }
    list.append(el("li", {}, [swatch(entry), el("span", { text: label })]));
  }
  return list;
}

// Render the panel into `container`; `viewer` gives the state and receives the changes.
export function renderPanel(container, config, viewer) {
  const lang = viewer.lang;
  container.replaceChildren(el("h2", { text: t("layers", lang), id: "layers-heading" }));
  for (const theme of config.themes) {
    const layers = config.layers.filter((layer) => layer.theme === theme.id);
    const group = el("details", { class: "theme", "data-theme": theme.id });
    group.open = layers.some((layer) => viewer.isVisible(layer.id)) || theme.id === "base";
    group.append(el("summary", { class: "theme-title", text: tr(theme.title, lang) }));
    const list = el("ul", { class: "layer-list" });
    if (theme.id === "base" && config.external_basemap) list.append(externalItem(lang, viewer));
    for (const layer of layers) list.append(layerItem(layer, lang, viewer));
    group.append(list);
    container.append(group);
  }
}

function externalItem(lang, viewer) {
  const checkbox = el("input", { type: "checkbox", id: "toggle-external-basemap" });
  checkbox.checked = Boolean(viewer.external);
  checkbox.addEventListener("change", () => viewer.setExternalBasemap(checkbox.checked));
  return el("li", { class: "layer" }, [el("div", { class: "layer-row" }, [
    checkbox, el("label", { for: "toggle-external-basemap", class: "layer-title", text: t("externalBasemap", lang) }),
  ])]);
}

function layerItem(layer, lang, viewer) {
  const inputId = `toggle-${layer.id}`;
  const checkbox = el("input", { type: "checkbox", id: inputId, "data-layer": layer.id });
  checkbox.checked = viewer.isVisible(layer.id);
  const opacity = el("input", {
    type: "range", min: "0", max: "100", step: "5", class: "opacity",
    "aria-label": `${t("opacity", lang)}: ${tr(layer.title, lang)}`,
    value: String(viewer.opacityOf(layer.id)),
  });
  opacity.addEventListener("input", () => viewer.setOpacity(layer.id, Number(opacity.value)));
  const details = el("div", { class: "layer-details" }, [opacity, legend(layer, lang)]);
  details.hidden = !checkbox.checked;
  checkbox.addEventListener("change", () => {
    details.hidden = !checkbox.checked;
    viewer.setVisible(layer.id, checkbox.checked);
  });
  const zoomHint = el("span", { class: "zoom-hint", "data-minzoom": String(layer.minzoom) });
  zoomHint.textContent = `z${layer.minzoom}+ · ${t("zoomToSee", lang)}`;
  const label = el("label", { for: inputId, class: "layer-title" }, [
    el("span", { text: tr(layer.title, lang) }), zoomHint,
  ]);
  return el("li", { class: "layer", "data-layer": layer.id }, [
    el("div", { class: "layer-row" }, [checkbox, label]), details,
  ]);
}

// Grey out the layers that have nothing to draw at `zoom`.
export function updateZoomHints(container, zoom) {
  for (const hint of container.querySelectorAll(".zoom-hint")) {
    hint.hidden = zoom >= Number(hint.dataset.minzoom);
  }
}

export { el };
