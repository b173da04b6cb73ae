"""The shared geography constants agree with the real country layer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from layers.geography import KYRGYZSTAN_BBOX_4326, KYRGYZSTAN_EXTENT_4326, rounded_outward
from tiles.settings import KYRGYZSTAN_BOUNDS_4326

ROOT = Path(__file__).resolve().parents[2]


def country_outline() -> Path:
    """`kg_admin0.geojson` of the demo data (Natural Earth's outline of Kyrgyzstan)."""
    found = [
        p for root in (ROOT / "geoportal", ROOT / "demo") for p in root.rglob("kg_admin0.*json")
    ]
    assert found, "kg_admin0.geojson not found in the demo data"
    return found[0]


def positions(coordinates: Any) -> Iterator[tuple[float, float]]:
    """Every (lon, lat) of a GeoJSON coordinates array, however nested."""
    if isinstance(coordinates[0], (int, float)):
        yield float(coordinates[0]), float(coordinates[1])
        return
    for part in coordinates:
        yield from positions(part)


def test_the_bbox_is_the_country_layers() -> None:
    features = json.loads(country_outline().read_text("utf-8"))["features"]
    points = [p for f in features for p in positions(f["geometry"]["coordinates"])]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    assert KYRGYZSTAN_BBOX_4326 == pytest.approx(
        (min(lons), min(lats), max(lons), max(lats)), abs=1e-6
    )


@pytest.mark.parametrize("box", [KYRGYZSTAN_EXTENT_4326, KYRGYZSTAN_BOUNDS_4326])
def test_the_rounded_boxes_contain_the_country(box: tuple[float, ...]) -> None:
    west, south, east, north = KYRGYZSTAN_BBOX_4326
    assert box[0] <= west and box[1] <= south and box[2] >= east and box[3] >= north
    assert max(abs(a - b) for a, b in zip(box, KYRGYZSTAN_BBOX_4326, strict=True)) < 0.5


def test_rounded_outward() -> None:
    assert KYRGYZSTAN_EXTENT_4326 == (69.2, 39.1, 80.3, 43.3)  # the catalog.records literal
    assert rounded_outward((-0.25, -0.25, 0.25, 0.25), 0.5) == (-0.5, -0.5, 0.5, 0.5)
    assert rounded_outward((1.0, 2.0, 3.0, 4.0), 0.5) == (1.0, 2.0, 3.0, 4.0)
