// The shareable part of the viewer's state in the URL hash, next to MapLibre's own `map=`
// (zoom/lat/lng/bearing/pitch): `layers=` (visible layer ids), `opacity=` (id:percent),
// `date=` (the time filter, YYYY-MM-DD), `bg=external` (the optional external base map).

function params() {
  return new URLSearchParams(window.location.hash.replace(/^#/, ""));
}

export function readHashState() {
  const p = params();
  const layers = p.has("layers") ? p.get("layers").split(",").filter(Boolean) : null;
  const opacity = {};
  for (const part of (p.get("opacity") || "").split(",")) {
    const [id, value] = part.split(":");
    if (id && !Number.isNaN(Number(value))) opacity[id] = Math.max(0, Math.min(100, Number(value)));
  }
  const date = /^\d{4}-\d{2}-\d{2}$/.test(p.get("date") || "") ? p.get("date") : null;
  return { layers, opacity, date, external: p.get("bg") === "external" };
}

export function writeHashState({ layers, opacity, date, external }) {
  const p = params();
  p.set("layers", layers.join(","));
  const changed = Object.entries(opacity).filter(([, v]) => v !== 100);
  if (changed.length) p.set("opacity", changed.map(([id, v]) => `${id}:${v}`).join(","));
  else p.delete("opacity");
  if (date) p.set("date", date);
  else p.delete("date");
  if (external) p.set("bg", "external");
  else p.delete("bg");
  // URLSearchParams would escape "/" and ","; keep the hash readable.
  const hash = "#" + p.toString().replace(/%2F/g, "/").replace(/%2C/g, ",").replace(/%3A/g, ":");
  window.history.replaceState(window.history.state, "", hash);
}
