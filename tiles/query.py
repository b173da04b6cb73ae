"""The tile SQL: one `ST_AsMVT` statement per tile, one sub-select per MVT layer.

Per layer and zoom (see `tiles/rules.py`): the band's attributes only (public fields, read
by the public role), `ST_Simplify(..., true)` with a tolerance in storage
units derived from the tile's pixel size, small features dropped, a feature cap that keeps
the highest priority (or largest) features, then `ST_Transform` to the tile matrix set's
integer SRID and `ST_AsMVTGeom` clipping. MVT layers of a multi-layer tileset are encoded
separately and concatenated (`||`): concatenated MVT layers are a valid tile.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from psycopg import sql
from pyproj import CRS, Transformer

from layers.model import Layer, LayerField
from tiles.rules import ZoomRules, zoom_rules
from tiles.settings import TileSettings
from tiles.tilematrix import TileMatrixSet
from tiles.tilesets import Tileset
from tiles.types import BBox, TileCoord

TILE_PIXELS = 256
"""Pixels per tile side in which `simplify_px` and `min_size_px` are expressed."""
_POINT_TYPES = ("Point", "MultiPoint")


@dataclass(frozen=True)
class TileFilter:
    """A WHERE fragment compiled by the server (CQL2 `filter`, `datetime`) for one layer.

    `params` holds the values of the fragment's named placeholders (their names must not
    start with `t_`); `variant` names the filtered tiles in the caches.
    """

    where: sql.Composable
    params: Mapping[str, Any]
    variant: str
    layers: Mapping[str, sql.Composable] | None = None
    """Of a multi-layer (composite) tile: the fragment per layer id (a layer not named is
    not filtered); `where` is then unused."""

    def where_of(self, layer_id: str) -> sql.Composable | None:
        """The fragment applying to layer `layer_id`, or None."""
        return self.where if self.layers is None else self.layers.get(layer_id)


@dataclass
class _Params:
    """Named bound parameters of the tile statement (names `t_<n>`)."""

    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> sql.Placeholder:
        name = f"t_{len(self.values)}"
        self.values[name] = value
        return sql.Placeholder(name)


@functools.cache
def _template() -> str:
    """`tiles/sql/layer_tile.sql` without its comment lines (not sent with every tile)."""
    text = (resources.files("tiles") / "sql" / "layer_tile.sql").read_text("utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("--"))


@functools.cache
def _transformer(source: str, srid: int) -> Transformer:
    return Transformer.from_crs(source, f"EPSG:{srid}", always_xy=True)


@functools.cache
def is_geographic(srid: int) -> bool:
    """True when the storage CRS is in degrees."""
    return bool(CRS.from_epsg(srid).is_geographic)


_MERCATOR_RADIUS = 6378137.0
"""The sphere of EPSG:3857 (Web Mercator), as PROJ and PostGIS use it."""


def _mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    return (
        math.degrees(x / _MERCATOR_RADIUS),
        math.degrees(math.atan(math.sinh(y / _MERCATOR_RADIUS))),
    )


def storage_envelope(tms: TileMatrixSet, bounds: BBox, srid: int) -> BBox:
    """A box in the tile matrix set's CRS as a box in storage SRID `srid` (densified edges).

    Web Mercator to longitude/latitude is done in closed form: longitude depends on x only
    and latitude on y only, both increasing, so the corners give the exact box (PROJ's
    densified `transform_bounds` took a tenth of a millisecond per tile for the same box).
    """
    if srid == tms.srid:
        return bounds
    if tms.srid == 3857 and srid == 4326:
        xmin, ymin = _mercator_to_lonlat(bounds.xmin, bounds.ymin)
        xmax, ymax = _mercator_to_lonlat(bounds.xmax, bounds.ymax)
        return BBox(xmin, ymin, xmax, ymax)
    xmin, ymin, xmax, ymax = _transformer(tms.pyproj_crs, srid).transform_bounds(
        *bounds, densify_pts=21
    )
    return BBox(xmin, ymin, xmax, ymax)


def pixel_size(tms: TileMatrixSet, bounds: BBox, srid: int) -> tuple[float, float]:
    """Size (x, y) of one pixel of a 256-pixel tile at the tile's centre, in storage units."""
    px = (bounds.xmax - bounds.xmin) / TILE_PIXELS
    cx, cy = (bounds.xmin + bounds.xmax) / 2, (bounds.ymin + bounds.ymax) / 2
    if srid == tms.srid:
        return px, px
    if tms.srid == 3857 and srid == 4326:
        lon0, lat0 = _mercator_to_lonlat(cx, cy)
        lon1, lat2 = _mercator_to_lonlat(cx + px, cy + px)
        return lon1 - lon0, lat2 - lat0
    t = _transformer(tms.pyproj_crs, srid)
    x0, y0 = t.transform(cx, cy)
    x1, y1 = t.transform(cx + px, cy)
    x2, y2 = t.transform(cx, cy + px)
    return math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x0, y2 - y0)


