"""Legends derived from a layer's declared MapLibre style layers.

The viewer draws a legend next to each layer toggle. It is read from the same style layers
the map draws (`layers/declarations/*.yaml`, `style:`), so the two cannot disagree: a
classified colour (`match` on a field) becomes one entry per class, a constant colour one
swatch, a colour interpolated over the zoom its first stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layers.model import Layer

COLOR_PAINT = {
    "fill": "fill-color",
    "fill-extrusion": "fill-extrusion-color",
    "line": "line-color",
    "circle": "circle-color",
}
OUTLINE_PAINT = {"fill": "fill-outline-color", "circle": "circle-stroke-color"}


@dataclass(frozen=True)
class LegendEntry:
    """One swatch: its symbol kind (fill, line, circle), colour and class value (or None)."""

    symbol: str
    color: str
    value: str | None = None
    outline: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The entry as the viewer reads it."""
        return {
            "symbol": self.symbol,
            "color": self.color,
            "value": self.value,
            "outline": self.outline,
        }


def first_color(expression: Any) -> str | None:
    """A representative colour of a paint value: the value itself, or the first colour found
    in an expression (the first stop of an interpolation, the first case of a match).

    >>> first_color("#fff"), first_color(["interpolate", ["linear"], ["zoom"], 4, "#abc"])
    ('#fff', '#abc')
    >>> first_color(["get", "colour"]) is None
    True
    """
    if isinstance(expression, str):
        return expression if expression.startswith(("#", "rgb", "hsl")) else None
    if isinstance(expression, list):
        for item in expression[1:]:
            found = first_color(item)
            if found is not None:
                return found
    return None


def match_classes(expression: Any) -> tuple[str, list[tuple[str, str]]] | None:
    """(field, [(class label, colour), ...]) of a `["match", ["get", field], ...]` colour,
    with "*" for the fallback colour; None for anything else.

    >>> match_classes(["match", ["get", "use"], "a", "#1", ["b", "c"], "#2", "#0"])
    ('use', [('a', '#1'), ('b, c', '#2'), ('*', '#0')])
    """
    if not (
        isinstance(expression, list)
        and len(expression) >= 4
        and expression[0] == "match"
        and isinstance(expression[1], list)
        and expression[1][:1] == ["get"]
    ):
        return None
    field = str(expression[1][1])
    pairs = expression[2:]
    classes = []
    for label, color in zip(pairs[0::2], pairs[1::2], strict=False):
        text = ", ".join(map(str, label)) if isinstance(label, list) else str(label)
        classes.append((text, first_color(color) or "#888888"))
    if len(pairs) % 2 == 1:
        classes.append(("*", first_color(pairs[-1]) or "#888888"))
    return field, classes


def filter_values(style_layer: dict[str, Any], field: str) -> list[str] | None:
    """The values of `field` a style layer draws, when its filter is
    `["match", ["get", field], [values...], true, false]`; None for any other filter.

    >>> filter_values({"filter": ["match", ["get", "k"], ["a", "b"], True, False]}, "k")
    ['a', 'b']
    """
    expression = style_layer.get("filter")
    if (
        isinstance(expression, list)
        and len(expression) == 5
        and expression[0] == "match"
        and expression[1] == ["get", field]
        and expression[3:] == [True, False]
    ):
        values = expression[2]
        return [str(v) for v in values] if isinstance(values, list) else [str(values)]
    return None


def classified_entries(
    layer: Layer, symbols: list[dict[str, Any]]
) -> tuple[str, list[LegendEntry]] | None:
    """The classes of every style layer coloured by a `match` on the first classified field.

    A field split over several style layers (main roads drawn above local ones) gives one
    legend. A fallback colour stands for the values the style layer's filter lets through
    (else the field's declared values) that no case names: the legend names them instead of
    "other" ("*" stays only for a field without a closed list), and, for a field that may be
    empty, adds an entry without a value for the features that have none. Classes follow the
    field's declared order of values.
    """
    field: str | None = None
    entries: dict[str, LegendEntry] = {}
    for style_layer in symbols:
        kind = style_layer["type"]
        classes = match_classes(style_layer.get("paint", {}).get(COLOR_PAINT[kind]))
        if classes is None or (field is not None and classes[0] != field):
            continue
        field, values = classes
        named = {v.strip() for label, _ in values if label != "*" for v in label.split(",")}
        filtered = filter_values(style_layer, field)
        drawn = filtered or _declared_values(layer, field) or None
        for label, color in values:
            if label == "*" and drawn is not None:
                for value in (v for v in drawn if v not in named):
                    entries.setdefault(value, LegendEntry(kind, color, value))
                if filtered is None and not layer.field(field).required:
                    # features without a value: the viewer labels them with the layer's title
                    entries.setdefault("", LegendEntry(kind, color, None))
            else:
                entries.setdefault(label, LegendEntry(kind, color, label))
    if field is None:
        return None
    order = {str(v): i for i, v in enumerate(_declared_values(layer, field))}
    ranked = sorted(entries.values(), key=lambda e: order.get(e.value or "", len(order) + 1))
    return field, ranked


def _declared_values(layer: Layer, field: str) -> list[str]:
    declared = next((f for f in layer.fields if f.name == field), None)
    return list(declared.enum or []) if declared else []


def layer_legend(layer: Layer) -> dict[str, Any]:
    """The legend of a layer: the classified field (if any) and its entries.

    The style layers coloured by a `match` on a field give one entry per class (see
    `classified_entries`); otherwise the first style layer with a colour gives one swatch. A
    layer without a style has an empty legend.
    """
    symbols = [s for s in layer.style if s.get("type") in COLOR_PAINT]
    classified = classified_entries(layer, symbols)
    if classified is not None:
        field, entries = classified
        return {"field": field, "entries": [entry.as_json() for entry in entries]}
    for style_layer in symbols:
        kind = style_layer["type"]
        paint = style_layer.get("paint", {})
        color = first_color(paint.get(COLOR_PAINT[kind]))
        if color is not None:
            outline = next(
                (
                    first_color(s.get("paint", {}).get("line-color"))
                    for s in symbols
                    if s["type"] == "line" and s is not style_layer
                ),
                first_color(paint.get(OUTLINE_PAINT.get(kind, ""))),
            )
            return {"field": None, "entries": [LegendEntry(kind, color, None, outline).as_json()]}
    return {"field": None, "entries": []}
