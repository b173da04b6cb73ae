"""The correctness pass: every distinct request once per server, compared with the database.

A server passes a request class when every answer is a 200, holds as many features as the
SQL floor's answer, every returned feature satisfies the class's bbox or filter (asked of the
database by id), any numberMatched equals the exact count, and by-id answers carry the asked
id. Failures become warning rows in the table; the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from benchmarks.cases import Case
from benchmarks.floor import count_satisfying
from benchmarks.load import Answer, fetch_all
from layers.model import Layer

MAX_WARNINGS = 3


@dataclass(frozen=True)
class Expected:
    """What the database says the answer to a class holds."""

    rows: int
    matched: int
    ids: tuple[int, ...] = ()
    """Ids of the floor's page (ORDER BY id); empty for by-id classes."""


@dataclass
class Checked:
    """The correctness pass of one server on one class."""

    features: int | None
    warnings: list[str]
    answers: list[Answer]


def returned_ids(body: dict[str, Any] | None) -> list[int]:
    """Integer ids of the features of a FeatureCollection."""
    ids = []
    for feature in (body or {}).get("features") or []:
        try:
            ids.append(int(feature.get("id")))
        except (TypeError, ValueError):
            continue
    return ids


def check_page(
    conn: psycopg.Connection, layer: Layer, case: Case, answer: Answer, expected: Expected
) -> list[str]:
    """Problems of one page answer."""
    if answer.status != 200:
        return [f"HTTP {answer.status} for {answer.path[:80]}"]
    problems = []
    if answer.features != expected.rows:
        problems.append(f"{answer.features} features returned, the database has {expected.rows}")
    if answer.number_matched is not None and answer.number_matched != expected.matched:
        problems.append(f"numberMatched {answer.number_matched}, exact {expected.matched}")
    ids = returned_ids(answer.body)
    if case.bbox or case.cql:
        good = count_satisfying(conn, layer, case, ids)
        if good != len(ids):
            what = "filter" if case.cql else "bbox"
            problems.append(f"{len(ids) - good} of {len(ids)} features fail the {what}")
    others = len(set(ids) - set(expected.ids))
    if expected.ids and others:
        problems.append(
            f"{others} of {len(ids)} features are not on the floor's page "
            "(ORDER BY id): the server pages in another order"
        )
    return problems


def check_items(answers: list[Answer], ids: list[int]) -> list[str]:
    """Problems of by-id answers."""
    problems = []
    for answer, feature_id in zip(answers, ids, strict=True):
        if answer.status != 200:
            problems.append(f"HTTP {answer.status} for {answer.path[:80]}")
        elif answer.features != 1 or str((answer.body or {}).get("id")) != str(feature_id):
            problems.append(f"item {feature_id}: got id {(answer.body or {}).get('id')!r}")
    return problems


def check_server(
    base_url: str,
    paths: dict[str, list[str]],
    cases: list[Case],
    expected: dict[str, Expected],
    ids: list[int],
    layer: Layer,
    conninfo: str,
) -> dict[str, Checked]:
    """Fetch every distinct request of every class once and check the answers."""
    checked: dict[str, Checked] = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for case in cases:
            answers = fetch_all(base_url, paths[case.key])
            if case.by_id:
                problems = check_items(answers, ids)
                ok = sum(1 for a in answers if a.status == 200 and a.features == 1)
                features: int | None = 1 if ok == len(answers) else 0
            else:
                problems = check_page(conn, layer, case, answers[0], expected[case.key])
                features = answers[0].features
            if len(problems) > MAX_WARNINGS:
                problems = problems[:MAX_WARNINGS] + [f"... {len(problems) - MAX_WARNINGS} more"]
            checked[case.key] = Checked(features, problems, answers)
    return checked


def canned_answers(checked: dict[str, Checked]) -> dict[str, Any]:
    """Our server's answers, without what pygeoapi adds, for the ceiling's stub provider."""
    canned: dict[str, Any] = {}
    for key, result in checked.items():
        body = dict(result.answers[0].body or {})
        for added in ("links", "timeStamp"):
            body.pop(added, None)
        canned[key] = body
    return canned


def raw_answers(checked: dict[str, Checked]) -> dict[str, str]:
    """Our server's answer to every request of the run, as it sent it, for the HTTP floor."""
    return {
        answer.path: answer.raw.decode() for result in checked.values() for answer in result.answers
    }