def property_sql(f: LayerField) -> sql.Composable:
    """A field as an MVT attribute: dates and timestamps as ISO 8601 text (UTC)."""
    column = sql.Identifier("c", f.name)
    if f.type == "date":
        return sql.SQL("to_char({}, 'YYYY-MM-DD') AS {}").format(column, sql.Identifier(f.name))
    if f.type == "timestamptz":
        return sql.SQL(
            """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS {}"""
        ).format(column, sql.Identifier(f.name))
    return column


def geometry_sql(
    layer: Layer, tms: TileMatrixSet, tolerance: sql.Composable | None
) -> sql.Composable:
    """The candidate's geometry, simplified in storage units, in the set's SRID.

    Lines and polygons are simplified with `ST_Simplify(..., true)` (collapsed parts are
    kept, so small features do not vanish); points never are. Not
    `ST_SimplifyPreserveTopology`: it cost half of a dense z14 buildings tile (915
    buildings: 50 ms against 25 ms) for the same bytes, and `ST_AsMVTGeom` makes the
    clipped polygons valid anyway.
    """
    geom: sql.Composable = sql.SQL("c.geom")
    if tolerance is not None and layer.geometry_type not in _POINT_TYPES:
        geom = sql.SQL("ST_Simplify({}, {}, true)").format(geom, tolerance)
    if layer.storage_srid != tms.srid:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(tms.srid))
    return geom


def _size_sql() -> tuple[sql.Composable, sql.Composable]:
    return (sql.SQL("(ST_XMax(geom) - ST_XMin(geom))"), sql.SQL("(ST_YMax(geom) - ST_YMin(geom))"))


TRANSFORMABLE_4326 = (-180.0, -85.06, 180.0, 85.06)
"""Where a longitude/latitude is safely transformed to the tile matrix sets' CRS (Web
Mercator ends at 85.0511 degrees; beyond +-90 PROJ fails: `transform: Invalid coordinate`)."""


def transformable_sql(storage_srid: int, target_srid: int | None) -> sql.Composable | None:
    """Defence in depth: a row whose box leaves `TRANSFORMABLE_4326` is skipped rather than
    failing the whole tile (the database refuses such rows since migration 0010, but one
    forced in must not break the map for everyone). A bounding-box test: free beside the
    index condition. None when no transform happens.

    >>> transformable_sql(4326, 4326) is None
    True
    """
    if target_srid is None or storage_srid == target_srid or storage_srid != 4326:
        return None
    return sql.SQL("geom @ ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
        *map(sql.Literal, TRANSFORMABLE_4326)
    )


def untransformable_rows_sql(layer: Layer, limit: int = 20) -> sql.Composable:
    """The ids of rows `transformable_sql` skips (four index-assisted strips around the
    domain), to log them."""
    xmin, ymin, xmax, ymax = TRANSFORMABLE_4326
    strips = [
        (-1e300, ymax, 1e300, 1e300),
        (-1e300, -1e300, 1e300, ymin),
        (xmax, -1e300, 1e300, 1e300),
        (-1e300, -1e300, xmin, 1e300),
    ]
    conds = sql.SQL(" OR ").join(
        sql.SQL("(geom && ST_MakeEnvelope({}, {}, {}, {}, 4326) AND NOT geom @ {})").format(
            *map(sql.Literal, strip),
            sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
                *map(sql.Literal, TRANSFORMABLE_4326)
            ),
        )
        for strip in strips
    )
    return sql.SQL("SELECT id FROM {} WHERE {} ORDER BY id LIMIT {}").format(
        sql.Identifier(*layer.qualified_table), conds, sql.Literal(limit)
    )


