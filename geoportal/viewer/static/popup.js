// Feature popups: the public attributes (formatted in the interface language), links to the
// item in the OGC API, to the dataset's catalogue record and to a quick-look page, and for
// features with related time series (a sensor's readings) a small chart.

import { el } from "./panel.js";
import { formatDate, t, tr } from "./i18n.js";

const LOCALES = { ky: "ky-KG", ru: "ru-RU", en: "en-GB" };

export function isEmpty(value) {
  return value === null || value === undefined || value === "";
}

export function formatValue(value, field, lang) {
  if (isEmpty(value)) return "—";
  if (field && field.labels && field.labels[value]) return tr(field.labels[value], lang);
  const locale = LOCALES[lang] || "en-GB";
  if (field && (field.type === "double" || field.type === "integer" || field.type === "bigint")) {
    const number = Number(value);
    if (field.name.endsWith("id") || field.name === "geonameid" || field.name.endsWith("year")
        || field.name === "year_built") return String(value);
    return number.toLocaleString(locale, { maximumFractionDigits: 2 });
  }
  if (field && field.type === "timestamptz") {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value)
      : formatDate(date, lang, { time: true, timeZone: "Asia/Bishkek" });
  }
  if (field && field.type === "date") {
    const date = new Date(`${value}T00:00:00Z`);
    return Number.isNaN(date.getTime()) ? String(value)
      : formatDate(date, lang);
  }
  if (typeof value === "boolean") return value ? "✓" : "✗";
  return String(value).replace(/_/g, " ");
}

function attributeTable(layer, properties, lang) {
  const table = el("table", { class: "attributes" });
  for (const field of layer.fields) {
    if (isEmpty(properties[field.name])) continue;  // only the fields that apply
    table.append(el("tr", {}, [
      el("th", { scope: "row", text: tr(field.title, lang) }),
      el("td", { text: formatValue(properties[field.name], field, lang) }),
    ]));
  }
  return table;
}

function links(layer, featureId, lang, base) {
  const item = `${layer.items}/${encodeURIComponent(featureId)}`;
  return el("p", { class: "popup-links" }, [
    el("a", { href: `${item}?f=html&lang=${lang}`, target: "_blank", rel: "noopener", text: t("openItem", lang) }),
    el("a", { href: `${layer.record}?f=html&lang=${lang}`, target: "_blank", rel: "noopener", text: t("record", lang) }),
    el("a", { href: `${base}/collections/${layer.id}/items/${encodeURIComponent(featureId)}/preview?lang=${lang}`, target: "_blank", rel: "noopener", text: t("preview", lang) }),
  ]);
}

// An SVG line chart of one numeric series (no library needed for 30 points).
function sparkline(points) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 240 60");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("role", "img");
  const values = points.map((p) => p.value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const times = points.map((p) => p.time);
  const t0 = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - t0);
  const path = points.map((p, i) => {
    const x = 4 + ((p.time - t0) / span) * 232;
    const y = 56 - ((p.value - min) / Math.max(1e-9, max - min)) * 52;
    return `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
  }).join(" ");
  const line = document.createElementNS(ns, "path");
  line.setAttribute("d", path);
  svg.append(line);
  return svg;
}

// The latest readings of a sensor whatever their date (up to the chosen date when the time
// filter is on), oldest first; "no readings" in words when there are none.
async function relatedSeries(related, featureId, untilDate, lang) {
  const url = new URL(`${related.items}`);
  url.searchParams.set(related.field, featureId);
  if (untilDate) url.searchParams.set("datetime", `../${untilDate}T23:59:59Z`);
  url.searchParams.set("sortby", `-${related.time_field}`);
  url.searchParams.set("limit", "60");
  url.searchParams.set("f", "json");
  const box = el("div", { class: "related" }, [el("h4", { text: `${tr(related.title, lang)} · ${t("readings", lang)}` })]);
  const response = await fetch(url);
  const body = response.ok ? await response.json() : { features: [] };
  const features = [...body.features].reverse();
  for (const value of related.values) {
    const points = features
      .map((f) => ({ time: Date.parse(f.properties[related.time_field]), value: f.properties[value.name] }))
      .filter((p) => !isEmpty(p.value) && !Number.isNaN(p.time));
    if (!points.length) continue;
    const last = points[points.length - 1];
    const when = formatDate(new Date(last.time), lang, { time: true, timeZone: "Asia/Bishkek" });
    box.append(el("p", { class: "series-title", text: `${tr(value.title, lang)}: ${formatValue(last.value, { type: "double", name: value.name }, lang)} (${t("lastReading", lang)}: ${when})` }));
    if (points.length > 1) box.append(sparkline(points));
  }
  if (box.childElementCount === 1) box.append(el("p", { class: "no-readings", text: t("noReadings", lang) }));
  return box;
}

function popupTitle(layer, properties, featureId, lang) {
  if (layer.popup_title) {
    const parts = layer.popup_title.map((name) => properties[name] === undefined ? null
      : formatValue(properties[name], layer.fields.find((f) => f.name === name), lang));
    if (parts.every((part) => part)) return parts.join(" · ");
  }
  const name = properties[`name_${lang}`] || properties[layer.title_field];
  if (isEmpty(name)) return `${tr(layer.title, lang)} #${featureId}`;
  return formatValue(name, layer.fields.find((f) => f.name === layer.title_field), lang);
}

// The content of a popup: first from the tile's attributes, then completed from the API.
export async function popupContent(layer, featureId, tileProperties, viewer, config, stepper = null) {
  const lang = viewer.lang;
  const root = el("div", { class: "popup", "data-layer": layer.id, "data-feature": String(featureId) });
  const title = el("h3", { class: "popup-title" });
  const body = el("div", { class: "popup-body" });
  const fill = (properties) => {
    title.textContent = popupTitle(layer, properties, featureId, lang);
    body.replaceChildren(el("p", { class: "popup-layer", text: tr(layer.title, lang) }),
      attributeTable(layer, properties, lang));
  };
  fill(tileProperties);
  if (stepper) root.append(stepper);
  root.append(title, body);
  if (!layer.items) {  // an aggregate the server computed: its numbers are all in the feature
    viewer.showPopupContent(root);
    return root;
  }
  root.append(links(layer, featureId, lang, config.base));
  viewer.showPopupContent(root);
  const response = await fetch(`${layer.items}/${encodeURIComponent(featureId)}?f=json&lang=${lang}`);
  if (response.ok) fill((await response.json()).properties || {});
  for (const related of layer.related) {
    related.items = `${config.base}/collections/${related.collection}/items`;
    body.append(await relatedSeries(related, featureId, viewer.date, lang));
  }
  return root;
}
