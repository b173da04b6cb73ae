"""What a page request asks and what a page answers: :class:`FeatureQuery`, :class:`Page`,
and :class:`PageShape`, what the page statement renders besides its rows.

Plain values shared by the modules that serve a page (``features.paging`` chooses how,
``features.rendering`` runs the statement, ``features.keyset`` pages by key,
``features.statements`` remembers statements).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from features.crs import CrsInfo
from features.params import Params
from features.query import SortKey, where_clause
from features.table import FeatureTable


@dataclass(frozen=True)
class Page:
    """A page of features as PostgreSQL rendered it."""

    text: str  # GeoJSON array of the features: '[{...},{...}]'
    returned: int
    last_id: Any  # the largest id on the page (the keyset boundary)
    matched: int | None  # exact count of all matches, or None when unknown
    version: int | None = None  # the layer's data version, read with a filtered page


@dataclass(frozen=True, kw_only=True)
class FeatureQuery:
    """An items request, its parameters as OGC API Features names them (bbox in the
    storage CRS, ``target`` the CRS of the answer, None for the storage CRS)."""

    offset: int = 0
    limit: int = 10
    resulttype: str = "results"
    bbox: Sequence[float] = ()
    datetime: str | None = None
    properties: Sequence[tuple[str, Any]] = ()
    sortby: Sequence[SortKey] = ()
    select_properties: Sequence[str] = ()
    skip_geometry: bool = False
    q: str | None = None
    filterq: Any = None
    target: CrsInfo | None = None


@dataclass(frozen=True)
class PageShape:
    """What a page statement renders besides its rows: columns, geometry, and the layer's
    counter (``with_stats``: unfiltered pages) or data version (``version``: filtered pages,
    the key of their cached count, so that a page needs one round trip)."""

    names: Sequence[str]
    skip_geometry: bool
    target: CrsInfo | None
    with_stats: bool
    version: bool = False


@dataclass(frozen=True)
class PageClauses:
    """What a page statement is composed from besides its bound values: the table, the
    filter, the order, the window (``limit``, ``offset``) and the shape."""

    table: FeatureTable
    where: sql.Composable | None
    sortby: Sequence[SortKey]
    limit: int
    offset: int
    shape: PageShape


def page_of_row(row: Any, version: bool) -> Page:
    """The :class:`Page` of a page statement's row (text, returned, last id, and the
    counter, or the data version when the statement reads it: ``version``)."""
    text, returned, last_id, counter = row
    if version:
        return Page(text, returned, last_id, None, counter)
    return Page(text, returned, last_id, counter)


def selected_names(table: FeatureTable, select: Sequence[str]) -> list[str]:
    """The properties a page renders (the id is the feature's id, not a property)."""
    return [n for n in (select or table.fields) if n in table.fields and n != table.id_field]


def is_last_page(page: Page, limit: int, offset: int) -> bool:
    """True when the page itself tells how many rows match (fewer rows than asked)."""
    return 0 < limit and page.returned < limit and bool(page.returned or offset == 0)


def compose_where(table: FeatureTable, query: FeatureQuery) -> tuple[Params, sql.Composable | None]:
    """The filters of a query and their bound values.

    Raises:
        InvalidQueryError: a malformed or unknown parameter.
    """
    params = Params()
    where = where_clause(
        table,
        params,
        bbox=query.bbox,
        datetime_=query.datetime,
        properties=query.properties,
        q=query.q,
        filterq=query.filterq,
    )
    return params, where
