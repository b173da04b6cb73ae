"""Integers exact to 64 bits on the way in: conversion without float, ranges, loads."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from ingestion.errors import IngestionError
from ingestion.values import coerce_value
from ingestion.vector import prepare_layer
from layers.catalogue import Catalogue
from layers.model import LayerField, Trilingual

TITLE = Trilingual(ky="x", ru="x", en="x")
BIGINT = LayerField(name="big", type="bigint", title=TITLE)
INTEGER = LayerField(name="small", type="integer", title=TITLE)
MAX64 = 2**63 - 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (MAX64, MAX64),
        (-(2**63), -(2**63)),
        (str(MAX64), MAX64),
        (f" {MAX64 - 1} ", MAX64 - 1),
        (np.int64(MAX64), MAX64),
        (Decimal(MAX64), MAX64),
        (2**53 + 1, 2**53 + 1),  # the first integer a float cannot hold
        ("1e3", 1000),
        (12.0, 12),
    ],
)
def test_bigint_values_are_exact(value: Any, expected: int) -> None:
    converted = coerce_value(BIGINT, value)
    assert converted == expected and type(converted) is int


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (BIGINT, 2**63, "outside the range"),
        (BIGINT, str(2**64), "outside the range"),
        (BIGINT, -(2**63) - 1, "outside the range"),
        pytest.param(BIGINT, 10**400, "1329-bit value is outside the range", id="10**400"),
        (BIGINT, "1e400000000", "outside the range"),
        (BIGINT, 1.5, "not a whole number"),
        (BIGINT, 2.0**53 + 2, "beyond 2\\^53"),
        (BIGINT, 9.3e18, "beyond 2\\^53"),
        (BIGINT, float("inf"), "not a whole number"),
        (BIGINT, "12abc", "not a whole number"),
        (INTEGER, 2**31, "outside the range"),
    ],
)
def test_out_of_range_or_fractional_integers_are_refused(
    field: LayerField, value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        coerce_value(field, value)


def _oblasts_frame(gn_id: int) -> gpd.GeoDataFrame:
    properties = {
        "adm1_code": "KGZ-1116",
        "name_en": "Chuy",
        "name": "Chuy",
        "name_ru": "Чуй",
        "iso_3166_2": "KG-C",
        "wikidataid": "Q318283",
    }
    frame = gpd.GeoDataFrame(
        {**{k: [v] for k, v in properties.items()}, "gn_id": np.array([gn_id], dtype="int64")},
        geometry=[shapely.box(74, 42, 75, 43)],
        crs=4326,
    )
    return frame


def test_a_load_keeps_64_bit_integers(catalogue: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "oblasts.gpkg"
    pyogrio.write_dataframe(_oblasts_frame(MAX64), path)
    prepared = prepare_layer(catalogue.get("oblasts"), tmp_path, path)
    assert prepared.rows[0][prepared.columns.index("geonameid")] == MAX64


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (str(10**20), "beyond 2\\^53"),  # GDAL reads these as floats: refused, not rounded
        (str(-(2**63) - 1), "beyond 2\\^53"),
        (str(2**63), "Unrecognized number"),  # GDAL refuses the file itself
    ],
)
def test_a_load_refuses_integers_beyond_64_bits(
    catalogue: Catalogue, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "oblasts.geojson"
    feature = json.loads(_oblasts_frame(1).to_json())["features"][0]
    document = json.dumps({"type": "FeatureCollection", "features": [feature]})
    path.write_text(document.replace('"gn_id": 1', f'"gn_id": {text}'))
    with pytest.raises(IngestionError, match=message):
        prepare_layer(catalogue.get("oblasts"), tmp_path, path)
