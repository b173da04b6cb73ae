"""The request classes of the features benchmark and how each server spells them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql

from layers.model import Layer

BBox = tuple[float, float, float, float]
CHUI_VALLEY: BBox = (73.4, 42.4, 76.0, 43.2)  # where to look for the densest 2 km square
BBOX_SIZE_KM = 2.0
DEFAULT_FILTER = "soil_type = 'serozem' AND area_ha > 5"


@dataclass(frozen=True)
class Case:
    """One request class: what is asked of every server (and of the SQL floor)."""

    key: str
    title: str
    limit: int = 100
    offset: int = 0
    bbox: BBox | None = None
    cql: str | None = None
    by_id: bool = False


@dataclass(frozen=True)
class Target:
    """How one server names the collection and the output format."""

    collection: str
    format_param: tuple[str, str] | None = ("f", "json")

    def items_path(self, case: Case) -> str:
        """The `/items` path of a page request."""
        params: list[tuple[str, str]] = [("limit", str(case.limit))]
        if case.offset:
            params.append(("offset", str(case.offset)))
        if case.bbox:
            params.append(("bbox", ",".join(f"{v:.6f}" for v in case.bbox)))
        if case.cql:
            params += [("filter", case.cql), ("filter-lang", "cql2-text")]
        if self.format_param:
            params.append(self.format_param)
        query = urlencode(params, quote_via=quote, safe=",")
        return f"/collections/{self.collection}/items?{query}"

    def item_path(self, feature_id: int) -> str:
        """The path of one feature."""
        suffix = f"?{self.format_param[0]}={self.format_param[1]}" if self.format_param else ""
        return f"/collections/{self.collection}/items/{feature_id}{suffix}"

    def paths(self, case: Case, ids: list[int]) -> list[str]:
        """Every distinct path of a case (one per id for by-id requests)."""
        if case.by_id:
            return [self.item_path(i) for i in ids]
        return [self.items_path(case)]


def build_cases(bbox: BBox, cql: str, deep_offset: int = 100_000) -> list[Case]:
    """The five request classes, in the order they run and print."""
    return [
        Case("first", "first page, limit 100"),
        Case(
            "bbox",
            f"bbox {BBOX_SIZE_KM:g} x {BBOX_SIZE_KM:g} km, limit 1000",
            limit=1000,
            bbox=bbox,
        ),
        Case("deep", f"offset {deep_offset:,}, limit 100", offset=deep_offset),
        Case("filter", f"filter {cql}, limit 100", cql=cql),
        Case("item", "one item by id (random ids)", limit=1, by_id=True),
    ]


def square_around(lon: float, lat: float, size_km: float = BBOX_SIZE_KM) -> BBox:
    """A size_km x size_km bbox (CRS84) centred on lon/lat (spherical approximation)."""
    half_lat = size_km / 2 / 111.32
    half_lon = half_lat / math.cos(math.radians(lat))
    return (lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat)


def densest_square(conn: psycopg.Connection, layer: Layer) -> tuple[BBox, int]:
    """The 2 km square of the Chui valley holding the most feature centroids (and how many).

    Centroids are snapped to a grid of about 2 km; the bbox is the cell around the fullest
    grid point, so the answer depends only on the data.
    """
    lat = (CHUI_VALLEY[1] + CHUI_VALLEY[3]) / 2
    west, south, east, _ = square_around(0, lat)
    row = conn.execute(
        sql.SQL(
            "SELECT ST_X(c), ST_Y(c), n FROM ("
            " SELECT ST_SnapToGrid(ST_Centroid(ST_Transform(geom, 4326)), {dx}, {dy}) AS c,"
            " count(*) AS n FROM {table}"
            " WHERE geom && ST_Transform(ST_MakeEnvelope({w}, {s}, {e}, {n}, 4326), {srid})"
            " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1) AS cells"
        ).format(
            dx=sql.Literal(east - west),
            dy=sql.Literal(2 * (lat - south)),
            table=sql.Identifier(*layer.qualified_table),
            w=sql.Literal(CHUI_VALLEY[0]),
            s=sql.Literal(CHUI_VALLEY[1]),
            e=sql.Literal(CHUI_VALLEY[2]),
            n=sql.Literal(CHUI_VALLEY[3]),
            srid=sql.Literal(layer.storage_srid),
        )
    ).fetchone()
    if row is None:
        raise RuntimeError(f"{layer.id} has no features in the Chui valley; pass --bbox")
    return square_around(float(row[0]), float(row[1])), int(row[2])


def sample_ids(conn: psycopg.Connection, layer: Layer, count: int, seed: int) -> list[int]:
    """`count` existing feature ids, the same ones for the same data and seed."""
    rows = conn.execute(
        sql.SQL("SELECT id FROM {} ORDER BY md5(id::text || {}) LIMIT {}").format(
            sql.Identifier(*layer.qualified_table), sql.Literal(str(seed)), sql.Literal(count)
        )
    ).fetchall()
    return [int(r[0]) for r in rows]