def where_sql(
    layer: Layer,
    p: Mapping[str, sql.Composable],
    srid: int,
    tile_filter: TileFilter | None,
    target_srid: int | None = None,
) -> sql.Composable:
    """Index condition, size filter, the transformable domain and the request's filter (`p`:
    the placeholders of `LayerValues.ordered`; `srid` the storage CRS, `target_srid` the
    tile matrix set's)."""
    env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
        p["xmin"], p["ymin"], p["xmax"], p["ymax"], sql.Literal(srid)
    )
    conds: list[sql.Composable] = [sql.SQL("geom && {}").format(env)]
    domain = transformable_sql(srid, target_srid)
    if domain is not None:
        conds.append(domain)
    if "min_width" in p:
        # Position and size in one index (migration 0009): only features at least this
        # large are read; the exact test on both axes follows.
        conds.append(
            sql.SQL(
                "catalog.tiles_size_key(geom) &&& ST_MakeLine(ST_MakePoint({}, {}, {}), "
                "ST_MakePoint({}, {}, 1e30))"
            ).format(p["xmin"], p["ymin"], p["min_side"], p["xmax"], p["ymax"])
        )
        width, height = _size_sql()
        conds.append(
            sql.SQL("({} >= {} OR {} >= {})").format(width, p["min_width"], height, p["min_height"])
        )
    where = tile_filter.where_of(layer.id) if tile_filter is not None else None
    if where is not None:
        conds.append(sql.SQL("({})").format(where))
    return sql.SQL(" AND ").join(conds)


def order_sql(layer: Layer, rules: ZoomRules) -> sql.Composable:
    """Which features the cap keeps: the band's priority field, else the largest."""
    if rules.priority:
        return sql.SQL("ORDER BY {} DESC NULLS LAST, id").format(sql.Identifier(rules.priority))
    if layer.geometry_type not in _POINT_TYPES and rules.min_size_px > 0:
        width, height = _size_sql()
        return sql.SQL("ORDER BY GREATEST({}, {}) DESC").format(width, height)
    return sql.SQL("")


@dataclass(frozen=True)
class LayerValues:
    """The numbers of one MVT layer of one tile, bound as parameters. Which of them the
    statement uses depends on the layer and its zoom rules only, never on the tile."""

    tolerance: float
    """Simplification tolerance in storage units (0: none)."""
    tile_box: BBox
    """The tile in the tile matrix set's CRS."""
    envelope: BBox
    """The buffered tile in the storage CRS."""
    min_size: tuple[float, float]
    """Smallest width and height kept, in storage units (0: no size filter)."""
    max_features: int

    def ordered(self) -> list[tuple[str, Any]]:
        """(name, value) of the parameters the statement uses, in a fixed order."""
        out: list[tuple[str, Any]] = [("tolerance", self.tolerance)] if self.tolerance else []
        out += list(
            zip(("box_xmin", "box_ymin", "box_xmax", "box_ymax"), self.tile_box, strict=True)
        )
        out += list(zip(("xmin", "ymin", "xmax", "ymax"), self.envelope, strict=True))
        if max(self.min_size) > 0:
            out += [
                ("min_side", min(self.min_size)),
                ("min_width", self.min_size[0]),
                ("min_height", self.min_size[1]),
            ]
        return [*out, ("max_features", self.max_features)]


