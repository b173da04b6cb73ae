"""Loading the demo (open base) data shipped in `geoportal/demo/data/`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from ingestion.load import LoadResult, load_layers
from ingestion.vector import PreparedLayer, prepare_layer
from layers.catalogue import Catalogue
from layers.model import Layer


def demo_data_dir() -> Path:
    """The folder of the open data files shipped with the project."""
    return Path(str(resources.files("geoportal.demo") / "data"))


def loadable_layers(catalogue: Catalogue, ids: Sequence[str] | None = None) -> list[Layer]:
    """Layers with a source file shipped in the demo data (all, or those named)."""
    if ids:
        return [catalogue.get(layer_id) for layer_id in ids]
    return [layer for layer in catalogue if layer.source is not None]


def load_demo(
    conninfo: str,
    layers: Sequence[Layer],
    data_dir: Path | None = None,
    on_prepared: Callable[[Layer], None] | None = None,
    on_loaded: Callable[[PreparedLayer], None] | None = None,
) -> list[LoadResult]:
    """Validate every layer's file first, then replace all of them in one transaction."""
    data_dir = data_dir or demo_data_dir()
    prepared = []
    for layer in layers:
        prepared.append(prepare_layer(layer, data_dir))
        if on_prepared:
            on_prepared(layer)
    return load_layers(conninfo, prepared, progress=on_loaded)
