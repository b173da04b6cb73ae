"""A CRS to suggest for a file that declares none, computed from its coordinates.

Degrees inside Kyrgyzstan suggest WGS 84 (EPSG:4326); metres suggest the Kyrg-06 zone
(EPSG:7692-7696, told apart by their false eastings) or the UTM zones (EPSG:32642-32644)
whose inverse projection puts the file's box inside the country.
"""

from __future__ import annotations

from pyproj import CRS, Transformer

from layers.geography import KYRGYZSTAN_BBOX_4326, BBox4326

MARGIN_DEG = 0.5
"""Slack around the country's box: data along the border stays recognisable."""

CANDIDATES: tuple[tuple[int, str], ...] = (
    (7692, "Kyrg-06 zone 1"),
    (7693, "Kyrg-06 zone 2"),
    (7694, "Kyrg-06 zone 3"),
    (7695, "Kyrg-06 zone 4"),
    (7696, "Kyrg-06 zone 5"),
    (32642, "WGS 84 / UTM zone 42N"),
    (32643, "WGS 84 / UTM zone 43N"),
    (32644, "WGS 84 / UTM zone 44N"),
)
"""Projected CRSs in use in Kyrgyzstan, most specific first."""


def _inside_country(lon: float, lat: float) -> bool:
    west, south, east, north = KYRGYZSTAN_BBOX_4326
    return (
        west - MARGIN_DEG <= lon <= east + MARGIN_DEG
        and south - MARGIN_DEG <= lat <= north + MARGIN_DEG
    )


def candidate_crs(bounds: BBox4326) -> list[str]:
    """`EPSG:n (name)` of every CRS in which the box `bounds` (in the file's own unknown
    units) lies in Kyrgyzstan; empty when none fits.

    >>> candidate_crs((74.5, 42.8, 74.7, 42.9))
    ['EPSG:4326 (WGS 84, degrees)']
    >>> candidate_crs((3300000.0, 4700000.0, 3310000.0, 4710000.0))
    ['EPSG:7694 (Kyrg-06 zone 3)']
    """
    xmin, ymin, xmax, ymax = bounds
    corners = [(xmin, ymin), (xmax, ymax)]
    if all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in corners):
        if all(_inside_country(x, y) for x, y in corners):
            return ["EPSG:4326 (WGS 84, degrees)"]
        return []
    found = []
    for epsg, name in CANDIDATES:
        to_4326 = Transformer.from_crs(CRS.from_epsg(epsg), 4326, always_xy=True)
        points = [to_4326.transform(x, y) for x, y in corners]
        if all(_inside_country(lon, lat) for lon, lat in points):
            found.append(f"EPSG:{epsg} ({name})")
    return found


def crs_suggestion(bounds: BBox4326 | None) -> str:
    """A sentence suggesting a CRS for a file whose box is `bounds` (None: no geometry)."""
    if bounds is None:
        return "it has no coordinates to guess from; give --crs"
    found = candidate_crs(bounds)
    if not found:
        return (
            f"its coordinates {tuple(round(v, 3) for v in bounds)} fit no CRS used in "
            "Kyrgyzstan (degrees, Kyrg-06 zones EPSG:7692-7696, UTM EPSG:32642-32644); "
            "give --crs"
        )
    unit = "degrees" if found[0].startswith("EPSG:4326") else "metres"
    return f"its coordinates are {unit} that fit {' or '.join(found)}; give --crs"
