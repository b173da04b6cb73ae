"""Loading the demo data: the open base layers shipped in `geoportal/demo/data/` and the
generated layers (`geoportal demo generate`) of a scale and seed."""

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
            if layer.source is not None and (generated or not layer.source.generated)
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
        folder = generated_dir if layer.source and layer.source.generated else data_dir
        if folder is None:
            raise ValueError(f"layer {layer.id} is generated: give the generated directory")
        prepared.append(prepare_layer(layer, folder))
        if on_prepared:
            on_prepared(layer)
    return load_layers(conninfo, prepared, progress=on_loaded)
