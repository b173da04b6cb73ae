"""Tilesets: one per vector layer (`/collections/{id}/tiles`) and the national basemap
(`/tiles`), each a list of MVT layers with their zoom ranges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from layers.model import Layer
from tiles.errors import TilesetNotFoundError
from tiles.rules import check_tile_rules

BASEMAP_ID = "basemap"
BASEMAP_LAYERS: tuple[str, ...] = (
    "country",
    "oblasts",
    "rayons",
    "lakes",
    "rivers",
    "roads",
    "buildings",
    "settlements",
)
"""Layers of the national basemap, bottom to top; those not declared are left out."""
COMPOSITE_PREFIX = "composite/"
MAX_COMPOSITE_LAYERS = 32
"""Most collections one composite tile (`/tiles/{tms}/...?collections=`) may combine."""


@dataclass(frozen=True)
class TilesetLayer:
    """One MVT layer of a tileset: a declared layer within a (Web Mercator) zoom range."""

    layer: Layer
    minzoom: int
    maxzoom: int

    @property
    def name(self) -> str:
        """The MVT layer name (`source-layer` in MapLibre): the layer id."""
        return self.layer.id


@dataclass(frozen=True)
class Tileset:
    """A set of tiles served under one URL template."""

    id: str
    key: str
    """Its namespace in the caches: `collections/<id>` or `basemap`."""
    layers: tuple[TilesetLayer, ...]
    is_collection: bool

    @property
    def minzoom(self) -> int:
        """Lowest Web Mercator zoom with content."""
        return min(item.minzoom for item in self.layers)

    @property
    def maxzoom(self) -> int:
        """Highest Web Mercator zoom with content."""
        return max(item.maxzoom for item in self.layers)

    def layers_at(self, zoom: int) -> list[TilesetLayer]:
        """The MVT layers drawn at Web Mercator `zoom`."""
        return [item for item in self.layers if item.minzoom <= zoom <= item.maxzoom]


@dataclass(frozen=True)
class TilesetRegistry:
    """Every tileset, and which tilesets read which table (for invalidation)."""

    collections: Mapping[str, Tileset]
    basemap: Tileset | None
    composites: dict[str, Tileset] = field(default_factory=dict, compare=False)
    """Composite tilesets asked for so far (`collections=`), kept for invalidation."""

    def collection(self, collection_id: str) -> Tileset:
        """The tileset of collection `collection_id`.

        Raises:
            TilesetNotFoundError: unknown id, or a layer without geometry.
        """
        try:
            return self.collections[collection_id]
        except KeyError:
            raise TilesetNotFoundError(
                f"collection {collection_id!r} has no vector tiles; collections with tiles: "
                f"{', '.join(self.collections)}"
            ) from None

    def get_basemap(self) -> Tileset:
        """The basemap tileset.

        Raises:
            TilesetNotFoundError: none of its layers is declared.
        """
        if self.basemap is None:
            raise TilesetNotFoundError("no basemap: none of its layers is declared")
        return self.basemap

    def composite(self, collection_ids: Iterable[str]) -> Tileset:
        """The tileset of several collections in one tile (OGC API Tiles' `collections=`),
        the same for any order or repetition of the ids.

        Raises:
            TilesetNotFoundError: no id, too many, or an id without vector tiles.
        """
        ids = sorted({i.strip() for i in collection_ids if i.strip()})
        if not ids or len(ids) > MAX_COMPOSITE_LAYERS:
            raise TilesetNotFoundError(
                f"collections= takes 1 to {MAX_COMPOSITE_LAYERS} collection ids, got {len(ids)}"
            )
        key = COMPOSITE_PREFIX + "+".join(ids)
        found = self.composites.get(key)
        if found is None:
            layers = tuple(item for i in ids for item in self.collection(i).layers)
            found = Tileset(id=",".join(ids), key=key, layers=layers, is_collection=False)
            if len(self.composites) < 10_000:
                self.composites[key] = found
        return found

    def all(self) -> list[Tileset]:
        """Every tileset (composites asked for so far included)."""
        return [
            *self.collections.values(),
            *([self.basemap] if self.basemap else []),
            *list(self.composites.values()),
        ]

    def tables(self) -> set[tuple[str, str]]:
        """(schema, table) of every layer drawn by a tileset."""
        return {item.layer.qualified_table for t in self.all() for item in t.layers}

    def only_tables(self, present: set[tuple[str, str]]) -> TilesetRegistry:
        """The tilesets left when only the `present` tables exist (a declared layer whose
        table is not migrated yet is left out instead of failing every basemap tile)."""
        return build_registry(
            item.layer
            for t in self.all()
            for item in t.layers
            if item.layer.qualified_table in present
        )

    def keys_for_table(self, schema: str, table: str) -> set[str]:
        """Cache keys of the tilesets that draw `schema.table`."""
        return {
            tileset.key
            for tileset in self.all()
            for item in tileset.layers
            if item.layer.qualified_table == (schema, table)
        }


def build_registry(layers: Iterable[Layer]) -> TilesetRegistry:
    """The tilesets of the declared layers (layers without geometry have none).

    Raises:
        TilesConfigError: a layer's tile rules name an unknown or restricted field.
    """
    with_geometry = list({layer.id: layer for layer in layers if layer.has_geometry}.values())
    for layer in with_geometry:
        check_tile_rules(layer)
    collections = {
        layer.id: Tileset(
            id=layer.id,
            key=f"collections/{layer.id}",
            is_collection=True,
            layers=(TilesetLayer(layer, layer.zoom.min, layer.zoom.max),),
        )
        for layer in with_geometry
    }
    by_id = {layer.id: layer for layer in with_geometry}
    basemap_layers = tuple(
        TilesetLayer(by_id[i], by_id[i].zoom.min, by_id[i].zoom.max)
        for i in BASEMAP_LAYERS
        if i in by_id
    )
    basemap = (
        Tileset(id=BASEMAP_ID, key=BASEMAP_ID, layers=basemap_layers, is_collection=False)
        if basemap_layers
        else None
    )
    return TilesetRegistry(collections=collections, basemap=basemap)
