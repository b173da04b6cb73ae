"""The SQL of a features request, one function per clause.

Every value is a bound parameter collected in a :class:`~features.params.Params`; every
identifier comes from the introspected :class:`~features.table.FeatureTable` and is quoted
by psycopg. The page statement renders the features to GeoJSON text in PostgreSQL:

``SELECT <feature array>, count, max(id), <counter> FROM (SELECT <columns> FROM <table>
WHERE <filters> ORDER BY <keys> LIMIT n OFFSET m) AS p``
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import sql

from features.cql import to_sql
from features.crs import CrsInfo, envelope_clause
from features.datetimes import datetime_clause, parse_datetime
from features.errors import InvalidQueryError
from features.params import Params
from features.table import TEXT_TYPES, FeatureTable

SortKey = dict[str, str]
"""``{"property": name, "order": "+" or "-"}``."""


def from_clause(table: FeatureTable, where: sql.Composable | None) -> sql.Composable:
    """``FROM schema.table [WHERE ...]``."""
    return sql.SQL("FROM {}{}").format(
        sql.Identifier(table.schema, table.table),
        sql.SQL(" WHERE {}").format(where) if where else sql.SQL(""),
    )


def geometry_clause(
    table: FeatureTable,
    params: Params,
    target: CrsInfo | None,
    untransformable: Sequence[Any] = (),
) -> sql.Composable:
    """GeoJSON text of ``p.geom`` in the ``target`` CRS (default: storage), or ``null``.

    Rows whose id is in ``untransformable`` get ``null`` instead of a geometry that the
    target CRS cannot express (see :func:`features.rendering.fetch_page`).
    """
    if table.geom_field is None:
        return sql.SQL("'null'")
    target = target or table.storage
    geom: sql.Composable = sql.SQL("p.{}").format(sql.Identifier(table.geom_field))
    if target.srid != table.srid:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, params.add(target.srid))
    if target.flip:
        geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
    text = sql.SQL("COALESCE(ST_AsGeoJSON({}, {}, 0), 'null')").format(
        geom, params.add(target.digits)
    )
    if untransformable:
        return sql.SQL("CASE WHEN p.{} = ANY({}) THEN 'null' ELSE {} END").format(
            sql.Identifier(table.id_field), params.add(list(untransformable)), text
        )
    return text


def properties_clause(names: Sequence[str]) -> sql.Composable:
    """JSON object of the selected properties of ``p``, in column order."""
    cols = [sql.SQL("p.{}").format(sql.Identifier(n)) for n in names]
    if len(names) <= 50:  # json_build_object takes <= 100 arguments
        return sql.SQL("json_build_object({})").format(
            sql.SQL(", ").join(
                sql.SQL("{}, {}").format(sql.Literal(n), c)
                for n, c in zip(names, cols, strict=True)
            )
        )
    return sql.SQL("(SELECT row_to_json(r) FROM (SELECT {}) AS r)").format(sql.SQL(", ").join(cols))


def feature_clause(
    table: FeatureTable, names: Sequence[str], geometry: sql.Composable
) -> sql.Composable:
    """One feature of ``p`` as GeoJSON text."""
    return sql.SQL(
        """'{{"type":"Feature","id":' || COALESCE(to_json(p.{})::text,"""
        """ 'null') || ',"geometry":' || {} || ',"properties":' || {}"""
        """::text || '}}'"""
    ).format(sql.Identifier(table.id_field), geometry, properties_clause(names))


def order_by_clause(
    table: FeatureTable, sortby: Iterable[SortKey], alias: str | None = None
) -> sql.Composable:
    """Requested sort keys plus the id as tie-breaker (stable paging).

    Raises:
        InvalidQueryError: a sort key that is not an exposed field.
    """
    keys: dict[str, str] = {}
    for item in sortby or []:
        name = item["property"]
        if name not in table.fields:
            raise InvalidQueryError(f"cannot sort by unknown property {name!r}")
        keys.setdefault(name, "DESC" if item.get("order") == "-" else "ASC")
    keys.setdefault(table.id_field, "ASC")
    return sql.SQL(", ").join(
        sql.SQL("{} {}").format(
            sql.Identifier(*([alias] if alias else []), name), sql.SQL(direction)
        )
        for name, direction in keys.items()
    )


def bbox_clause(table: FeatureTable, params: Params, bbox: Sequence[float]) -> sql.Composable:
    """Features intersecting a bbox given in the storage CRS (4 or 6 numbers).

    Raises:
        InvalidQueryError: the table has no geometry or the bbox is malformed.
    """
    if table.geom_field is None:
        raise InvalidQueryError("this collection has no geometry: bbox does not apply")
    if len(bbox) not in (4, 6):
        raise InvalidQueryError("bbox needs 4 or 6 numbers")
    box = bbox if len(bbox) == 4 else [bbox[i] for i in (0, 1, 3, 4)]
    env = envelope_clause(params, tuple(box), table.storage, table.srid)  # type: ignore[arg-type]
    geom = sql.Identifier(table.geom_field)
    return sql.SQL("{0} && {1} AND ST_Intersects({0}, {1})").format(geom, env)


def search_clause(table: FeatureTable, params: Params, term: str) -> sql.Composable:
    """``q``: one word, found (case-insensitively) in any of the search fields."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%")
    pattern = params.add("%" + escaped.replace("_", "\\_") + "%")
    return sql.SQL("({})").format(
        sql.SQL(" OR ").join(
            sql.SQL("{} ILIKE {}").format(_text(table, f), pattern) for f in table.search_fields
        )
    )


