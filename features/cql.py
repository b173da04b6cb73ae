"""Translate pygeofilter ASTs (parsed CQL2 text/JSON) into PostGIS SQL.

:func:`to_sql` returns a :class:`psycopg.sql.Composable` WHERE fragment;
every literal becomes a named bound parameter in a :class:`Params`, every
property is validated and quoted with :class:`psycopg.sql.Identifier`.

* ``LIKE`` uses CQL2's (= PostgreSQL's) ``%``/``_``/``\\``, so patterns pass
  unchanged (pygeofilter's ``singlechar='.'`` is not CQL2 and is ignored).
* ``CASEI(x)`` arrives as ``lower(x)``; ``ACCENTI`` is rejected.
* Geometry literals without ``crs`` are CRS84; a caller may reproject them
  beforehand and tag them with their ``crs`` (pygeoapi's ``modify_pygeofilter`` does).
  ``BBOX``/``ENVELOPE`` values are taken as CRS84 (or the BBOX crs argument) and
  transformed in SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

import shapely
import shapely.geometry
from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.cql2 import SPATIAL_PREDICATES_MAP, TEMPORAL_PREDICATES_MAP

from features.crs import crs_info, envelope_clause
from features.errors import InvalidQueryError
from features.params import Params
from layers.geography import CRS84

TEMPORAL_FORMATS = ("date", "date-time")


_COMPARISON = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mul: "*", ast.Div: "/"}
_SPATIAL = {
    cls: "ST_" + name[2:].title()  # s_intersects -> ST_Intersects
    for name, cls in SPATIAL_PREDICATES_MAP.items()
}
_FUNCTIONS = {"lower": "lower", "upper": "upper"}
_SCALARS = (bool, int, float, str, dt.date, dt.datetime, dt.time)
_TEMPORAL_NAMES = {cls: name.upper() for name, cls in TEMPORAL_PREDICATES_MAP.items()}
_RELATE_PATTERN = re.compile(r"^[012TF*]{9}$", re.IGNORECASE)


def _describe(node: Any) -> str:
    name = type(node).__name__
    op = getattr(node, "op", None)
    return f"{name} ({op.value})" if op is not None else name


class CQLTranslator:
    """Translate one pygeofilter AST for one table into a WHERE fragment.

    :param fields: the provider's fields dict (name -> JSON schema)
    :param geom_column: geometry column name (``geometry`` is an alias)
    :param srid: storage SRID of the geometry column
    :param params: parameter collector shared with the rest of the query
    """

    def __init__(
        self, fields: Mapping[str, Mapping[str, Any]], geom_column: str, srid: int, params: Params
    ) -> None:
        self.fields = fields
        self.geom_column = geom_column
        self.srid = srid
        self.params = params
        self._predicates: dict[type, Callable[[Any], sql.Composable]] = {
            ast.And: self.combination,
            ast.Or: self.combination,
            ast.Not: self.negation,
            ast.Comparison: self.comparison,
            ast.Between: self.between,
            ast.Like: self.like,
            ast.In: self.in_,
            ast.IsNull: self.is_null,
            ast.Include: self.include,
            ast.SpatialComparisonPredicate: self.spatial,
            ast.Relate: self.relate,
            ast.BBox: self.bbox,
            ast.TemporalPredicate: self.temporal,
        }

    # -- entry point -------------------------------------------------------
    def translate(self, node: Any) -> sql.Composable:
        """Return the SQL condition for a predicate node."""
        for cls in type(node).__mro__:
            handler = self._predicates.get(cls)
            if handler is not None:
                return handler(node)
        raise InvalidQueryError(f"unsupported filter predicate: {_describe(node)}")

    # -- expressions -------------------------------------------------------
    def column(self, name: str) -> sql.Identifier:
        """Validated column identifier for a property name."""
        if name in ("geometry", self.geom_column):
            if not self.geom_column:
                raise InvalidQueryError("this collection has no geometry to filter on")
            return sql.Identifier(self.geom_column)
        if name not in self.fields:
            valid = ", ".join(sorted(self.fields))
            raise InvalidQueryError(
                f"unknown property {name!r} in filter; valid properties: {valid}, geometry"
            )
        return sql.Identifier(name)

    def expression(self, node: Any) -> sql.Composable:
        """SQL for a scalar expression: property, literal, function, math."""
        if isinstance(node, ast.Attribute):
            return self.column(node.name)
        if isinstance(node, ast.Arithmetic):
            return sql.SQL("({} {} {})").format(
                self.expression(node.lhs),
                sql.SQL(_ARITHMETIC[type(node)]),
                self.expression(node.rhs),
            )
        if isinstance(node, ast.Function):
            return self.function(node)
        if isinstance(node, (values.Geometry, values.Envelope)):
            return self.geometry(node)
        if isinstance(node, _SCALARS):
            return self.params.add(node)
        raise InvalidQueryError(f"unsupported value in filter: {_describe(node)}")

    def function(self, node: ast.Function) -> sql.Composable:
        name = node.name.lower()
        if name not in _FUNCTIONS:
            raise InvalidQueryError(
                f"unsupported filter function {node.name!r}; supported: CASEI, LOWER, UPPER"
            )
        if len(node.arguments) != 1:
            raise InvalidQueryError(f"{node.name} takes exactly one argument")
        return sql.SQL("{}({})").format(
            sql.SQL(_FUNCTIONS[name]), self.expression(node.arguments[0])
        )

    def geometry(self, node: Any) -> sql.Composable:
        """Geometry literal as WKB, in (or transformed to) storage SRID."""
        if isinstance(node, values.Envelope):
            return envelope_clause(
                self.params, (node.x1, node.y1, node.x2, node.y2), crs_info(CRS84), self.srid
            )
        crs_name = (node.geometry.get("crs") or {}).get("properties", {}).get("name")
        source = crs_info(crs_name or CRS84)
        try:
            wkb = shapely.to_wkb(shapely.geometry.shape(node.geometry))
        except Exception as err:
            raise InvalidQueryError(f"invalid geometry in filter: {err}") from None
        geom = sql.SQL("ST_GeomFromWKB({}, {})").format(
            self.params.add(wkb), self.params.add(source.srid)
        )
        if source.flip:
            geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
        if source.srid != self.srid:
            geom = sql.SQL("ST_Transform({}, {})").format(geom, self.params.add(self.srid))
        return geom

    def spatial_operand(self, node: Any) -> sql.Composable:
        if isinstance(node, ast.Attribute) and node.name not in ("geometry", self.geom_column):
            self.column(node.name)  # unknown -> error naming it
            raise InvalidQueryError(
                f"property {node.name!r} is not a geometry; use {self.geom_column!r} or geometry"
            )
        if not isinstance(node, (ast.Attribute, values.Geometry, values.Envelope)):
            raise InvalidQueryError(
                "spatial predicates need a geometry property or geometry literal operands"
            )
        return self.expression(node)

    def temporal_column(self, node: Any, op: str) -> sql.Composable:
        if not isinstance(node, ast.Attribute):
            raise InvalidQueryError(f"{op}: the first argument must be a property")
        ident = self.column(node.name)
        fmt = self.fields.get(node.name, {}).get("format")
        if fmt not in TEMPORAL_FORMATS:
            raise InvalidQueryError(f"{op}: property {node.name!r} is not a date or timestamp")
        return ident

    # -- predicates --------------------------------------------------------
    def combination(self, node: ast.Combination) -> sql.Composable:
        joiner = sql.SQL(" AND " if isinstance(node, ast.And) else " OR ")
        return sql.SQL("({})").format(
            joiner.join([self.translate(node.lhs), self.translate(node.rhs)])
        )

    def negation(self, node: ast.Not) -> sql.Composable:
        return sql.SQL("(NOT {})").format(self.translate(node.sub_node))

    def comparison(self, node: ast.Comparison) -> sql.Composable:
        return sql.SQL("{} {} {}").format(
            self.expression(node.lhs), sql.SQL(_COMPARISON[type(node)]), self.expression(node.rhs)
        )

    def between(self, node: ast.Between) -> sql.Composable:
        return sql.SQL("{} {}BETWEEN {} AND {}").format(
            self.expression(node.lhs),
            sql.SQL("NOT " if node.not_ else ""),
            self.expression(node.low),
            self.expression(node.high),
        )

    def like(self, node: ast.Like) -> sql.Composable:
        if not isinstance(node.pattern, (str, ast.Function)):
            raise InvalidQueryError("LIKE needs a text pattern")
        op = "ILIKE" if node.nocase else "LIKE"
        return sql.SQL("{} {}{} {}").format(
            self.expression(node.lhs),
            sql.SQL("NOT " if node.not_ else ""),
            sql.SQL(op),
            self.expression(node.pattern),
        )

    def in_(self, node: ast.In) -> sql.Composable:
        if not node.sub_nodes:
            raise InvalidQueryError("IN needs at least one value")
        items = sql.SQL(", ").join(self.expression(n) for n in node.sub_nodes)
        return sql.SQL("{} {}IN ({})").format(
            self.expression(node.lhs), sql.SQL("NOT " if node.not_ else ""), items
        )

    def is_null(self, node: ast.IsNull) -> sql.Composable:
        return sql.SQL("{} IS {}NULL").format(
            self.expression(node.lhs), sql.SQL("NOT " if node.not_ else "")
        )

    def include(self, node: ast.Include) -> sql.Composable:
        return sql.SQL("FALSE" if node.not_ else "TRUE")

    def spatial(self, node: ast.SpatialComparisonPredicate) -> sql.Composable:
        return sql.SQL("{}({}, {})").format(
            sql.SQL(_SPATIAL[type(node)]),
            self.spatial_operand(node.lhs),
            self.spatial_operand(node.rhs),
        )

    def relate(self, node: ast.Relate) -> sql.Composable:
        if not _RELATE_PATTERN.match(str(node.pattern)):
            raise InvalidQueryError("RELATE needs a 9 character DE-9IM pattern")
        return sql.SQL("ST_Relate({}, {}, {})").format(
            self.spatial_operand(node.lhs),
            self.spatial_operand(node.rhs),
            self.params.add(str(node.pattern).upper()),
        )

    def bbox(self, node: ast.BBox) -> sql.Composable:
        geom = self.spatial_operand(node.lhs)
        env = envelope_clause(
            self.params,
            (node.minx, node.miny, node.maxx, node.maxy),
            crs_info(node.crs or CRS84),
            self.srid,
        )
        return sql.SQL("({0} && {1} AND ST_Intersects({0}, {1}))").format(geom, env)

    def temporal(self, node: ast.TemporalPredicate) -> sql.Composable:
        """Temporal predicates on an instant-valued date/timestamp column."""
        op = _TEMPORAL_NAMES.get(type(node), type(node).__name__)
        col = self.temporal_column(node.lhs, op)
        start, end = _time_bounds(node.rhs, op)
        add = self.params.add
        if isinstance(node, ast.TimeEquals):
            if start != end:
                return sql.SQL("FALSE")
            return sql.SQL("{} = {}").format(col, add(start))
        if isinstance(node, ast.TimeBefore):
            return (
                sql.SQL("{} < {}").format(col, add(start))
                if start is not None
                else sql.SQL("FALSE")
            )
        if isinstance(node, ast.TimeAfter):
            return sql.SQL("{} > {}").format(col, add(end)) if end is not None else sql.SQL("FALSE")
        if isinstance(node, (ast.TimeDuring, ast.TimeOverlaps, ast.TimeDisjoint)):
            strict = isinstance(node, ast.TimeDuring)
            lo, hi = (">", "<") if strict else (">=", "<=")
            parts = [
                sql.SQL("{} {} {}").format(col, sql.SQL(op_), add(v))
                for op_, v in ((lo, start), (hi, end))
                if v is not None
            ]
            cond = (
                sql.SQL("({})").format(sql.SQL(" AND ").join(parts))
                if parts
                else sql.SQL("{} IS NOT NULL").format(col)
            )
            if isinstance(node, ast.TimeDisjoint):
                return sql.SQL("(NOT {})").format(cond)
            return cond
        raise InvalidQueryError(
            f"{op} is not supported for instant-valued properties;"
            " use T_BEFORE, T_AFTER, T_DURING, T_INTERSECTS, "
            "T_EQUALS or T_DISJOINT"
        )


def _time_bounds(value: Any, op: str) -> tuple[Any, Any]:
    """(start, end) of a temporal literal; ``None`` marks an open end."""
    if isinstance(value, values.Interval):
        bounds = (value.start, value.end)
    elif isinstance(value, (dt.date, dt.datetime)):
        bounds = (value, value)
    else:
        raise InvalidQueryError(
            f"{op}: the second argument must be a DATE, TIMESTAMP or INTERVAL literal"
        )
    for bound in bounds:
        if bound is not None and not isinstance(bound, (dt.date, dt.datetime)):
            raise InvalidQueryError(f"{op}: durations in intervals are not supported")
    return bounds


def to_sql(
    node: Any,
    fields: Mapping[str, Mapping[str, Any]],
    geom_column: str | None,
    srid: int,
    params: Params,
) -> sql.Composable:
    """Translate a pygeofilter AST into a WHERE condition.

    :param node: pygeofilter AST (``filterq`` as passed by pygeoapi)
    :param fields: provider fields (name -> JSON schema incl. ``format``)
    :param geom_column: geometry column name
    :param srid: storage SRID of the geometry column
    :param params: collector receiving the bound values

    :raises InvalidQueryError: unknown property, unsupported
        construct, bad literal
    :returns: SQL condition, with placeholders named in ``params``
    """
    return CQLTranslator(fields, geom_column, srid, params).translate(node)
