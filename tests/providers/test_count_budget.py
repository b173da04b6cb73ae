"""numberMatched is exact or absent: a filtered count that runs out of its time budget is
omitted, never estimated."""

import psycopg
import pytest


@pytest.fixture(scope="module")
def slow(provider_db, make_provider):
    """A view whose rows each cost 0.2 ms to produce: counting 2,000 of them takes 400 ms."""
    with psycopg.connect(provider_db["conninfo"], autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE provtest.slow_base AS SELECT i::bigint AS id, "
            "(ARRAY['a','b'])[i % 2 + 1] AS kind, ST_Point(74, 42, 4326) AS geom "
            "FROM generate_series(1, 2000) i"
        )
        conn.execute(
            "CREATE VIEW provtest.slow AS SELECT * FROM provtest.slow_base "
            "WHERE pg_sleep(0.0002) IS NOT NULL"
        )
    return make_provider("slow", layer_id="provtest_slow_has_no_stats")


def test_slow_filtered_count_is_omitted(slow):
    result = slow.query(limit=10, properties=[("kind", "a")])
    assert result["numberReturned"] == 10
    assert "numberMatched" not in result


def test_short_result_still_has_an_exact_count(slow):
    result = slow.query(limit=10, properties=[("kind", "a")], offset=995)
    assert result["numberReturned"] == 5
    assert result["numberMatched"] == 1000
