"""Per-zoom tile rules of a layer: its declared `tiles` bands completed by the defaults.

Defaults (a layer without a `tiles` block, or a band's unset values):

- attributes: every public field (a restricted field can never be named);
- below the layer's max zoom: simplification 0.5 px and features under 0.5 px dropped
  (pixels of a 256-pixel tile at the tile's zoom), the largest features first under the cap;
- at the layer's max zoom (clients overzoom it): no simplification beyond the MVT grid, no
  size filter;
- feature cap: the engine setting `max_features`.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.model import Layer, LayerField, TileBand
from tiles.errors import TilesConfigError

DEFAULT_SIMPLIFY_PX = 0.5
DEFAULT_MIN_SIZE_PX = 0.5


@dataclass(frozen=True)
class ZoomRules:
    """What goes into one layer's tiles at one zoom."""

    fields: tuple[LayerField, ...]
    simplify_px: float
    """Tolerance in pixels of a 256-pixel tile; ignored when `simplify_m` is set."""
    simplify_m: float | None
    min_size_px: float
    max_features: int
    priority: str | None

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the attributes in the tiles."""
        return tuple(f.name for f in self.fields)


def check_tile_rules(layer: Layer) -> None:
    """Refuse tile rules that name unknown or restricted fields.

    Raises:
        TilesConfigError: naming the layer, the band and the field.
    """
    if layer.tiles is None:
        return
    public = {f.name for f in layer.public_fields}
    declared = {f.name for f in layer.fields}
    for band in layer.tiles.bands:
        for name in [*(band.fields or []), *([band.priority] if band.priority else [])]:
            if name not in declared:
                raise TilesConfigError(
                    f"layer {layer.id}: tile band from zoom {band.min_zoom} "
                    f"names unknown field {name!r}"
                )
            if name not in public:
                raise TilesConfigError(
                    f"layer {layer.id}: tile band from zoom {band.min_zoom} "
                    f"names restricted field {name!r}; tiles are public"
                )


def _band_for(layer: Layer, zoom: int) -> TileBand | None:
    if layer.tiles is None:
        return None
    chosen = layer.tiles.bands[0]
    for band in layer.tiles.bands:
        if band.min_zoom <= zoom:
            chosen = band
    return chosen


def zoom_rules(layer: Layer, zoom: int, default_max_features: int) -> ZoomRules:
    """The rules of `layer` at Web Mercator `zoom`.

    Args:
        layer: the declaration (its `tiles` rules were checked by `check_tile_rules`).
        zoom: a Web Mercator zoom within the layer's zoom range.
        default_max_features: the cap when the band sets none.
    """
    band = _band_for(layer, zoom)
    at_max = zoom >= layer.zoom.max
    public = {f.name: f for f in layer.public_fields}
    names = band.fields if band and band.fields is not None else list(public)
    simplify_px = (
        band.simplify_px
        if band and band.simplify_px is not None
        else (0.0 if at_max else DEFAULT_SIMPLIFY_PX)
    )
    min_size = (
        band.min_size_px
        if band and band.min_size_px is not None
        else (0.0 if at_max else DEFAULT_MIN_SIZE_PX)
    )
    return ZoomRules(
        fields=tuple(public[name] for name in names if name in public),
        simplify_px=simplify_px,
        simplify_m=band.simplify_m if band else None,
        min_size_px=min_size,
        max_features=band.max_features if band and band.max_features else default_max_features,
        priority=band.priority if band else None,
    )


def all_tile_fields(layer: Layer) -> tuple[LayerField, ...]:
    """Every attribute that appears in the layer's tiles at some zoom, in declaration order."""
    names: set[str] = set()
    for zoom in range(layer.zoom.min, layer.zoom.max + 1):
        names.update(zoom_rules(layer, zoom, 1).field_names)
    return tuple(f for f in layer.public_fields if f.name in names)
