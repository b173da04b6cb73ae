// The basemap's names, from our own data: neighbouring countries, oblasts, lakes, rivers,
// glaciers, peaks with their elevation, street names in the city twins and road numbers on
// shields. Like the town names (labels.js) they are HTML labels over the map (MapLibre draws
// text only with glyph files, which no npm package ships), read from the tiles already in the
// browser (`querySourceFeatures`), in the interface language, most important first, and
// never over one another. They are placed again whenever tiles arrive, not only when the map
// stops moving: tiles that come after `moveend` (a search jump, a return to the country
// view) would otherwise leave the map without names.

// The ground above z10: the basemap's country outline ends at z10 and its lakes at z14, so
// the ground went plain beige there. One composite source of the two, asked only at z10 and
// overzoomed above it (one or two tiles per view), draws the country's ground colour and the
// water at every higher zoom.
const GROUND_ZOOM = 10;
const GROUND_LAYERS = ["country", "lakes"];

export function groundStyle(config, retryUrl) {
  const layers = GROUND_LAYERS.map((id) => config.layers.find((layer) => layer.id === id));
  if (config.external_basemap || layers.some((layer) => !layer)) return { sources: {}, layers: [] };
  const source = {
    type: "vector", minzoom: GROUND_ZOOM, maxzoom: GROUND_ZOOM,
    tiles: [retryUrl(`${config.base}/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=${GROUND_LAYERS.join(",")}`)],
  };
  const styleLayers = layers.map((layer) => {
    const fill = layer.style.find((style) => style.type === "fill");
    return fill && {
      id: `ground-${layer.id}`, type: "fill", source: "ground", "source-layer": layer.id,
      minzoom: GROUND_ZOOM, paint: { "fill-color": fill.paint["fill-color"], "fill-opacity": 1 },
    };
  }).filter(Boolean);
  return { sources: { ground: source }, layers: styleLayers };
}

const TEXTS = {
  glacier: { ky: "мөңгү", ru: "ледник", en: "glacier" },
  metres: { ky: "м", ru: "м", en: "m" },
};
const MAX_LABELS = 70;
const CHAR_PX = 6.6;  // width of a character of the 12 px label font, about
const ROW_PX = 16;

// What is labelled, in order of importance: the layer it belongs to (shown only when that
// layer is on), its zooms and its class name (viewer.css).
const KINDS = [
  { kind: "country", min: 0, max: 9 },
  { kind: "oblast", layer: "oblasts", min: 5.5, max: 9 },
  { kind: "lake", layer: "lakes", min: 5, max: 22, minPx: 40 },
  { kind: "peak", layer: "peaks", min: 7, max: 22 },
  { kind: "river", layer: "rivers", min: 7, max: 22 },
  { kind: "shield", layer: "roads", min: 8, max: 22 },
  { kind: "glacier", layer: "glaciers", min: 9, max: 22, minPx: 60 },
  { kind: "street", layer: "roads", min: 15, max: 22 },
];
const SHIELD_CELL_PX = 360;  // one shield per road number and area of this size
const STREET_CELL_PX = 260;

function nameOf(properties, lang) {
  return properties[`name_${lang}`] || properties.name_en || properties.name_ru
    || properties.name_ky || properties.name || "";
}

function textOf(table, lang) {
  return table[lang] || table.en;
}

// Rings and lines of a GeoJSON geometry as arrays of [lon, lat].
function parts(geometry) {
  switch (geometry.type) {
    case "Polygon": return [geometry.coordinates[0]];
    case "MultiPolygon": return geometry.coordinates.map((polygon) => polygon[0]);
    case "LineString": return [geometry.coordinates];
    case "MultiLineString": return geometry.coordinates;
    default: return [];
  }
}

// The area-weighted centre of the pieces of one polygon feature (tiles cut it in pieces),
// in screen pixels, with the pixel size of its box.
function polygonPlace(map, pieces) {
  let area = 0; let cx = 0; let cy = 0;
  let minX = Infinity; let minY = Infinity; let maxX = -Infinity; let maxY = -Infinity;
  for (const ring of pieces) {
    const points = ring.map((c) => map.project(c));
    for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
      const cross = points[j].x * points[i].y - points[i].x * points[j].y;
      area += cross; cx += (points[j].x + points[i].x) * cross; cy += (points[j].y + points[i].y) * cross;
      minX = Math.min(minX, points[i].x); maxX = Math.max(maxX, points[i].x);
      minY = Math.min(minY, points[i].y); maxY = Math.max(maxY, points[i].y);
    }
  }
  if (Math.abs(area) < 1e-6) return null;
  const x = cx / (3 * area); const y = cy / (3 * area);
  const rings = pieces.map((ring) => ring.map((c) => map.project(c)));
  // Other places near the centre, inside the polygon, for when the centre is taken.
  const tries = OFFSETS.map(([dx, dy]) => ({ x: x + dx, y: y + dy }))
    .filter((p) => rings.some((ring) => inRing(p, ring)));
  return { x, y, tries, size: Math.max(maxX - minX, maxY - minY) };
}

