"""OGC API - Records provider for the dataset catalogue (view ``catalog.records``).

Configured as ``geoportal.providers.records.CatalogueRecordProvider`` by
:func:`geoportal.catalogue.resource.catalogue_resource`. It shares the pool,
the CQL2 translation and the error mapping of the feature provider; records
are rendered by :func:`geoportal.catalogue.records.build_record`.

Each request reads from a per-language projection of the view, so ``title``
and ``description`` in ``filter`` and ``sortby`` are those of the language
served. ``q`` searches the case-folded texts of all three languages: commas
separate alternatives (OR), words within one alternative must all occur.

The language it is given is right only with ``geoportal.pygeoapi_.locales``'
fix of pygeoapi's locale lookup, which ``create_app`` installs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import PoolTimeout
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderItemNotFoundError,
)

from features.cql import to_sql
from features.crs import crs_info
from features.crs import envelope_clause as envelope_sql
from features.datetimes import as_datetime, parse_datetime
from features.params import Params
from geoportal.catalogue.records import RECORD_COLUMNS, build_record, search_key
from geoportal.providers.features import (
    COUNT_LIMIT,
    get_pool,
    invalid,
    maps_engine_errors,
    provider_error,
)
from layers.geography import CRS84
from layers.model import LANGUAGES

LOGGER = logging.getLogger(__name__)

FREQUENCIES = [
    "continual",
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "annually",
    "irregular",
    "asNeeded",
]
"""ISO 19115 MD_MaintenanceFrequencyCode values the declarations use."""


def queryables(themes: list[str]) -> dict[str, dict[str, Any]]:
    """Queryable (filter, sortby, property) fields: columns of the per-language source.

    A fresh dict each time: pygeoapi edits the schemas it writes into the OpenAPI document.
    """
    theme: dict[str, Any] = {"type": "string"}
    if themes:
        theme["enum"] = list(themes)
    return {
        "id": {"type": "string"},
        "type": {"type": "string", "enum": ["dataset"]},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "theme": theme,
        "license": {"type": "string"},
        "frequency": {"type": "string", "enum": list(FREQUENCIES)},
        "created": {"type": "string", "format": "date-time"},
        "updated": {"type": "string", "format": "date-time"},
        "featureCount": {"type": "integer"},
    }


class CatalogueRecordProvider(BaseProvider):
    """Records of ``catalog.records``, one per declared dataset.

    ``provider_def`` keys: ``data.conninfo`` (a role that may read the view),
    ``data.base_url`` (links), ``data.collections`` (ids of the served
    collections: records link to those), ``data.themes`` (values of the
    ``theme`` queryable), ``languages`` and
    ``options.statement_timeout_ms`` / ``pool_timeout`` / ``pool_max_size``.
    Creating it touches no database (pygeoapi creates one per request).
    """

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        data = self.data if isinstance(self.data, dict) else {}
        if not data.get("conninfo"):
            raise ProviderConnectionError(user_msg="provider data needs conninfo")
        self.conninfo: str = data["conninfo"]
        self.base_url: str = str(data.get("base_url") or "").rstrip("/")
        self.served: frozenset[str] = frozenset(data.get("collections") or ())
        self.id_field = "id"
        self.title_field = self.title_field or "title"
        self.languages: list[str] = [str(lang) for lang in provider_def.get("languages") or ["en"]]
        options = self.options or {}
        self.pool_settings: tuple[int, float, int] = (
            int(options.get("statement_timeout_ms", 30000)),
            float(options.get("pool_timeout", 10)),
            int(options.get("pool_max_size", 4)),
        )
        self._fields = queryables(list(data.get("themes") or []))

    def get_fields(self) -> dict[str, dict[str, Any]]:
        """The queryables (see :func:`queryables`)."""
        return self._fields

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        try:
            with get_pool(self.conninfo, *self.pool_settings).connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.Error) as err:
            raise provider_error(err, "catalog.records") from None

    def language(self, requested: Any) -> str:
        """``ky``, ``ru`` or ``en`` from pygeoapi's locale; the first configured otherwise."""
        code = str(getattr(requested, "language", None) or requested or "")
        code = code.replace("_", "-").split("-")[0].lower()
        if code in LANGUAGES:
            return code
        first = self.languages[0] if self.languages else "en"
        return first if first in LANGUAGES else "en"

    # -- SQL clauses -------------------------------------------------------
    @staticmethod
    def from_clause(params: Params, language: str) -> sql.Composable:
        """``FROM`` the view projected to one language (queryable columns)."""
        lang = params.add(language)
        return sql.SQL(
            "FROM (SELECT v.*, v.title_i18n ->> {0} AS title,"
            " v.description_i18n ->> {0} AS description,"
            ' v.feature_count AS "featureCount" FROM catalog.records AS v) AS r'
        ).format(lang)

    @staticmethod
    def q_patterns(params: Params, q: str | None) -> list[list[sql.Composable]]:
        """LIKE patterns of ``q``: alternatives (commas) of words (all must match)."""
        groups = []
        for alternative in (q or "").split(","):
            words = search_key(alternative).split()
            groups.append(
                [
                    params.add(
                        "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                    )
                    for w in words
                ]
            )
        return [g for g in groups if g]

    @staticmethod
    def q_clause(groups: list[list[sql.Composable]]) -> sql.Composable:
        """``search_text`` matches every word of at least one alternative."""
        return sql.SQL("({})").format(
            sql.SQL(" OR ").join(
                sql.SQL("({})").format(
                    sql.SQL(" AND ").join(sql.SQL("r.search_text LIKE {}").format(p) for p in group)
                )
                for group in groups
            )
        )

    def datetime_clause(self, params: Params, datetime_: str) -> sql.Composable:
        """The temporal extent intersects the ``datetime`` instant or interval."""
        start, end = parse_datetime(datetime_)
        conds = [sql.SQL("r.time_min IS NOT NULL")]
        if start is not None:
            conds.append(sql.SQL("r.time_max >= {}").format(params.add(as_datetime(start))))
        if end is not None:
            high = as_datetime(end, end=True)  # a date ends at the next midnight
            conds.append(
                sql.SQL("r.time_min {} {}").format(
                    sql.SQL("<=" if high == end else "<"), params.add(high)
                )
            )
        return sql.SQL(" AND ").join(conds)

    def property_clause(self, params: Params, name: str, value: Any) -> sql.Composable:
        """``name=value`` (or ``value1,value2``, any of them) from the query string."""
        if name not in self.fields:
            raise invalid(f"unknown property {name!r}")
        values = [v.strip() for v in str(value).split(",") if v.strip()]
        return sql.SQL("CAST(r.{} AS text) = ANY({})").format(
            sql.Identifier(name), params.add(values)
        )

    def where_clause(
        self,
        params: Params,
        bbox: list | None,
        datetime_: str | None,
        properties: list | None,
        groups: list[list[sql.Composable]],
        filterq: Any,
    ) -> sql.Composable | None:
        """AND of all filters, or ``None``."""
        conds: list[sql.Composable] = []
        if bbox:
            if len(bbox) not in (4, 6):
                raise invalid("bbox needs 4 or 6 numbers")
            box = bbox if len(bbox) == 4 else [bbox[i] for i in (0, 1, 3, 4)]
            env = envelope_sql(params, tuple(box), crs_info(CRS84), 4326)
            conds.append(sql.SQL("(r.geom && {0} AND ST_Intersects(r.geom, {0}))").format(env))
        if datetime_:
            conds.append(self.datetime_clause(params, datetime_))
        conds.extend(self.property_clause(params, name, value) for name, value in properties or [])
        if groups:
            conds.append(self.q_clause(groups))
        if filterq is not None:
            conds.append(to_sql(filterq, self.fields, "geom", 4326, params))
        return sql.SQL(" AND ").join(conds) if conds else None

    def order_by_clause(
        self, sortby: list | None, groups: list[list[sql.Composable]]
    ) -> sql.Composable:
        """Requested keys; else ``q`` words found in titles/keywords first; then
        declaration order (stable paging)."""
        keys: list[sql.Composable] = []
        for item in sortby or []:
            if item["property"] not in self.fields:
                raise invalid(f"cannot sort by unknown property {item['property']!r}")
            keys.append(
                sql.SQL("r.{} {}").format(
                    sql.Identifier(item["property"]),
                    sql.SQL("DESC" if item.get("order") == "-" else "ASC"),
                )
            )
        if not keys and groups:
            hits = [
                sql.SQL("(r.search_title LIKE {})::int").format(p)
                for group in groups
                for p in group
            ]
            keys.append(sql.SQL("({}) DESC").format(sql.SQL(" + ").join(hits)))
        keys.extend([sql.SQL("r.position"), sql.SQL("r.id")])
        return sql.SQL(", ").join(keys)

    # -- execution ---------------------------------------------------------
    def _select(
        self, params: Params, source: sql.Composable, where: sql.Composable | None
    ) -> sql.Composable:
        return sql.SQL("SELECT {}, count(*) OVER () AS number_matched {}{}").format(
            sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c)) for c in RECORD_COLUMNS),
            source,
            sql.SQL(" WHERE {}").format(where) if where else sql.SQL(""),
        )

    def _count(
        self,
        conn: psycopg.Connection,
        params: Params,
        source: sql.Composable,
        where: sql.Composable | None,
    ) -> int | None:
        query = sql.SQL("SELECT count(*) FROM (SELECT 1 {}{} LIMIT {}) AS s").format(
            source,
            sql.SQL(" WHERE {}").format(where) if where else sql.SQL(""),
            params.add(COUNT_LIMIT + 1),
        )
        row = conn.execute(query, params.values).fetchone()
        count = int(row[0]) if row else 0
        return count if count <= COUNT_LIMIT else None

    def _record(
        self,
        row: dict[str, Any],
        language: str,
        select_properties: list | None,
        skip_geometry: bool,
    ) -> dict[str, Any]:
        record = build_record(row, language=language, base_url=self.base_url, served=self.served)
        if select_properties:
            record["properties"] = {
                k: v for k, v in record["properties"].items() if k in select_properties
            }
        if skip_geometry:
            record["geometry"] = None
        return record

    @maps_engine_errors("catalog.records")
    def query(
        self,
        offset: int = 0,
        limit: int = 10,
        resulttype: str = "results",
        bbox: list | None = None,
        datetime_: str | None = None,
        properties: list | None = None,
        sortby: list | None = None,
        select_properties: list | None = None,
        skip_geometry: bool = False,
        q: str | None = None,
        filterq: Any = None,
        language: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Records matching the filters, in ``language``; ``numberMatched`` exact."""
        lang = self.language(language)
        params = Params()
        source = self.from_clause(params, lang)
        groups = self.q_patterns(params, q)
        where = self.where_clause(params, bbox, datetime_, properties, groups, filterq)
        result: dict[str, Any] = {"type": "FeatureCollection", "features": [], "numberReturned": 0}
        with self._connection() as conn:
            if resulttype == "hits":
                result["numberMatched"] = self._count(conn, params, source, where)
                return result
            query = sql.SQL("{} ORDER BY {} LIMIT {} OFFSET {}").format(
                self._select(params, source, where),
                self.order_by_clause(sortby, groups),
                params.add(int(limit)),
                params.add(int(offset)),
            )
            rows = conn.cursor(row_factory=dict_row).execute(query, params.values).fetchall()
            matched = (
                rows[0]["number_matched"]
                if rows
                else 0
                if offset == 0
                else self._count(conn, params, source, where)
            )
        result["features"] = [
            self._record(row, lang, select_properties, skip_geometry) for row in rows
        ]
        result["numberReturned"] = len(rows)
        if matched is not None:
            result["numberMatched"] = int(matched)
        return result

    @maps_engine_errors("catalog.records")
    def get(self, identifier: Any, language: Any = None, **kwargs: Any) -> dict[str, Any]:
        """One record by dataset id, in ``language``; unknown ids raise 404."""
        lang = self.language(language)
        params = Params()
        where = sql.SQL("r.id = {}").format(params.add(str(identifier)))
        query = self._select(params, self.from_clause(params, lang), where)
        with self._connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(query, params.values).fetchone()
        if row is None:
            raise ProviderItemNotFoundError(user_msg=f"record {identifier} not found")
        return self._record(row, lang, None, False)

    def __repr__(self) -> str:
        return "<CatalogueRecordProvider> catalog.records"
