"""Road works acceptance check (the national concept's rule for road construction).

A work may be accepted (its `acceptance_date` set) only once the mobile laboratory has
surveyed the finished road: the `last_survey` of its `road_id` segment, and of every
consecutive segment of the same road its stretch covers (`road_works.geom`), on or after
the work's `end_date`. The rule is the database function `catalog.road_work_unsurveyed`
(migration 0021), whose trigger refuses a new acceptance that breaks it; this process lists
the accepted works that break it (accepted before the rule existed, or whose road's survey
date was later moved back) and the completed works that may not be accepted yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import dict_row

from analyses import inputs as check
from analyses.sql import statement

PROCESS_ID = "road-works-acceptance"

_WORK_LIST = {"type": "array", "items": {"type": "object"}}
DESCRIPTION: dict[str, Any] = {
    "version": "1.0.0",
    "id": PROCESS_ID,
    "title": "Road works acceptance check",
    "description": (
        "A road work may be accepted (acceptance_date set) only once the last_survey of its "
        "road_id segment, and of every consecutive segment of the same road its stretch "
        "covers (a segment whose midpoint lies within 2 m of the work's geometry), is on or "
        "after the work's end_date. Lists the accepted works that break the rule "
        "(violations), the completed works that may not be accepted yet (awaitingSurvey) "
        "and those that may be accepted now (readyForAcceptance). The database refuses a "
        "new acceptance that breaks the rule, whoever writes it."
    ),
    "keywords": ["roads", "road works", "acceptance", "survey"],
    "jobControlOptions": ["sync-execute", "async-execute"],
    "outputTransmission": ["value"],
    "inputs": {
        "roadNumbers": {
            "title": "Only the works of these roads",
            "schema": {"type": "array", "items": {"type": "string"}},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "workIds": {
            "title": "Only these works (feature ids of road_works)",
            "schema": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "check": {
            "title": "Works breaking the rule, awaiting a survey, ready for acceptance",
            "schema": {
                "type": "object",
                "contentMediaType": "application/json",
                "properties": {
                    "checkedWorks": {"type": "integer"},
                    "violations": _WORK_LIST,
                    "awaitingSurvey": _WORK_LIST,
                    "readyForAcceptance": _WORK_LIST,
                },
            },
        }
    },
    "example": {"inputs": {"roadNumbers": ["ЭМ-01"]}},
}


def parse(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Optional filters: road numbers and work ids."""
    check.reject_unknown(inputs, DESCRIPTION["inputs"])
    return {
        "roadNumbers": check.text_list(inputs, "roadNumbers"),
        "workIds": check.id_list(inputs, "workIds"),
    }


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def run(
    conn: psycopg.Connection[Any], params: Mapping[str, Any], progress: Any = None
) -> dict[str, Any]:
    """The works of `params` (from `parse`), classified by the rule."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            statement("acceptance"),
            {
                "road_numbers": params.get("roadNumbers") or None,
                "work_ids": params.get("workIds") or None,
            },
        )
        rows = cur.fetchall()
    result: dict[str, Any] = {
        "checkedWorks": len(rows),
        "violations": [],
        "awaitingSurvey": [],
        "readyForAcceptance": [],
    }
    for row in rows:
        work = {
            "workId": row["id"],
            "roadId": row["road_id"],
            "roadNumber": row["road_number"],
            "workType": row["work_type"],
            "status": row["status"],
            "endDate": _date(row["end_date"]),
            "acceptanceDate": _date(row["acceptance_date"]),
            "unsurveyedSegments": row["unsurveyed"],
        }
        if row["acceptance_date"] is not None:
            if row["unsurveyed"]:
                result["violations"].append(work)
        elif row["unsurveyed"]:
            result["awaitingSurvey"].append(work)
        else:
            result["readyForAcceptance"].append(work)
    return {"check": result}
