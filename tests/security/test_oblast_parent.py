"""Oblast binding of rows without geometry, through their parent feature (migration 0011):
a season is judged by its plot, a reading by its sensor, for create, replace, update and
delete, in the database (so every write path is covered) and answered 403 by the API."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from geoportal.cli.users_cmd import resolve_oblasts
from geoportal.db.database import Database
from geoportal.security.identity import Identity
from layers.catalogue import Catalogue
from layers.ddl import area_guard_sql, create_table_sql, qualified


def chuy_user(db: Database) -> Identity:
    """An agency user bound to Chuy, its oblast named as the CLI and the key look-up do."""
    with psycopg.connect(db.owner_conninfo) as conn:
        oblasts = frozenset(resolve_oblasts(conn, ["Chuy"]))
    return Identity("agri.chuy", "agency", frozenset({"agriculture", "irrigation"}), oblasts)


INSIDE = (
    "SELECT t.id FROM {table} t JOIN base.oblasts o ON o.name_en ILIKE 'Chuy%' "
    "AND ST_CoveredBy(ST_Transform(t.geom, 4326), o.geom) ORDER BY t.id LIMIT 1"
)
OUTSIDE = (
    "SELECT t.id FROM {table} t JOIN base.oblasts o ON o.name_en ILIKE 'Osh%' "
    "AND ST_CoveredBy(ST_Transform(t.geom, 4326), o.geom) ORDER BY t.id LIMIT 1"
)


def feature_in(db: Database, query: str, schema: str, table: str) -> int:
    with psycopg.connect(db.owner_conninfo) as conn:
        row = conn.execute(sql.SQL(query).format(table=sql.Identifier(schema, table))).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def plots(loaded: Database) -> tuple[int, int]:
    """A plot inside Chuy and one in Osh."""
    return (
        feature_in(loaded, INSIDE, "agriculture", "agri_plots"),
        feature_in(loaded, OUTSIDE, "agriculture", "agri_plots"),
    )


def season_of(loaded: Database, plot: int) -> int:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        row = conn.execute(
            "SELECT min(id) FROM agriculture.agri_plot_seasons WHERE plot_id = %s", [plot]
        ).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def season_body(client: httpx.Client, season: int, **changes: Any) -> dict[str, Any]:
    stored = client.get(f"/collections/agri_plot_seasons/items/{season}", params={"f": "json"})
    assert stored.status_code == 200, stored.text
    return {
        "type": "Feature",
        "properties": {**stored.json()["properties"], **changes},
        "geometry": None,
    }


def stored_row(loaded: Database, season: int) -> tuple[Any, ...] | None:
    with psycopg.connect(loaded.owner_conninfo) as conn:
        return conn.execute(
            "SELECT plot_id, crop FROM agriculture.agri_plot_seasons WHERE id = %s", [season]
        ).fetchone()


def test_season_create_follows_its_plots_oblast(
    client: httpx.Client, api_keys: dict[str, str], loaded: Database, plots: tuple[int, int]
) -> None:
    inside, outside = plots
    headers = {"X-API-Key": api_keys["agri.chuy"]}
    body = season_body(client, season_of(loaded, inside))
    before = season_of(loaded, outside)
    refused = client.post(
        "/collections/agri_plot_seasons/items",
        json={**body, "properties": {**body["properties"], "plot_id": outside}},
        headers=headers,
    )
    assert refused.status_code == 403, refused.text
    assert f"agri_plots feature {outside}" in refused.json()["detail"]
    assert "agri.chuy" in refused.json()["detail"]
    with psycopg.connect(loaded.owner_conninfo) as conn:
        count = conn.execute(
            "SELECT count(*), min(id) FROM agriculture.agri_plot_seasons WHERE plot_id = %s",
            [outside],
        ).fetchone()
    assert count is not None and count[1] == before
    created = client.post("/collections/agri_plot_seasons/items", json=body, headers=headers)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    moved = client.patch(
        location, json={"type": "Feature", "properties": {"plot_id": outside}}, headers=headers
    )
    assert moved.status_code == 403, moved.text
    fid = int(location.rsplit("/", 1)[1])
    assert stored_row(loaded, fid) == (inside, body["properties"]["crop"])
    assert client.delete(location, headers=headers).status_code == 204
    assert stored_row(loaded, fid) is None


def test_seasons_of_plots_outside_the_oblast_cannot_be_changed(
    client: httpx.Client, api_keys: dict[str, str], loaded: Database, plots: tuple[int, int]
) -> None:
    inside, outside = plots
    headers = {"X-API-Key": api_keys["agri.chuy"]}
    season = season_of(loaded, outside)
    before = stored_row(loaded, season)
    location = f"/collections/agri_plot_seasons/items/{season}"
    body = season_body(client, season)
    answers = [
        client.patch(
            location, json={"type": "Feature", "properties": {"crop": "rice"}}, headers=headers
        ),
        client.put(location, json=body, headers=headers),
        client.put(
            location,
            json={**body, "properties": {**body["properties"], "plot_id": inside}},
            headers=headers,
        ),
        client.delete(location, headers=headers),
    ]
    assert [a.status_code for a in answers] == [403] * 4, [a.text for a in answers]
    assert all("outside the oblasts of agri.chuy" in a.json()["detail"] for a in answers)
    assert stored_row(loaded, season) == before
    admin = client.patch(
        location,
        json={"type": "Feature", "properties": {"crop": before[1] if before else "wheat"}},
        headers={"X-API-Key": api_keys["chief.admin"]},
    )
    assert admin.status_code == 204, admin.text


@pytest.mark.parametrize(
    ("identity", "outside_allowed"),
    [
        (None, False),
        (Identity("irrigation.all", "agency", frozenset({"irrigation"})), True),
        (Identity("chief.admin", "admin"), True),
    ],
    ids=["chuy-bound", "unbound", "admin"],
)
def test_readings_follow_their_sensors_oblast_in_the_database(
    loaded: Database, identity: Identity | None, outside_allowed: bool
) -> None:
    """Any path writing as geoportal_agency with an identity is held to it, not only the
    API's."""
    inside = feature_in(loaded, INSIDE, "irrigation", "irrigation_sensors")
    outside = feature_in(loaded, OUTSIDE, "irrigation", "irrigation_sensors")
    insert = (
        "INSERT INTO irrigation.irrigation_readings (sensor_id, observed_at, quality_flag) "
        "VALUES (%s, now(), 'good')"
    )
    with psycopg.connect(loaded.agency_conninfo) as conn, conn.transaction(force_rollback=True):
        for name, value in (identity or chuy_user(loaded)).transaction_settings().items():
            conn.execute("SELECT set_config(%s, %s, true)", [name, value])
        conn.execute(insert, [inside])
        if outside_allowed:
            conn.execute(insert, [outside])
            conn.execute(
                "DELETE FROM irrigation.irrigation_readings WHERE sensor_id = %s", [outside]
            )
            return
        for statement in (
            (insert, [outside]),
            (
                "UPDATE irrigation.irrigation_readings SET quality_flag = 'suspect' "
                "WHERE sensor_id = %s",
                [outside],
            ),
            ("DELETE FROM irrigation.irrigation_readings WHERE sensor_id = %s", [outside]),
            (
                "UPDATE irrigation.irrigation_readings SET sensor_id = %s WHERE id = "
                "(SELECT min(id) FROM irrigation.irrigation_readings WHERE sensor_id = %s)",
                [outside, inside],
            ),
        ):
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege, match="outside the oblasts"),
                conn.transaction(),
            ):
                conn.execute(*statement)


def test_every_editable_layer_has_the_guard_its_declaration_implies(
    loaded: Database, catalogue: Catalogue
) -> None:
    """Own geometry, or the parent named by the declaration's reference; the DDL of a new
    layer (`geoportal db makemigration`) attaches the same."""
    by_id = {layer.id: layer for layer in catalogue}
    with psycopg.connect(loaded.admin_conninfo()) as conn:
        for layer in (lyr for lyr in catalogue if lyr.is_editable):
            row = conn.execute(
                "SELECT encode(tgargs, 'escape') FROM pg_trigger "
                "WHERE tgrelid = %s::regclass AND tgname = 'area_guard'",
                [".".join(layer.qualified_table)],
            ).fetchone()
            assert row is not None, layer.id
            expected = area_guard_sql(layer, by_id)
            assert expected in create_table_sql(layer, by_id)
            if layer.has_geometry:
                assert row[0] == "" and expected.count("'") == 2
            else:
                parent, column = row[0].split("\\000")[:2]
                tables = {".".join(lyr.qualified_table): lyr for lyr in catalogue}
                assert f"'{qualified(tables[parent])}'" in expected
                assert f"'{column}'" in expected