const OFFSETS = [[0, 0], [0, -20], [0, 20], [-60, 0], [60, 0], [0, -40], [0, 40], [-60, -20],
  [60, 20], [-60, 20], [60, -20], [0, -60], [0, 60], [-120, 0], [120, 0]];

function inRing(p, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const a = ring[i]; const b = ring[j];
    if ((a.y > p.y) !== (b.y > p.y) && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

// The middle of the longest piece of a line in the view, in pixels, and the angle of the
// line there (degrees, text never upside down).
function linePlace(map, pieces, width, height) {
  let best = null;
  let total = 0;  // a road or a street is cut into short segments: their length together
  for (const line of pieces) {
    const points = line.map((c) => map.project(c))
      .filter((p) => p.x > 0 && p.y > 0 && p.x < width && p.y < height);
    let length = 0;
    for (let i = 1; i < points.length; i += 1) length += points[i].dist(points[i - 1]);
    total += length;
    if (points.length > 1 && (!best || length > best.length)) best = { points, length };
  }
  if (!best || total < 40 || best.length < 4) return null;
  let walked = 0;
  for (let i = 1; i < best.points.length; i += 1) {
    const a = best.points[i - 1]; const b = best.points[i];
    const step = a.dist(b);
    if (walked + step >= best.length / 2) {
      const t = step ? (best.length / 2 - walked) / step : 0;
      let angle = (Math.atan2(b.y - a.y, b.x - a.x) * 180) / Math.PI;
      if (angle > 90) angle -= 180;
      if (angle < -90) angle += 180;
      return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, angle, length: total };
    }
    walked += step;
  }
  return null;
}

function groupBy(features, key) {
  const groups = new Map();
  for (const feature of features) {
    const k = key(feature);
    if (k === null || k === undefined || k === "") continue;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(feature);
  }
  return groups;
}

export class BasemapLabels {
  constructor(map, config, viewer) {
    this.map = map;
    this.config = config;
    this.viewer = viewer;
    this.markers = [];
    this.placed = [];
    this.signature = "";
    this.pending = null;
    // Tiles that arrive after the map stopped (a jump, a return to the country view): the
    // names are placed again once they are in.
    map.on("sourcedata", (event) => {
      if (event.tile && event.sourceDataType !== "metadata") this.schedule();
    });
    map.on("idle", () => this.schedule(0));
  }

  schedule(delay = 150) {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      if (!this.map.isMoving()) this.viewer.refreshLabels();
    }, delay);
  }

  features(layerId) {
    const layer = this.viewer.layerById[layerId];
    if (!layer || !this.map.getSource(layer.source)) return [];
    return this.map.querySourceFeatures(layer.source, { sourceLayer: layerId });
  }

  // Every candidate label: {kind, text, x, y, angle?, rank}, most important first.
  candidates(lang) {
    const zoom = this.map.getZoom();
    const canvas = this.map.getCanvas();
    const width = canvas.clientWidth; const height = canvas.clientHeight;
    const out = [];
    for (const spec of KINDS) {
      if (zoom < spec.min || zoom >= spec.max) continue;
      if (spec.layer && !this.viewer.isVisible(spec.layer)) continue;
      const found = this[`${spec.kind}Labels`](lang, spec, width, height);
      out.push(...found.map((label) => ({ ...label, kind: spec.kind })));
    }
    return out.filter((l) => l.x > -20 && l.y > -10 && l.x < width + 20 && l.y < height + 10);
  }

  countryLabels(lang) {
    return (this.config.neighbours || []).map((country) => {
      const p = this.map.project(country.lonlat);
      return { text: textOf(country.name, lang), x: p.x, y: p.y, code: country.iso_a3 };
    });
  }

  polygonLabels(layerId, lang, spec, text) {
    const out = [];
    for (const [, pieces] of groupBy(this.features(layerId), (f) => f.id)) {
      const place = polygonPlace(this.map, pieces.flatMap((f) => parts(f.geometry)));
      if (!place || place.size < (spec.minPx || 0)) continue;
      out.push({ text: text(pieces[0].properties), x: place.x, y: place.y, tries: place.tries, rank: place.size });
    }
    return out.sort((a, b) => b.rank - a.rank);
  }

  oblastLabels(lang, spec) {
    return this.polygonLabels("oblasts", lang, spec, (p) => nameOf(p, lang));
  }

  lakeLabels(lang, spec) {
    return this.polygonLabels("lakes", lang, spec, (p) => nameOf(p, lang));
  }

  glacierLabels(lang, spec) {
    return this.polygonLabels("glaciers", lang, spec, () => textOf(TEXTS.glacier, lang));
  }

  peakLabels(lang) {
    const seen = new Set();
    return this.features("peaks")
      .filter((f) => f.geometry.type === "Point" && !seen.has(f.id) && seen.add(f.id))
      .sort((a, b) => (Number(b.properties.elevation_m) || 0) - (Number(a.properties.elevation_m) || 0))
      .map((f) => {
        const p = this.map.project(f.geometry.coordinates);
        const metres = Number(f.properties.elevation_m);
        const height = Number.isFinite(metres) ? `${Math.round(metres)} ${textOf(TEXTS.metres, lang)}` : "";
        return { text: `▲ ${[nameOf(f.properties, lang), height].filter(Boolean).join(" ")}`, x: p.x, y: p.y };
      });
  }

  lineLabels(features, key, text, width, height, cell) {
    const out = [];
    for (const [k, group] of groupBy(features, key)) {
      // one label per group, or per screen cell of `cell` pixels for a long one
      const cells = cell ? groupBy(group, (f) => {
        const c = f.geometry.coordinates.flat(2);
        const p = this.map.project([c[0], c[1]]);
        return `${Math.floor(p.x / cell)}:${Math.floor(p.y / cell)}`;
      }) : new Map([["all", group]]);
      for (const [, pieces] of cells) {
        const place = linePlace(this.map, pieces.flatMap((f) => parts(f.geometry)), width, height);
        if (place) out.push({ text: text(pieces[0].properties, k), ...place, properties: pieces[0].properties });
      }
    }
    return out.sort((a, b) => b.length - a.length);
  }

  riverLabels(lang, spec, width, height) {
    return this.lineLabels(this.features("rivers"), (f) => nameOf(f.properties, "en"),
      (p) => nameOf(p, lang), width, height, 0);
  }

  shieldLabels(lang, spec, width, height) {
    const zoom = this.map.getZoom();
    const roads = this.features("roads").filter((f) => {
      const cls = f.properties.road_class;
      if (!f.properties.road_number || cls === "urban") return false;
      return cls === "international" || cls === "national" || zoom >= 11;
    });
    const rank = (label) => ({ international: 0, national: 1 })[label.properties.road_class] ?? 2;
    return this.lineLabels(roads, (f) => f.properties.road_number, (p, k) => k, width, height,
      SHIELD_CELL_PX).map((label) => ({ ...label, angle: 0 }))
      .sort((a, b) => rank(a) - rank(b) || b.length - a.length);
  }

  // A street's name in the interface language: the address registry's forms of its
  // registered (Russian) name, asked once (`/map/streets.json`); the name itself until then.
  streetName(name, lang) {
    if (!this.streetForms && this.config.streets && !this.streetRequest) {
      this.streetRequest = fetch(this.config.streets).then((r) => (r.ok ? r.json() : {}))
        .catch(() => ({})).then((forms) => {
          this.streetForms = forms;
          this.viewer.refreshLabels();
        });
    }
    const forms = this.streetForms && this.streetForms[name];
    return (forms && forms[lang]) || name;
  }

  streetLabels(lang, spec, width, height) {
    const streets = this.features("roads").filter((f) => f.properties.road_class === "urban" && f.properties.name);
    return this.lineLabels(streets, (f) => f.properties.name, (p) => this.streetName(p.name, lang),
      width, height, STREET_CELL_PX);
  }

  // Place the candidates that do not collide with the town names or one another.
  update(lang, townBoxes = []) {
    const boxes = [...townBoxes];
    const chosen = [];
    for (const label of this.candidates(lang)) {
      if (chosen.length >= MAX_LABELS) break;
      if (!label.text) continue;
      const half = (label.text.length * CHAR_PX + 12) / 2;
      for (const spot of label.tries && label.tries.length ? label.tries : [label]) {
        const box = { x0: spot.x - half, x1: spot.x + half, y0: spot.y - ROW_PX / 2, y1: spot.y + ROW_PX / 2 };
        if (boxes.some((b) => b.x0 < box.x1 && box.x0 < b.x1 && b.y0 < box.y1 && box.y0 < b.y1)) continue;
        boxes.push(box);
        chosen.push({ ...label, x: spot.x, y: spot.y });
        break;
      }
    }
    const signature = `${lang}|${this.map.getZoom().toFixed(2)}|${this.map.getCenter().toArray().join(",")}|`
      + chosen.map((l) => `${l.kind}:${l.text}`).join(";");
    if (signature === this.signature) return;
    this.signature = signature;
    this.clear();
    for (const label of chosen) this.add(label);
    this.placed = chosen.map(({ kind, text }) => ({ kind, text }));
    document.body.dataset.basemapLabels = String(chosen.length);
  }

  add(label) {
    const element = document.createElement("div");
    element.className = `map-label ${label.kind}-label`;
    element.dataset.kind = label.kind;
    element.textContent = label.text;
    element.setAttribute("aria-hidden", "true");  // the names are in popups and search
    const lngLat = this.map.unproject([label.x, label.y]);
    this.markers.push(new maplibregl.Marker({ element, anchor: "center", rotation: label.angle || 0 })
      .setLngLat(lngLat).addTo(this.map));
  }

  clear() {
    for (const marker of this.markers) marker.remove();
    this.markers = [];
  }
}
