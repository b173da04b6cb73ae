"""The image bank's store: STAC collections and items in pgstac, in the same PostGIS.

The pipelines write COGs and their `item.json` (`imagery.catalog.register`, no database);
whoever ran them with a connection then calls `publish` (the `imagery.ingest` job, the
`geoportal imagery` commands, the demo season), which upserts the items into pgstac, whose
collection is created first when new.
Searches go through pgstac's own `search` function (`search`), which takes the STAC API
search body (bbox, datetime, collections, ids, limit, `query`, CQL2 JSON `filter`, token)
and answers a FeatureCollection with paging tokens. Connections are the caller's: the owner
(pgstac_ingest) writes, the public role (pgstac_read, `pgstac.readonly`) searches.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pystac
from psycopg.types.json import Jsonb

SCENE_COLLECTIONS = {
    "sentinel-2-l2a": "Sentinel-2 Level-2A surface reflectance (masked), per band",
    "landsat-c2-l2": "Landsat 8/9 Collection 2 Level-2 surface reflectance (masked), per band",
}
PRODUCT_COLLECTIONS = {
    "ndvi": "NDVI per scene",
    "ndwi": "NDWI per scene",
    "nbr": "NBR per scene",
    "elevation": "Digital elevation model (GEBCO 2023 for the demo)",
    "slope": "Slope of the elevation model, degrees",
    "aspect": "Aspect of the elevation model, degrees",
    "hillshade": "Hillshade of the elevation model",
}
MAX_LIMIT = 1000
DEFAULT_LIMIT = 10
COUNTRY_BBOX = [69.2, 39.1, 80.3, 43.3]


class BankError(Exception):
    """Base class of the image bank's errors."""


class InvalidSearchError(BankError):
    """A search parameter is malformed (its message names it)."""


class StacItemNotFoundError(BankError):
    """No such collection or item in the image bank."""


class BankUnavailableError(BankError):
    """The image bank's database cannot be reached (pool not open)."""


def collection_document(collection_id: str) -> dict[str, Any]:
    """The STAC collection of a sensor or product (extent: the country, open in time)."""
    description = {**SCENE_COLLECTIONS, **PRODUCT_COLLECTIONS}[collection_id]
    return {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": collection_id,
        "title": description,
        "description": description,
        "license": "other",
        "extent": {
            "spatial": {"bbox": [COUNTRY_BBOX]},
            "temporal": {"interval": [[None, None]]},
        },
        "links": [],
    }


def _pgstac_path(conn: psycopg.Connection[Any]) -> None:
    """pgstac's functions name their tables unqualified: its schema first on the search
    path, for the caller's current transaction only."""
    conn.execute("SELECT set_config('search_path', 'pgstac, public', true)")


def ensure_collections(conn: psycopg.Connection[Any]) -> None:
    """Create (or refresh) every sensor and product collection."""
    _pgstac_path(conn)
    for collection_id in (*SCENE_COLLECTIONS, *PRODUCT_COLLECTIONS):
        conn.execute(
            "SELECT pgstac.upsert_collection(%s)", [Jsonb(collection_document(collection_id))]
        )


def store_item(conn: psycopg.Connection[Any], item: Mapping[str, Any]) -> None:
    """Upsert one STAC item (a dict, e.g. `pystac.Item.to_dict()`) into its collection."""
    collection = item.get("collection")
    if collection not in (*SCENE_COLLECTIONS, *PRODUCT_COLLECTIONS):
        raise InvalidSearchError(
            f"item {item.get('id')!r} has an unknown collection {collection!r}"
        )
    _pgstac_path(conn)
    exists = conn.execute("SELECT pgstac.get_collection(%s)", [collection]).fetchone()
    if not exists or exists[0] is None:
        conn.execute(
            "SELECT pgstac.upsert_collection(%s)", [Jsonb(collection_document(collection))]
        )
    conn.execute("SELECT pgstac.upsert_item(%s)", [Jsonb(dict(item))])
    _changed(conn, str(collection))


def _changed(conn: psycopg.Connection[Any], collection: str) -> None:
    """Record that a product collection changed (migration 0025): at commit, every server
    drops the collection's cached map tiles."""
    if collection in PRODUCT_COLLECTIONS:
        conn.execute("SELECT catalog.rasters_publish_change(%s)", [collection])