def _text(table: FeatureTable, name: str) -> sql.Composable:
    if table.column_type(name) in TEXT_TYPES:
        return sql.Identifier(name)
    return sql.SQL("CAST({} AS text)").format(sql.Identifier(name))


def where_clause(
    table: FeatureTable,
    params: Params,
    *,
    bbox: Sequence[float] | None = None,
    datetime_: str | None = None,
    properties: Iterable[tuple[str, Any]] | None = None,
    q: str | None = None,
    filterq: Any = None,
) -> sql.Composable | None:
    """AND of all filters, or ``None`` when the request is unfiltered.

    Raises:
        InvalidQueryError: an unknown property, a malformed bbox, datetime or filter.
    """
    conds: list[sql.Composable] = []
    if bbox:
        conds.append(bbox_clause(table, params, bbox))
    for name, value in properties or []:
        if name not in table.fields:
            raise InvalidQueryError(f"unknown property {name!r}")
        conds.append(sql.SQL("{} = {}").format(sql.Identifier(name), params.add(str(value))))
    if datetime_:
        parse_datetime(datetime_)  # a malformed value is a 400 on any layer
    if datetime_ and table.time_field:
        cond = datetime_clause(
            params, table.time_field, table.column_type(table.time_field), datetime_
        )
        conds.extend([cond] if cond is not None else [])
    for term in (q or "").split() if table.search_fields else []:
        conds.append(search_clause(table, params, term))
    if filterq is not None:
        conds.append(to_sql(filterq, table.fields, table.geom_field or "", table.srid, params))
    return sql.SQL(" AND ").join(conds) if conds else None


def stats_clause(
    table: FeatureTable, params: Params, with_stats: bool, version: bool = False
) -> sql.Composable:
    """The layer's exact feature counter (``with_stats``), its data version (``version``:
    the key of a filtered page's cached count, read in the page's statement), or ``NULL``."""
    if not (with_stats or version):
        return sql.SQL("NULL::bigint")
    column = sql.Identifier("feature_count" if with_stats else "version")
    return sql.SQL("(SELECT {} FROM catalog.layer_stats WHERE layer_id = {})").format(
        column, params.add(table.layer_id)
    )


