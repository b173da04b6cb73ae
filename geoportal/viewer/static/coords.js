// The pointer's coordinates in WGS 84 and in Kyrg-06, the national grid (transverse Mercator
// zones on GRS80, parameters from the server's PROJ in /map/config.json `grid`). Snyder's
// series (USGS PP 1395, 8-9 and 8-10) are exact to the millimetre within a zone's 1.5°.

const A = 6378137.0;
const F = 1 / 298.257222101;  // GRS80
const E2 = F * (2 - F);
const EP2 = E2 / (1 - E2);

function meridianArc(phi) {
  const e4 = E2 * E2; const e6 = e4 * E2;
  return A * ((1 - E2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * phi
    - (3 * E2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * Math.sin(2 * phi)
    + (15 * e4 / 256 + 45 * e6 / 1024) * Math.sin(4 * phi)
    - (35 * e6 / 3072) * Math.sin(6 * phi));
}

// Transverse Mercator (latitude of origin 0) of lon/lat in degrees: [easting, northing] in m.
export function transverseMercator(lon, lat, zone) {
  const phi = (lat * Math.PI) / 180;
  const sin = Math.sin(phi); const cos = Math.cos(phi); const tan = Math.tan(phi);
  const n = A / Math.sqrt(1 - E2 * sin * sin);
  const t = tan * tan; const c = EP2 * cos * cos;
  const a = (((lon - zone.lon0) * Math.PI) / 180) * cos;
  const x = zone.k0 * n * (a + ((1 - t + c) * a ** 3) / 6
    + ((5 - 18 * t + t * t + 72 * c - 58 * EP2) * a ** 5) / 120);
  const y = zone.k0 * (meridianArc(phi) + n * tan * (a * a / 2
    + ((5 - t + 9 * c + 4 * c * c) * a ** 4) / 24
    + ((61 - 58 * t + t * t + 600 * c - 330 * EP2) * a ** 6) / 720));
  return [x + zone.x0, y + zone.y0];
}

export function gridPosition(lon, lat, zones) {
  const zone = zones.reduce((best, z) => (Math.abs(z.lon0 - lon) < Math.abs(best.lon0 - lon) ? z : best));
  const [e, n] = transverseMercator(lon, lat, zone);
  return { zone, easting: e, northing: n };
}

export function coordinateText(lngLat, zones) {
  const wgs = `${lngLat.lat.toFixed(5)}°, ${lngLat.lng.toFixed(5)}° (WGS 84)`;
  if (!zones || !zones.length) return wgs;
  const { zone, easting, northing } = gridPosition(lngLat.lng, lngLat.lat, zones);
  return `${wgs} · ${zone.name}: E ${Math.round(easting)}, N ${Math.round(northing)}`;
}
