"""The search key (`search.search_key`, migration 0020): spellings, scripts and forms of one
name meet on one key, different names do not."""

from __future__ import annotations

import psycopg
import pytest

from geoportal.db.database import Database


@pytest.fixture(scope="module")
def conn(database: Database):
    with psycopg.connect(database.owner_conninfo, autocommit=True) as conn:
        yield conn


def key(conn: psycopg.Connection, text: str) -> str:
    row = conn.execute("SELECT search.search_key(%s)", [text]).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize(
    "spellings",
    [
        ("Чуй", "Чүй", "Chui", "Chuy", "CHUY"),
        ("Жалал-Абад", "Джалал-Абад", "Jalal-Abad", "Djalal-Abad", "Jalalabad", "Dzhalal-Abad"),
        ("Каракол", "Karakol", "Karakól", "KARAKOL"),
        ("Бишкек", "Bishkek", "Bishkekk", "г. Бишкек", "Bishkek city"),
        ("Ысык-Көл", "Ysyk-Köl", "Ысык-Кол"),
        ("M41", "М-41", "m41", "М41"),
        ("ЭМ-01", "EM-01", "em01", "ЭМ01"),
        ("проспект Чуй", "Чуйский проспект", "Чуй проспекти", "Chuy avenue", "пр. Чуй"),
        ("улица Токтогула", "ул. Токтогула", "Токтогула көчөсү"),
        ("Өзгөн", "Ozgon", "Özgön"),
        ("Ноокат", "Nookat"),
    ],
)
def test_spellings_of_one_name_share_a_key(conn: psycopg.Connection, spellings: tuple) -> None:
    keys = {text: key(conn, text) for text in spellings}
    assert len(set(keys.values())) == 1, keys


@pytest.mark.parametrize("a, b", [("Бишкек", "Ош"), ("ЭМ-01", "ЭМ-02"), ("Каракол", "Кара-Куль")])
def test_different_names_keep_different_keys(conn: psycopg.Connection, a: str, b: str) -> None:
    assert key(conn, a) != key(conn, b)


@pytest.mark.parametrize("text, expected", [("Бишкек, Чуй проспекти 100", "bishkek chui 100")])
def test_the_key_of_an_address(conn: psycopg.Connection, text: str, expected: str) -> None:
    assert key(conn, text) == expected


@pytest.mark.parametrize("query, name", [("Biskek", "Бишкек"), ("Karakl", "Каракол")])
def test_a_missing_letter_still_matches(conn: psycopg.Connection, query: str, name: str) -> None:
    row = conn.execute(
        "SELECT word_similarity(search.search_key(%s), search.search_key(%s))", [query, name]
    ).fetchone()
    assert row is not None and row[0] >= 0.5
