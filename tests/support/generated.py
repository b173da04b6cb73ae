"""Checks shared by the tests of the demo-data generators."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from demo.generate import layer_file, write_layer
from ingestion.vector import PreparedLayer, prepare_layer
from layers.model import Layer


def assert_loads_as_declared(frame: pd.DataFrame, layer: Layer, folder: Path) -> PreparedLayer:
    """Write a generated frame as the loader reads it and load it: the loader raises on any
    value or geometry that breaks the declaration. The frame has exactly the declared fields
    (plus `id` and, for spatial layers, the geometry) and every row is kept."""
    assert set(frame.columns) - {"id", "geometry"} == {f.name for f in layer.fields}, layer.id
    path = layer_file(folder, layer.id)
    write_layer(frame, path)
    prepared = prepare_layer(layer, folder, path)
    assert len(prepared.rows) == len(frame), layer.id
    return prepared
