"""Loading the demo data: the open base layers shipped in `demo/base/data/` and the
generated layers (`geoportal demo generate`) of a scale and seed.

`demo_data_dir` is re-exported here for the callers that load the open files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cadastre.addresses import DERIVED_FROM, SOURCE_LAYERS, derive_addresses
from cadastre.names import refresh_names
from demo.base import demo_data_dir as demo_data_dir
from demo.generate import layer_file
from ingestion.load import LoadResult, load_layers
from ingestion.vector import PreparedLayer, prepare_layer
from layers.catalogue import Catalogue, load_catalogue
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
            and not layer.source.derived
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
    """Validate every layer's file first, then replace all of them in one transaction; then
    derive the derived layers (the address registry when buildings or parcels were loaded)
    and rebuild the search engine's names (`derive_after_load`).

    Open layers are read from `data_dir` (default: the shipped data), generated ones from
    `generated_dir`; a derived layer in `layers` is derived again whatever else is loaded.
    """
    data_dir = data_dir or demo_data_dir()
    prepared = []
    derived = [layer for layer in layers if layer.source and layer.source.derived]
    for layer in (layer for layer in layers if layer not in derived):
        if layer.source and layer.source.generated:
            if generated_dir is None:
                raise ValueError(f"layer {layer.id} is generated: give the generated directory")
            path = layer_file(generated_dir, layer.id)
            prepared.append(prepare_layer(layer, generated_dir, path))
        else:
            prepared.append(prepare_layer(layer, data_dir))
        if on_prepared:
            on_prepared(layer)
    results = load_layers(resetting(conninfo), prepared, progress=on_loaded)
    derive_after_load(conninfo, [item.layer.id for item in prepared], bool(derived))
    return results


def resetting(conninfo: str) -> str:
    """`conninfo` for a session that resets the generated demo register: a DELETE of demo
    parcels by the owner erases their records (`cadastre.erasing`, migration 0024) where any
    other DELETE retires them; the demo's parcels are generated, not a register of record."""
    params = conninfo_to_dict(conninfo)
    options = " ".join(filter(None, [str(params.get("options") or ""), "-c cadastre.erasing=on"]))
    return make_conninfo(conninfo, options=options)


def derive_after_load(conninfo: str, loaded: Sequence[str], force: bool = False) -> None:
    """After a load of `loaded` layers: derive the address registry again when buildings
    or parcels were among them (or `force`), and rebuild the search engine's names."""
    catalogue = load_catalogue()
    if not set(SOURCE_LAYERS) <= {layer.id for layer in catalogue}:
        return
    with psycopg.connect(conninfo) as conn:
        if force or set(DERIVED_FROM) & set(loaded):
            derive_addresses(conn, catalogue)
        refresh_names(conn, catalogue)