def select_clause(
    table: FeatureTable,
    names: Sequence[str],
    sortby: Sequence[SortKey],
    geometry: sql.Composable,
    stats: sql.Composable,
    tag: sql.Composable | None = None,
) -> sql.Composable:
    """The page of rows ``p``: GeoJSON array text, row count, largest id, counter
    (and ``min(tag)``, when given: the tag of a one-row page)."""
    return sql.SQL(
        "SELECT '[' || COALESCE(string_agg({}, ',' ORDER BY {}), '') "
        "|| ']', count(*), max(p.{}), {}{}"
    ).format(
        feature_clause(table, names, geometry),
        order_by_clause(table, sortby, "p"),
        sql.Identifier(table.id_field),
        stats,
        sql.SQL(", min({})").format(tag) if tag is not None else sql.SQL(""),
    )


def page_query(
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    sortby: Sequence[SortKey],
    limit: int,
    offset: int,
    *,
    names: Sequence[str],
    skip_geometry: bool,
    target: CrsInfo | None,
    with_stats: bool,
    version: bool = False,
    tag: sql.Composable | None = None,
    untransformable: Sequence[Any] = (),
) -> sql.Composed:
    """The statement of one page: GeoJSON text, row count, last id, counter or data
    version (see :func:`stats_clause`), and the tag (see :func:`select_clause`)."""
    columns = [table.id_field, *names, *(s["property"] for s in sortby)]
    if not skip_geometry and table.geom_field is not None:
        columns.append(table.geom_field)
    stats = stats_clause(table, params, with_stats, version)  # binds before the geometry
    geometry = (
        sql.SQL("'null'")
        if skip_geometry
        else geometry_clause(table, params, target, untransformable)
    )
    return sql.SQL("{} FROM (SELECT {} {} ORDER BY {} LIMIT {} OFFSET {}) AS p").format(
        select_clause(table, names, sortby, geometry, stats, tag),
        sql.SQL(", ").join(map(sql.Identifier, dict.fromkeys(columns))),
        from_clause(table, where),
        order_by_clause(table, sortby),
        params.add(int(limit)),
        params.add(int(offset)),
    )


def page_ids_query(
    table: FeatureTable,
    params: Params,
    where: sql.Composable | None,
    sortby: Sequence[SortKey],
    limit: int,
    offset: int,
) -> sql.Composed:
    """The ids of the rows of a page, in page order."""
    return sql.SQL("SELECT {} {} ORDER BY {} LIMIT {} OFFSET {}").format(
        sql.Identifier(table.id_field),
        from_clause(table, where),
        order_by_clause(table, sortby),
        params.add(int(limit)),
        params.add(int(offset)),
    )


def row_geometry_query(
    table: FeatureTable, params: Params, identifier: Any, target: CrsInfo | None
) -> sql.Composed:
    """The GeoJSON geometry of one row in ``target`` (to find a row it fails on)."""
    return sql.SQL("SELECT {} FROM {} AS p WHERE p.{} = {}").format(
        geometry_clause(table, params, target),
        sql.Identifier(table.schema, table.table),
        sql.Identifier(table.id_field),
        params.add(identifier),
    )


def count_query(
    table: FeatureTable, params: Params, where: sql.Composable | None, bound: int
) -> sql.Composed:
    """The number of matching rows, counting at most ``bound``."""
    return sql.SQL("SELECT count(*) FROM (SELECT 1 {} LIMIT {}) AS s").format(
        from_clause(table, where), params.add(bound)
    )


def item_query(
    table: FeatureTable,
    target: CrsInfo | None,
    tag: sql.Composable | None = None,
    *,
    geometry: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The by-id statement as text and its values; the id is ``p0``, set to ``None``.

    ``tag``, an expression over the row ``p`` (every column is selected), becomes a fifth
    column of the result (say, the feature's entity tag). ``geometry=False``: the feature's
    geometry is null (for a row the target CRS cannot express).
    """
    params = Params()
    where = sql.SQL("{} = {}").format(sql.Identifier(table.id_field), params.add(None))
    names = [n for n in table.fields if n != table.id_field]
    query = page_query(
        table,
        params,
        where,
        [],
        1,
        0,
        names=names,
        skip_geometry=not geometry,
        target=target,
        with_stats=False,
        tag=tag,
    )
    return query.as_string(None), dict(params.values)
