"""numberMatched of a filtered request is counted once per data version and filter, and a
write (which bumps the version) changes it."""

import json

import psycopg
import pytest

from features.counts import CountCache
from features.pages import FeatureQuery
from features.paging import query_page
from features.statements import PLANS


@pytest.fixture
def counted(provider_db, make_table):
    """30 rows, kind a/b/c, with the project's counter triggers (every write bumps the
    layer's data version)."""
    with psycopg.connect(provider_db["conninfo"], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS provtest.counted")
        conn.execute(
            "CREATE TABLE provtest.counted AS SELECT i::bigint AS id, "
            "(ARRAY['a','b','c'])[i % 3 + 1] AS kind, ST_Point(74, 42, 4326) AS geom "
            "FROM generate_series(1, 30) i"
        )
        conn.execute("ALTER TABLE provtest.counted ADD PRIMARY KEY (id)")
        conn.execute(
            "INSERT INTO catalog.layer_stats (layer_id, feature_count) "
            "VALUES ('provtest_counted', 30) ON CONFLICT (layer_id) DO UPDATE SET "
            "feature_count = 30, version = catalog.layer_stats.version + 1"
        )
        conn.execute("SELECT catalog.layer_watch('provtest.counted', 'provtest_counted')")
    yield make_table("counted"), provider_db["conninfo"]


def matched(conn, table, offset, kind="a"):
    query = FeatureQuery(offset=offset, limit=3, properties=[("kind", kind)])
    return query_page(conn, table, query).matched


def test_following_pages_reuse_the_count_and_a_write_changes_it(engine_conn, counted):
    table, owner = counted
    assert matched(engine_conn, table, 0) == 10
    with psycopg.connect(owner, autocommit=True) as conn:
        # a change that bypasses the triggers (so the version): the count is not made again
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM provtest.counted WHERE id = 3")
    assert matched(engine_conn, table, 3) == 10  # the next page: the count of page one
    assert matched(engine_conn, table, 0, "b") == 10  # another filter: its own count
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute("INSERT INTO provtest.counted VALUES (31, 'a', ST_Point(74, 42, 4326))")
    assert matched(engine_conn, table, 3) == 10  # 10 - 1 (deleted) + 1 (inserted), recounted
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute("INSERT INTO provtest.counted VALUES (32, 'a', ST_Point(74, 42, 4326))")
    assert matched(engine_conn, table, 3) == 11
    assert matched(engine_conn, table, 6) == 11


def test_the_cache_is_bounded_and_least_recently_used_goes_first():
    cache = CountCache(max_entries=2)
    cache.remember("a", 1)
    cache.remember("b", None)  # over the bound: unknown, and remembered as such
    assert cache.get("a") == (True, 1)
    cache.remember("c", 3)
    assert cache.get("b") == (False, None)
    assert cache.get("a") == (True, 1) and cache.get("c") == (True, 3)
    assert len(cache) == 2


class CountingCursor(psycopg.Cursor):
    """A cursor that records the statements it runs (on the real connection)."""

    statements: list = []

    def execute(self, query, params=None, **kwargs):
        CountingCursor.statements.append(query)
        return super().execute(query, params, **kwargs)


def test_a_filtered_page_after_the_first_is_one_statement(engine_conn, counted):
    """The data version keying the cached count is read by the page's own statement."""
    table, _ = counted
    assert matched(engine_conn, table, 0, "c") == 10  # page one: the page, then the count
    factory, engine_conn.cursor_factory = engine_conn.cursor_factory, CountingCursor
    CountingCursor.statements = []
    try:
        assert matched(engine_conn, table, 3, "c") == 10
    finally:
        engine_conn.cursor_factory = factory
    assert len(CountingCursor.statements) == 1


def test_the_pages_of_one_request_shape_share_one_statement(engine_conn, counted):
    """Composed once (features.statements), run again with each page's offset."""
    table, _ = counted
    before = len(PLANS)
    pages = [
        query_page(
            engine_conn, table, FeatureQuery(offset=offset, limit=3, properties=[("kind", "b")])
        )
        for offset in (0, 3, 6, 9)
    ]
    assert len(PLANS) == before + 1
    ids = [feature["id"] for page in pages for feature in json.loads(page.text)]
    assert ids == sorted(set(ids)) and len(ids) == 10  # every b once, in id order
    assert [page.matched for page in pages] == [10, 10, 10, 10]
