"""The neighbouring countries as labels of the viewer's basemap (no layer of ours holds them).

Names: the countries' short names in Kyrgyz, Russian and English (the English ones are those
of Natural Earth's boundary lines, `kg_boundary_lines.geojson`, columns adm0_left/right).
Places: outside the border, beside the middle of the country's boundary line with each
neighbour in that file, moved about 30-70 km away from Kyrgyzstan (perpendicular to the line,
on the side the country outline does not contain) and kept inside the country's frame so the
first view shows them. `tests/viewer/test_aggregates.py` checks each place against the loaded
country outline.
"""

from __future__ import annotations

from typing import Any

NEIGHBOURS: tuple[dict[str, Any], ...] = (
    {
        "iso_a3": "KAZ",
        "name": {"ky": "Казакстан", "ru": "Казахстан", "en": "Kazakhstan"},
        "lonlat": [75.6, 43.25],
    },
    {
        "iso_a3": "UZB",
        "name": {"ky": "Өзбекстан", "ru": "Узбекистан", "en": "Uzbekistan"},
        "lonlat": [71.6, 40.85],
    },
    {
        "iso_a3": "TJK",
        "name": {"ky": "Тажикстан", "ru": "Таджикистан", "en": "Tajikistan"},
        "lonlat": [71.2, 39.2],
    },
    {
        "iso_a3": "CHN",
        "name": {"ky": "Кытай", "ru": "Китай", "en": "China"},
        "lonlat": [77.4, 40.3],
    },
)
"""The four neighbours: ISO 3166-1 alpha-3, names, label place (longitude, latitude)."""
