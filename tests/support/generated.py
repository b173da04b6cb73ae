"""Checks shared by the tests of the demo-data generators."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geoportal.demo.generate import write_layer
from ingestion.vector import PreparedLayer, prepare_layer
from layers.model import Layer


def assert_loads_as_declared(frame: pd.DataFrame, layer: Layer, folder: Path) -> PreparedLayer:
    """Write a generated frame as the loader reads it and load it: the loader raises on any
    value or geometry that breaks the declaration. The frame has exactly the declared fields
    (plus `id` and, for spatial layers, the geometry) and every row is kept."""
    assert set(frame.columns) - {"id", "geometry"} == {f.name for f in layer.fields}, layer.id
    write_layer(frame, folder / f"{layer.id}.gpkg")
    prepared = prepare_layer(layer, folder)
    assert len(prepared.rows) == len(frame), layer.id
    return prepared
