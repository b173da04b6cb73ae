"""Loading the layer declarations (YAML files in `layers/declarations/`) into typed models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from layers.errors import InvalidDeclarationError, LayerNotFoundError
from layers.model import Layer, RasterLayer

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (10x faster), else the pure one."""


@dataclass(frozen=True)
class Catalogue:
    """All declared layers, in declaration order."""

    layers: tuple[Layer, ...]
    rasters: tuple[RasterLayer, ...] = ()

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def get(self, layer_id: str) -> Layer:
        """The layer declared as `layer_id`.

        Raises:
            LayerNotFoundError: naming the valid ids.
        """
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise LayerNotFoundError(f"no layer {layer_id!r}; declared: {', '.join(self.ids)}")

    @property
    def ids(self) -> list[str]:
        """Ids of the vector layers."""
        return [layer.id for layer in self.layers]

    @property
    def restricted_layers(self) -> list[Layer]:
        """The restricted (personal data) tables of the layers, as layers without geometry."""
        return [r for r in (layer.restricted_layer for layer in self.layers) if r is not None]

    def with_restricted(self, layers: list[Layer] | tuple[Layer, ...]) -> list[Layer]:
        """`layers`, each followed by its restricted table (for DDL and loading)."""
        out: list[Layer] = []
        for layer in layers:
            out.append(layer)
            if layer.restricted_layer is not None:
                out.append(layer.restricted_layer)
        return out

    def by_theme(self, theme: str) -> list[Layer]:
        """Vector layers of one theme."""
        return [layer for layer in self.layers if layer.theme == theme]


def declarations_dir() -> Path:
    """The folder of the declarations shipped with the package."""
    return Path(str(resources.files("layers") / "declarations"))


def _parse(path: Path) -> tuple[list[Layer], list[RasterLayer]]:
    try:
        document: dict[str, Any] = (
            yaml.load(
                path.read_text(encoding="utf-8"),  # noqa: S506
                Loader=SAFE_LOADER,
            )
            or {}
        )
    except yaml.YAMLError as exc:
        raise InvalidDeclarationError(f"{path.name}: not valid YAML: {exc}") from exc
    unknown = set(document) - {"layers", "rasters"}
    if unknown:
        raise InvalidDeclarationError(f"{path.name}: unknown top-level keys {sorted(unknown)}")
    layers, rasters = [], []
    for kind, model, out in (("layers", Layer, layers), ("rasters", RasterLayer, rasters)):
        for index, item in enumerate(document.get(kind) or []):
            try:
                out.append(model.model_validate(item))
            except ValidationError as exc:
                name = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
                raise InvalidDeclarationError(f"{path.name}: {kind} {name}: {exc}") from exc
    return layers, rasters


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Read and validate every `*.yaml` declaration file in `directory`, in name order
    (`00_base.yaml`, `10_roads.yaml`, ...): a layer may reference only layers before it.

    Raises:
        InvalidDeclarationError: a file is malformed, or two layers share an id or a table.
    """
    directory = directory or declarations_dir()
    layers: list[Layer] = []
    rasters: list[RasterLayer] = []
    for path in sorted(directory.glob("*.yaml")):
        file_layers, file_rasters = _parse(path)
        layers.extend(file_layers)
        rasters.extend(file_rasters)
    for layer in layers:
        for error in layer.policy_errors():
            raise InvalidDeclarationError(error)
    _check_labels(layers)
    seen: dict[object, str] = {}
    restricted = [r for r in (lyr.restricted_layer for lyr in layers) if r is not None]
    for key, owner in (
        [(lyr.id, lyr.id) for lyr in [*layers, *restricted]]
        + [(lyr.qualified_table, lyr.id) for lyr in [*layers, *restricted]]
        + [(r.id, r.id) for r in rasters]
    ):
        if key in seen:
            raise InvalidDeclarationError(f"{key!r} is declared twice ({seen[key]} and {owner})")
        seen[key] = owner
    declared: set[str] = set()
    for layer in layers:
        for layer_field in layer.fields:
            target = layer_field.references
            if target is not None and target not in declared:
                raise InvalidDeclarationError(
                    f"layer {layer.id}: field {layer_field.name!r} references {target!r}, "
                    "which is not declared before it (files load in name order)"
                )
        declared.add(layer.id)
    return Catalogue(layers=tuple(layers), rasters=tuple(rasters))


def _check_labels(layers: list[Layer]) -> None:
    """Every allowed value of a closed list reads in Kyrgyz, Russian and English (the viewer
    shows the labels, never the stored code).

    Raises:
        InvalidDeclarationError: naming the layer, the field and the unlabelled values.
    """
    for layer in layers:
        restricted = layer.restricted_layer
        fields = [*layer.fields, *(restricted.fields if restricted is not None else [])]
        for layer_field in fields:
            missing = layer_field.unlabelled_values
            if missing:
                raise InvalidDeclarationError(
                    f"layer {layer.id}: field {layer_field.name!r} has allowed values without "
                    f"ky/ru/en labels (add them under `labels:`): {', '.join(missing)}"
                )
