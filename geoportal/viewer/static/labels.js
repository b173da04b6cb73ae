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
  }

  update(lang, enabled) {
    this.enabled = enabled;
    for (const marker of this.markers) marker.remove();
    this.markers = [];
    if (!enabled || !this.map.getSource("basemap")) return;
    const features = this.map.querySourceFeatures("basemap", { sourceLayer: this.sourceLayer });
    const bounds = this.map.getBounds();
    const seen = new Set();
    const places = features
      .filter((f) => f.geometry.type === "Point" && bounds.contains(f.geometry.coordinates))
      .filter((f) => !seen.has(f.id) && seen.add(f.id))
      .sort((a, b) => (Number(b.properties.population) || 0) - (Number(a.properties.population) || 0));
    const placed = [];
    for (const feature of places) {
      if (placed.length >= MAX_LABELS) break;
      const point = this.map.project(feature.geometry.coordinates);
      if (placed.some((other) => overlaps(point, other))) continue;
      placed.push(point);
      const name = feature.properties[`name_${lang}`] || feature.properties.name_en;
      if (!name) continue;
      const element = document.createElement("div");
      element.className = `place-label${feature.properties.capital ? " capital" : ""}`;
      element.textContent = name;
      element.setAttribute("aria-hidden", "true");  // the names are in popups and search
      this.markers.push(new maplibregl.Marker({ element, anchor: "bottom", offset: [0, -5] })
        .setLngLat(feature.geometry.coordinates).addTo(this.map));
    }
  }
}
