"""Keyset paging behind `offset`: deep pages equal plain OFFSET, before and after a change."""

import json

import psycopg
import pytest

from features.keyset import CACHE, MIN_OFFSET, KeysetCache
from features.pages import FeatureQuery
from features.paging import query_page

ROWS = 3000


@pytest.fixture(scope="module")
def sparse(provider_db, make_table, engine_conn):
    """3,000 rows with gaps in the ids, and a layer_stats row with a version."""
    with psycopg.connect(provider_db["conninfo"], autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE provtest.sparse (id bigint PRIMARY KEY, kind text, "
            "geom geometry(Point, 4326))"
        )
        conn.execute(
            "INSERT INTO provtest.sparse SELECT i * 3, "
            "(ARRAY['a','b'])[i %% 2 + 1], ST_Point(74, 42, 4326) "
            "FROM generate_series(1, %s) i",
            [ROWS],
        )
        conn.execute(
            "INSERT INTO catalog.layer_stats (layer_id, feature_count, version) "
            "VALUES ('provtest_sparse', %s, 1)",
            [ROWS],
        )
    table = make_table("sparse")

    class Sparse:
        @staticmethod
        def query(**kwargs):
            page = query_page(engine_conn, table, FeatureQuery(**kwargs))
            return {"features": json.loads(page.text), "numberMatched": page.matched}

    return Sparse


def _expected(conninfo, offset, limit, kind=None):
    where = "WHERE kind = %(kind)s" if kind else ""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            f"SELECT id FROM provtest.sparse {where} ORDER BY id OFFSET %(offset)s LIMIT %(limit)s",
            {"kind": kind, "offset": offset, "limit": limit},
        ).fetchall()
    return [r[0] for r in rows]


def _ids(result):
    return [f["id"] for f in result["features"]]


@pytest.mark.parametrize("offset", [MIN_OFFSET, 1234, 2990, 2999, 3000, 5000])
def test_deep_offsets_match_plain_offset(sparse, provider_db, offset):
    for _ in range(2):  # unknown boundary, then known
        result = sparse.query(offset=offset, limit=20)
        assert _ids(result) == _expected(provider_db["conninfo"], offset, 20)
        assert result["numberMatched"] == ROWS


def test_sequential_pages_and_filters(sparse, provider_db):
    known = len(CACHE)
    for offset in range(MIN_OFFSET, MIN_OFFSET + 500, 100):
        assert _ids(
            sparse.query(offset=offset, limit=100, properties=[("kind", "b")])
        ) == _expected(provider_db["conninfo"], offset, 100, "b")
    assert len(CACHE) > known  # the keyset path was taken and learnt boundaries


def test_a_new_version_is_never_served_stale_boundaries(sparse, provider_db):
    sparse.query(offset=1500, limit=10)
    with psycopg.connect(provider_db["conninfo"], autocommit=True) as conn:
        conn.execute("DELETE FROM provtest.sparse WHERE id < 600")
        conn.execute(
            "UPDATE catalog.layer_stats SET version = version + 1, "
            "feature_count = feature_count - 199 WHERE layer_id = 'provtest_sparse'"
        )
    assert _ids(sparse.query(offset=1500, limit=10)) == _expected(provider_db["conninfo"], 1500, 10)


def test_cache_nearest_boundary():
    cache = KeysetCache()
    assert cache.nearest("q", 1000) is None
    cache.remember("q", 500, 42)
    cache.remember("q", 900, 77)
    assert cache.nearest("q", 1000) == (900, 77)
    assert cache.nearest("q", 700) == (500, 42)
    assert cache.nearest("q", 400) is None