def layer_values(
    layer: Layer, rules: ZoomRules, tms: TileMatrixSet, tile: TileCoord, settings: TileSettings
) -> LayerValues:
    """The parameters of one MVT layer of a tile."""
    bounds = tms.xy_bounds(tile)
    grow = (bounds.xmax - bounds.xmin) * settings.buffer / settings.extent
    buffered = BBox(bounds.xmin - grow, bounds.ymin - grow, bounds.xmax + grow, bounds.ymax + grow)
    px, py = pixel_size(tms, bounds, layer.storage_srid)
    if rules.simplify_m is not None:
        tolerance = (
            rules.simplify_m / 111_320 if is_geographic(layer.storage_srid) else rules.simplify_m
        )
    else:
        tolerance = rules.simplify_px * min(px, py)
    points = layer.geometry_type in _POINT_TYPES
    return LayerValues(
        tolerance=0.0 if points else max(tolerance, 0.0),
        tile_box=bounds,
        envelope=storage_envelope(tms, buffered, layer.storage_srid),
        min_size=(0.0, 0.0) if points else (rules.min_size_px * px, rules.min_size_px * py),
        max_features=rules.max_features,
    )


def layer_sql(
    layer: Layer,
    rules: ZoomRules,
    tms: TileMatrixSet,
    values: LayerValues,
    settings: TileSettings,
    params: _Params,
    tile_filter: TileFilter | None,
) -> sql.Composable:
    """The sub-select encoding one MVT layer of a tile (its values added to `params`)."""
    p = {name: params.add(value) for name, value in values.ordered()}
    geometry = geometry_sql(layer, tms, p.get("tolerance"))
    tile_box = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})::box2d").format(
        p["box_xmin"], p["box_ymin"], p["box_xmax"], p["box_ymax"], sql.Literal(tms.srid)
    )
    columns = [
        sql.Identifier("id"),
        *(sql.Identifier(f.name) for f in rules.fields),
        sql.Identifier("geom"),
    ]
    return sql.SQL(_template()).format(
        layer_name=sql.Literal(layer.id),
        extent=sql.Literal(settings.extent),
        buffer=sql.Literal(settings.buffer),
        properties=sql.SQL(", ").join([sql.SQL("c.id"), *map(property_sql, rules.fields)]),
        geometry=geometry,
        tile_box=tile_box,
        columns=sql.SQL(", ").join(columns),
        table=sql.Identifier(*layer.qualified_table),
        where=where_sql(layer, p, layer.storage_srid, tile_filter, tms.srid),
        order_by=order_sql(layer, rules),
        max_features=p["max_features"],
    )


_STATEMENTS: dict[tuple[Any, ...], str] = {}
"""Statement text per tileset, tile matrix set, zoom and settings: only the values change
from tile to tile, and composing the text cost about 1 ms per layer."""


def build_tile_query(
    tileset: Tileset,
    tms: TileMatrixSet,
    tile: TileCoord,
    settings: TileSettings,
    tile_filter: TileFilter | None = None,
) -> tuple[sql.Composable | str, dict[str, Any]] | None:
    """The statement (and its parameters) returning the tile's MVT bytes in one row.

    Returns None when no layer of the tileset is drawn at this zoom (the tile is empty
    without asking the database). `tile_filter` applies to single-layer tilesets, or per
    layer (`TileFilter.layers`) to composite ones.
    """
    zoom = tms.web_mercator_zoom(tile.z)
    drawn = [
        (item.layer, zoom_rules(item.layer, zoom, settings.max_features))
        for item in tileset.layers_at(zoom)
    ]
    if not drawn:
        return None
    layers = [
        (layer, rules, layer_values(layer, rules, tms, tile, settings)) for layer, rules in drawn
    ]
    params = _Params()
    key = (
        tileset.key,
        tuple(layer.id for layer, _ in drawn),
        tms.id,
        zoom,
        settings.extent,
        settings.buffer,
    )
    cached = _STATEMENTS.get(key) if tile_filter is None else None
    if cached is not None:
        for _, _, values in layers:
            for _, value in values.ordered():
                params.add(value)
        return cached, params.values
    parts = [
        layer_sql(layer, rules, tms, values, settings, params, tile_filter)
        for layer, rules, values in layers
    ]
    statement: sql.Composable = (
        parts[0]
        if len(parts) == 1
        else sql.SQL("SELECT {}").format(
            sql.SQL(" || ").join(sql.SQL("({})").format(part) for part in parts)
        )
    )
    if tile_filter is not None:
        return statement, {**tile_filter.params, **params.values}
    text = _STATEMENTS[key] = statement.as_string(None)
    return text, params.values
