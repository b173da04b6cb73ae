"""The parameters of an items request for the fast path (``features_fast``), validated by
pygeoapi's own validators; anything pygeoapi would refuse or treat otherwise is
:class:`NotHandled`, so pygeoapi answers it with its own message."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pygeoapi.api import API, APIRequest, evaluate_limit, validate_bbox, validate_datetime
from pygeoapi.crs import (
    DEFAULT_CRS,
    DEFAULT_STORAGE_CRS,
    get_supported_crs_list,
    modify_pygeofilter,
)
from pygeoapi.util import str2bool
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from geoportal.providers.features import PostGISFeatureProvider
from geoportal.pygeoapi_.items_collection import Collection
from geoportal.pygeoapi_.patches import transform_bbox  # pygeoapi's, cached

_RESERVED = {
    "bbox",
    "bbox-crs",
    "crs",
    "f",
    "lang",
    "limit",
    "offset",
    "resulttype",
    "datetime",
    "sortby",
    "properties",
    "skipGeometry",
    "q",
    "filter",
    "filter-lang",
    "filter-crs",
}
_FILTER_LANGS = {None, "cql-json", "cql-text", "cql2-text", "cql2-json"}  # as pygeoapi


class NotHandled(Exception):
    """The request is pygeoapi's to answer (another format, or a parameter to reject)."""


@functools.lru_cache(maxsize=256)
def parsed_filter(
    text: str, filter_crs: str, storage_crs: str | None, geom_field: str | None
) -> Any:
    """A CQL2 text filter parsed by pygeofilter and adapted to the collection by pygeoapi's
    `modify_pygeofilter`, remembered for the next pages and clients asking the same filter:
    the Lark parse cost most of the filter class's time above its SQL floor. The tree is only
    read afterwards (translated to SQL per request), so sharing it is safe; texts are at most
    32,768 characters (`input_limits.py`), so 256 entries stay a few MB."""
    return modify_pygeofilter(
        parse_cql2_text(text),
        filter_crs_uri=filter_crs,
        storage_crs_uri=storage_crs,
        geometry_column_name=geom_field,
    )


def storage_bbox(
    bbox: list[float], bbox_crs: str | None, provider_def: dict[str, Any]
) -> list[float]:
    """``bbox`` (in ``bbox-crs``, default CRS84) in the collection's storage CRS; NotHandled
    for a ``bbox-crs`` the collection does not support."""
    if bbox_crs is not None and bbox_crs not in get_supported_crs_list(provider_def):
        raise NotHandled
    if not bbox:
        return bbox
    return transform_bbox(
        bbox,
        bbox_crs or DEFAULT_STORAGE_CRS,
        provider_def.get("storage_crs", DEFAULT_STORAGE_CRS),
    )


def request_filter(params: dict[str, Any], provider_def: dict[str, Any]) -> Any:
    """The request's CQL2 text filter, parsed (:func:`parsed_filter`), or None."""
    if "filter" not in params:
        return None
    return parsed_filter(
        params["filter"],
        params.get("filter-crs", DEFAULT_CRS),
        provider_def.get("storage_crs"),
        provider_def.get("geom_field"),
    )


def request_sortby(params: dict[str, Any]) -> list[dict[str, str]]:
    """The ``sortby`` keys as the provider takes them (``+``/``-`` prefix to an order)."""
    if "sortby" not in params:
        return []
    return [
        {
            "property": key[1:] if key[:1] in ("+", "-") else key,
            "order": "-" if key[:1] == "-" else "+",
        }
        for key in params["sortby"].split(",")
    ]


def checked_names(
    params: dict[str, Any], provider: PostGISFeatureProvider
) -> tuple[list[dict[str, str]], list[str]]:
    """(sortby, properties) of the request; NotHandled for a name the collection lacks."""
    fields = provider.fields
    sortby = request_sortby(params)
    select = params["properties"].split(",") if "properties" in params else []
    if any(s["property"] not in fields for s in sortby) or (
        set(select) - set(provider.properties) - set(fields)
    ):
        raise NotHandled
    return sortby, select


@dataclass(frozen=True)
class ItemsQuery:
    """The parameters of an items request, validated as pygeoapi validates them."""

    offset: int
    limit: int
    resulttype: str
    bbox: list[float]
    datetime: str | None
    q: str | None
    crs: str | None
    crs_transform_spec: Any
    properties: list[tuple[str, str]]
    sortby: list[dict[str, str]]
    select_properties: list[str]
    skip_geometry: bool
    filterq: Any

    @classmethod
    def parse(cls, request: APIRequest, collection: Collection, api: API) -> ItemsQuery:
        """Validated parameters; NotHandled for anything pygeoapi would refuse or treat
        otherwise (it then answers, with its own message)."""
        params = request.params
        try:
            query = cls.validated(params, collection, api)
        except NotHandled:
            raise
        except Exception as err:  # noqa: BLE001 - every validator has its own errors
            raise NotHandled from err
        if (
            query.offset < 0
            or params.get("filter-lang") not in _FILTER_LANGS
            or (params.get("bbox-crs") is not None and not query.bbox)
        ):
            raise NotHandled
        return query

    @classmethod
    def validated(cls, params: dict[str, Any], collection: Collection, api: API) -> ItemsQuery:
        """The parameters through pygeoapi's validators, in pygeoapi's order (they raise
        their own errors; NotHandled for what they let through but pygeoapi refuses)."""
        provider_def = collection.provider_def
        offset = int(params["offset"]) if "offset" in params else 0
        limit = evaluate_limit(
            params.get("limit"),
            api.config["server"].get("limits", {}),
            collection.resource.get("limits", {}),
        )
        bbox = validate_bbox(params["bbox"]) if "bbox" in params else []
        datetime_ = validate_datetime(collection.resource["extents"], params.get("datetime"))
        crs = params.get("crs")
        spec = collection.crs_transform_spec(crs)
        bbox = storage_bbox(bbox, params.get("bbox-crs"), provider_def)
        filterq = request_filter(params, provider_def)
        skip_geometry = str2bool(params["skipGeometry"]) if "skipGeometry" in params else False
        sortby, select = checked_names(params, collection.provider)
        fields = collection.provider.fields
        return cls(
            offset,
            limit,
            params.get("resulttype") or "results",
            bbox,
            datetime_,
            params.get("q") or None,
            crs,
            spec,
            [(k, v) for k, v in params.items() if k not in _RESERVED and k in fields],
            sortby,
            select,
            skip_geometry,
            filterq,
        )

    def provider_args(self) -> dict[str, Any]:
        """Keyword arguments of the provider's query."""
        return {
            "offset": self.offset,
            "limit": self.limit,
            "resulttype": self.resulttype,
            "bbox": self.bbox,
            "datetime_": self.datetime,
            "properties": self.properties,
            "sortby": self.sortby,
            "select_properties": self.select_properties,
            "skip_geometry": self.skip_geometry,
            "q": self.q,
            "filterq": self.filterq,
            "crs_transform_spec": self.crs_transform_spec,
        }