def publish(conn: psycopg.Connection[Any], items: Iterable[pystac.Item]) -> int:
    """Store pipeline items (`imagery.catalog.items`, asset hrefs absolute) in the bank, in
    the caller's transaction; returns how many."""
    count = 0
    for item in items:
        store_item(conn, item.to_dict(include_self_link=False))
        count += 1
    return count


def delete_item(conn: psycopg.Connection[Any], item_id: str, collection: str) -> None:
    """Remove one item from the bank."""
    _pgstac_path(conn)
    conn.execute("SELECT pgstac.delete_item(%s, %s)", [item_id, collection])
    _changed(conn, collection)


@dataclass(frozen=True, kw_only=True)
class SearchParams:
    """A STAC API item search, checked."""

    bbox: tuple[float, float, float, float] | None = None
    datetime: str | None = None
    collections: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT
    query: dict[str, Any] | None = None
    filter: dict[str, Any] | None = None
    token: str | None = None

    def body(self) -> dict[str, Any]:
        """pgstac's search document."""
        body: dict[str, Any] = {"limit": self.limit}
        if self.bbox:
            body["bbox"] = list(self.bbox)
        if self.datetime:
            body["datetime"] = self.datetime
        if self.collections:
            body["collections"] = list(self.collections)
        if self.ids:
            body["ids"] = list(self.ids)
        if self.query:
            body["query"] = self.query
        if self.filter:
            body["filter"] = self.filter
            body["filter-lang"] = "cql2-json"
        if self.token:
            body["token"] = self.token
        return body


def parse_bbox(value: str | Sequence[Any] | None) -> tuple[float, float, float, float] | None:
    """`minlon,minlat,maxlon,maxlat` (text or list) in CRS84."""
    if value in (None, "", []):
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[union-attr]
    try:
        box = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise InvalidSearchError(f"bbox must be four numbers, got {value!r}") from None
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise InvalidSearchError(f"bbox must be four finite numbers, got {value!r}")
    west, south, east, north = box
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidSearchError(f"bbox {value!r} is outside CRS84 or has south above north")
    return west, south, east, north


def parse_datetime(value: str | None) -> str | None:
    """An RFC 3339 instant or interval (`..` or empty for an open end), checked."""
    if not value:
        return None
    for part in value.split("/"):
        if part in ("", ".."):
            continue
        try:
            dt.datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidSearchError(f"datetime {value!r} is not RFC 3339") from None
    if value.count("/") > 1 or value in ("/", "../..", "../", "/.."):
        raise InvalidSearchError(f"datetime {value!r} is not an instant or an interval")
    return value


def parse_limit(value: Any) -> int:
    """1..MAX_LIMIT."""
    if value in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise InvalidSearchError(f"limit must be an integer, got {value!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidSearchError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def parse_json_object(name: str, value: Any) -> dict[str, Any] | None:
    """A JSON object given as text (GET) or already parsed (POST)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidSearchError(f"{name} must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidSearchError(f"{name} must be a JSON object")
    return value


def names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Comma-separated text or a list of strings."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) and item for item in items):
        raise InvalidSearchError(f"expected a list of names, got {value!r}")
    return tuple(item.strip() for item in items)


async def search(conn: psycopg.AsyncConnection[Any], params: SearchParams) -> dict[str, Any]:
    """Run pgstac's search; a query pgstac rejects is an InvalidSearchError."""
    try:
        cur = await conn.execute("SELECT pgstac.search(%s)", [Jsonb(params.body())])
        row = await cur.fetchone()
    except (psycopg.errors.RaiseException, psycopg.errors.DataError) as exc:
        raise InvalidSearchError(f"search rejected: {exc.diag.message_primary}") from None
    return row[0] if row else {"type": "FeatureCollection", "features": []}


async def get_collections(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Every collection in the bank."""
    cur = await conn.execute("SELECT pgstac.all_collections()")
    row = await cur.fetchone()
    return list(row[0] or []) if row else []


async def get_collection(conn: psycopg.AsyncConnection[Any], collection_id: str) -> dict[str, Any]:
    """One collection, or StacItemNotFoundError."""
    cur = await conn.execute("SELECT pgstac.get_collection(%s)", [collection_id])
    row = await cur.fetchone()
    if not row or row[0] is None:
        raise StacItemNotFoundError(f"no collection {collection_id!r} in the image bank")
    return dict(row[0])
