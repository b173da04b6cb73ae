"""Adapters between the tile engine (`tiles/`) and the server.

* `compile_tile_filter`: CQL2 `filter` and OGC `datetime` on collection tiles, compiled to a
  parameterised WHERE fragment with the features engine's translator
  (`features.cql`). Only public fields are queryable on tiles, so a filter can
  never probe a restricted column (and the public database role could not read one anyway).
* `GeoportalTileProvider`: a pygeoapi tile provider that only *describes* the tiles, so that
  pygeoapi's collection documents link `/collections/{id}/tiles` and its OpenAPI document
  lists the tile paths. Tiles themselves are served by `geoportal.server.tiles_routes`,
  whose routes come before the pygeoapi mount.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql
from pygeoapi.models.provider.base import TileMatrixSetEnum
from pygeoapi.provider.tile import BaseTileProvider, ProviderTileNotFoundError
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from features.cql import to_sql
from features.crs import crs_info
from features.datetimes import datetime_clause, parse_datetime
from features.errors import InvalidQueryError
from features.params import Params
from geoportal.providers.features import maps_engine_errors
from layers.geography import CRS84
from layers.model import Layer
from tiles.query import TileFilter
from tiles.service import filter_variant

FILTER_LANGS = ("cql2-text", "cql2-json")
_JSON_SCHEMA = {
    "text": {"type": "string"},
    "integer": {"type": "integer"},
    "bigint": {"type": "integer"},
    "double": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamptz": {"type": "string", "format": "date-time"},
}


def queryables(layer: Layer) -> dict[str, dict[str, str]]:
    """The fields a tile filter may name (public fields and the id), as JSON schemas."""
    fields = {"id": {"type": "integer"}}
    fields.update({f.name: _JSON_SCHEMA[f.type] for f in layer.public_fields})
    return fields


def _parse_filter(text: str, lang: str) -> Any:
    if lang not in FILTER_LANGS:
        raise InvalidQueryError(
            f"filter-lang {lang!r} is not supported; use one of {', '.join(FILTER_LANGS)}"
        )
    try:
        return parse_cql2_text(text) if lang == "cql2-text" else parse_cql2_json(text)
    except Exception as exc:  # pygeofilter raises lark/JSON errors of many kinds
        raise InvalidQueryError(
            f"filter is not valid {lang}: {str(exc).splitlines()[0][:200]}"
        ) from None


def datetime_sql(layer: Layer, params: Params, text: str) -> sql.Composable | None:
    """OGC `datetime` (instant or interval) on the layer's time field; None when it has none.

    A malformed value is refused on any layer, as on items.
    """
    if layer.time_field is None:
        parse_datetime(text)
        return None
    column_type = layer.field(layer.time_field).type
    return datetime_clause(params, layer.time_field, column_type, text)


@maps_engine_errors("tiles")
def compile_tile_filter(
    layer: Layer,
    *,
    filter_text: str | None,
    filter_lang: str | None,
    filter_crs: str | None,
    datetime_text: str | None,
) -> TileFilter | None:
    """The WHERE fragment of a collection tile request; None when it has no filter.

    Raises:
        ProviderInvalidQueryError: a malformed or unsupported filter or datetime (a 400).
    """
    if filter_crs and crs_info(filter_crs).srid != 4326:
        raise InvalidQueryError("filter-crs: tiles accept CRS84 filter geometries only")
    params = Params()
    conds: list[sql.Composable] = []
    if filter_text:
        node = _parse_filter(filter_text, filter_lang or "cql2-text")
        conds.append(to_sql(node, queryables(layer), "geom", layer.storage_srid, params))
    if datetime_text:
        cond = datetime_sql(layer, params, datetime_text)
        if cond is not None:
            conds.append(cond)
    if not conds:
        return None
    return TileFilter(
        where=sql.SQL(" AND ").join(conds),
        params=dict(params.values),
        variant=filter_variant(filter_text, filter_lang, datetime_text),
    )


@maps_engine_errors("tiles")
def compile_composite_datetime(layers: Sequence[Layer], datetime_text: str) -> TileFilter:
    """`datetime` on a composite tile: each layer with a time field filtered on it, the
    others drawn whole (one parameter collector, so the names never collide).

    Raises:
        ProviderInvalidQueryError: a malformed datetime (a 400).
    """
    params = Params()
    by_layer: dict[str, sql.Composable] = {}
    for layer in layers:
        cond = datetime_sql(layer, params, datetime_text)
        if cond is not None:
            by_layer[layer.id] = cond
    return TileFilter(
        where=sql.SQL("TRUE"),
        params=dict(params.values),
        variant=filter_variant(None, None, datetime_text),
        layers=by_layer,
    )


MVT_FORMAT = {"name": "mvt", "mimetype": "application/vnd.mapbox-vector-tile"}
PROVIDER = "geoportal.providers.tiles.GeoportalTileProvider"


def tile_provider_config(layer: Layer) -> dict[str, Any]:
    """The pygeoapi `providers` entry advertising a layer's tiles."""
    return {
        "type": "tile",
        "name": PROVIDER,
        "data": layer.id,
        "format": dict(MVT_FORMAT),
        "options": {
            "zoom": {"min": layer.zoom.min, "max": layer.zoom.max},
            "schemes": ["WebMercatorQuad", "WorldCRS84Quad"],
        },
    }


class GeoportalTileProvider(BaseTileProvider):  # type: ignore[misc]
    """Describes a collection's vector tiles to pygeoapi (links, OpenAPI); serves none."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.tile_type = "vector"

    def get_layer(self) -> str:
        """The MVT layer name: the collection id."""
        return str(self.data)

    def get_fields(self) -> dict[str, Any]:
        """Not used: the tileset metadata lists the fields per layer."""
        return {}

    def get_tiling_schemes(self) -> list[Any]:
        """WebMercatorQuad and WorldCRS84Quad."""
        return [TileMatrixSetEnum.WEBMERCATORQUAD.value, TileMatrixSetEnum.WORLDCRS84QUAD.value]

    def get_tiles_service(
        self,
        baseurl: str | None = None,
        servicepath: str | None = None,
        dirpath: str | None = None,
        tile_type: str | None = None,
    ) -> dict[str, Any]:
        """The URL template of the tiles."""
        href = (servicepath or "").split("?")[0]
        return {
            "links": [
                {
                    "type": MVT_FORMAT["mimetype"],
                    "rel": "item",
                    "title": "This collection as Mapbox vector tiles",
                    "href": href,
                    "templated": True,
                }
            ]
        }

    def get_tiles(
        self,
        layer: str = "default",
        tileset: str | None = None,
        z: int | None = None,
        y: int | None = None,
        x: int | None = None,
        format_: str | None = None,
    ) -> bytes | None:
        """Never reached: our tile routes answer these paths before pygeoapi."""
        raise ProviderTileNotFoundError(user_msg="tiles are served by the geoportal routes")

    def get_metadata(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Never reached: our tile routes answer the tileset metadata paths."""
        return {}


__all__ = [
    "CRS84",
    "FILTER_LANGS",
    "GeoportalTileProvider",
    "compile_tile_filter",
    "datetime_sql",
    "queryables",
    "tile_provider_config",
]
