"""Loading the demo data: the open base layers shipped in `demo/base/data/` and the
generated layers (`geoportal demo generate`) of a scale and seed.

`demo_data_dir` is re-exported here for the callers that load the open files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from demo.base import demo_data_dir as demo_data_dir
from demo.generate import layer_file
from ingestion.load import LoadResult, load_layers
from ingestion.vector import PreparedLayer, prepare_layer
from layers.catalogue import Catalogue
from layers.model import Layer


def loadable_layers(
    catalogue: Catalogue, ids: Sequence[str] | None = None, generated: bool = True
) -> list[Layer]:
    """Layers with demo data (all, or those named): the open ones, and with `generated` the
    generated ones too; each followed by its restricted table when it has one (a reload of a
    layer deletes its features' personal data, so both are always loaded together)."""
    if ids:
        return catalogue.with_restricted([catalogue.get(layer_id) for layer_id in ids])
    return catalogue.with_restricted(
        [
            layer
            for layer in catalogue
            if layer.source is not None
            and layer.source.pipeline is None  # written by its pipeline (demo.imagery)
            and (generated or not layer.source.generated)
        ]
    )


def load_demo(
    conninfo: str,
    layers: Sequence[Layer],
    data_dir: Path | None = None,
    generated_dir: Path | None = None,
    on_prepared: Callable[[Layer], None] | None = None,
    on_loaded: Callable[[PreparedLayer], None] | None = None,
) -> list[LoadResult]:
    """Validate every layer's file first, then replace all of them in one transaction.

    Open layers are read from `data_dir` (default: the shipped data), generated ones from
    `generated_dir`.
    """
    data_dir = data_dir or demo_data_dir()
    prepared = []
    for layer in layers:
        if layer.source and layer.source.generated:
            if generated_dir is None:
                raise ValueError(f"layer {layer.id} is generated: give the generated directory")
            path = layer_file(generated_dir, layer.id)
            prepared.append(prepare_layer(layer, generated_dir, path))
        else:
            prepared.append(prepare_layer(layer, data_dir))
        if on_prepared:
            on_prepared(layer)
    return load_layers(conninfo, prepared, progress=on_loaded)
