"""Road works acceptance: a work accepted before and after the survey of its road, in the
database (the trigger of migration 0021 refuses, whoever writes) and in the process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest

from analyses import acceptance
from analyses.errors import InvalidInputError, WorkNotSurveyedError

END = dt.date(2025, 6, 1)


def _stretch(tx: psycopg.Connection[Any]) -> tuple[int, int, str]:
    """Two consecutive segments of one road (sharing an end) that no work covers."""
    row = tx.execute(
        "SELECT a.id, b.id, a.road_number FROM roads.roads a JOIN roads.roads b "
        "ON a.road_number = b.road_number AND a.id < b.id "
        "AND ST_Intersects(ST_EndPoint(ST_GeometryN(a.geom, 1)), ST_GeometryN(b.geom, 1)) "
        "WHERE NOT EXISTS (SELECT FROM roads.road_works w WHERE w.road_number = a.road_number) "
        "ORDER BY a.id LIMIT 1"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), str(row[2])


def _work(tx: psycopg.Connection[Any], first: int, second: int | None, number: str) -> int:
    ids = [first] if second is None else [first, second]
    row = tx.execute(
        "INSERT INTO roads.road_works (road_id, road_number, work_type, start_date, end_date, "
        "contractor, budget_kgs, status, length_km, geom) "
        "SELECT %s, %s, 'resurfacing', %s, %s, 'test', 1000000, 'completed', "
        "sum(length_km), ST_Multi(ST_LineMerge(ST_Union(geom))) FROM roads.roads "
        "WHERE id = ANY(%s) RETURNING id",
        [first, number, END - dt.timedelta(days=60), END, ids],
    ).fetchone()
    assert row is not None
    return int(row[0])


def _survey(tx: psycopg.Connection[Any], segment: int, on: dt.date) -> None:
    tx.execute("UPDATE roads.roads SET last_survey = %s WHERE id = %s", [on, segment])


def _accept(tx: psycopg.Connection[Any], work: int, on: dt.date) -> None:
    tx.execute("UPDATE roads.road_works SET acceptance_date = %s WHERE id = %s", [on, work])


def _classes(tx: psycopg.Connection[Any], work: int) -> dict[str, list[int]]:
    result = acceptance.run(tx, acceptance.parse({"workIds": [work]}))["check"]
    return {k: [w["workId"] for w in v] for k, v in result.items() if isinstance(v, list)}


def test_a_work_is_accepted_only_after_its_whole_stretch_was_surveyed(
    tx: psycopg.Connection[Any],
) -> None:
    first, second, number = _stretch(tx)
    _survey(tx, first, END - dt.timedelta(days=30))
    _survey(tx, second, END - dt.timedelta(days=30))
    work = _work(tx, first, second, number)
    assert _classes(tx, work)["awaitingSurvey"] == [work]
    with pytest.raises(psycopg.errors.CheckViolation) as refused, tx.transaction():
        _accept(tx, work, END + dt.timedelta(days=5))
    assert refused.value.diag.constraint_name == WorkNotSurveyedError.CONSTRAINT
    assert f"segment {first}" in str(refused.value)
    _survey(tx, first, END + dt.timedelta(days=2))  # the first segment only: still refused
    with pytest.raises(psycopg.errors.CheckViolation) as refused, tx.transaction():
        _accept(tx, work, END + dt.timedelta(days=5))
    assert f"segment {second}" in str(refused.value)
    _survey(tx, second, END)  # on the end date counts
    assert _classes(tx, work)["readyForAcceptance"] == [work]
    _accept(tx, work, END + dt.timedelta(days=5))
    assert _classes(tx, work) == {"violations": [], "awaitingSurvey": [], "readyForAcceptance": []}
    _survey(tx, second, END - dt.timedelta(days=1))  # the survey moved back afterwards
    assert _classes(tx, work)["violations"] == [work]


def test_only_the_segments_of_the_stretch_count(tx: psycopg.Connection[Any]) -> None:
    first, second, number = _stretch(tx)
    _survey(tx, first, END + dt.timedelta(days=1))
    _survey(tx, second, END - dt.timedelta(days=100))
    work = _work(tx, first, None, number)  # its extent is the first segment alone
    _accept(tx, work, END + dt.timedelta(days=3))  # the neighbour is not its stretch
    _survey(tx, first, END - dt.timedelta(days=1))
    assert _classes(tx, work)["violations"] == [work]


def test_the_demo_data_keeps_the_rule(tx: psycopg.Connection[Any]) -> None:
    result = acceptance.run(tx, acceptance.parse({}))["check"]
    assert result["checkedWorks"] > 0
    assert result["violations"] == []


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"workIds": "7"}, "workIds"),
        ({"workIds": [True]}, "workIds"),
        ({"roadNumbers": []}, "roadNumbers"),
        ({"roadNumbers": [7]}, "roadNumbers"),
        ({"status": "completed"}, "status"),
    ],
)
def test_bad_inputs_name_the_input(inputs: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        acceptance.parse(inputs)
    assert caught.value.input == named
