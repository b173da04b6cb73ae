// Place names as HTML labels over the map. MapLibre draws text only with glyph files (PBF
// fonts), which no npm package ships, so the biggest settlements of the view are labelled
// with DOM elements instead: the browser's own fonts, every script (Cyrillic included).

const MAX_LABELS = 40;
const BOX = { width: 90, height: 18 };

function overlaps(a, b) {
  return Math.abs(a.x - b.x) < BOX.width && Math.abs(a.y - b.y) < BOX.height;
}

export class PlaceLabels {
  constructor(map, sourceLayer = "settlements") {
    this.map = map;
    this.sourceLayer = sourceLayer;
    this.markers = [];
    this.enabled = true;
    this.boxes = [];
    this.signature = "";
  }

  update(lang, enabled) {
    this.enabled = enabled;
    if (!enabled || !this.map.getSource("basemap")) {
      this.clear();
      this.boxes = [];
      return;
    }
    const features = this.map.querySourceFeatures("basemap", { sourceLayer: this.sourceLayer });
    const bounds = this.map.getBounds();
    const seen = new Set();
    const places = features
      .filter((f) => f.geometry.type === "Point" && bounds.contains(f.geometry.coordinates))
      .filter((f) => !seen.has(f.id) && seen.add(f.id))
      .sort((a, b) => (Number(b.properties.population) || 0) - (Number(a.properties.population) || 0));
    const placed = [];
    const chosen = [];
    for (const feature of places) {
      if (placed.length >= MAX_LABELS) break;
      const point = this.map.project(feature.geometry.coordinates);
      if (placed.some((other) => overlaps(point, other))) continue;
      placed.push(point);
      const name = feature.properties[`name_${lang}`] || feature.properties.name_en;
      if (name) chosen.push({ feature, name });
    }
    // The boxes the town names take (the other names of the basemap avoid them).
    this.boxes = placed.map((p) => ({ x0: p.x - BOX.width / 2, x1: p.x + BOX.width / 2, y0: p.y - 5 - BOX.height, y1: p.y - 5 }));
    const signature = `${lang}|${this.map.getZoom().toFixed(2)}|${this.map.getCenter().toArray().join(",")}|${chosen.map((c) => c.name).join(";")}`;
    if (signature === this.signature) return;  // placed again on every tile: only if changed
    this.clear();
    this.signature = signature;
    for (const { feature, name } of chosen) {
      const element = document.createElement("div");
      element.className = `place-label${feature.properties.capital ? " capital" : ""}`;
      element.textContent = name;
      element.setAttribute("aria-hidden", "true");  // the names are in popups and search
      this.markers.push(new maplibregl.Marker({ element, anchor: "bottom", offset: [0, -5] })
        .setLngLat(feature.geometry.coordinates).addTo(this.map));
    }
  }

  clear() {
    for (const marker of this.markers) marker.remove();
    this.markers = [];
    this.signature = "";
  }
}
