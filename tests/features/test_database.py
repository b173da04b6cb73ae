"""Database failures become engine errors: the request's fault (400) or not."""

import psycopg
import pytest

from features.database import classify_error, is_transform_error
from features.errors import InvalidQueryError, QueryFailedError, QueryTimeoutError


def failure(conn, statement):
    with pytest.raises(psycopg.Error) as err:
        with conn.transaction():
            conn.execute("SET LOCAL statement_timeout = 200")
            conn.execute(statement)
    return err.value


@pytest.mark.parametrize(
    ("statement", "kind", "transform"),
    [
        ("SELECT 'x'::int", InvalidQueryError, False),
        ("SELECT pg_sleep(1)", QueryTimeoutError, False),
        ("SELECT ST_Transform(ST_Point(74, 91, 4326), 3857)", QueryFailedError, True),
        ("SELECT 1/0", InvalidQueryError, False),
    ],
)
def test_classify(engine_conn, statement, kind, transform):
    err = failure(engine_conn, statement)
    assert isinstance(classify_error(err, "provtest.points"), kind)
    assert is_transform_error(err) is transform
