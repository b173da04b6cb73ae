"""Fixtures for the features engine tests (and the pygeoapi provider's, which import them).

``provider_db`` builds a throw-away schema ``provtest`` with small tables of
known rows, using the owner conninfo from ``GEOPORTAL_TEST_OWNER_CONNINFO``.
"""

import os

import psycopg
import pytest

SCHEMA = "provtest"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"

SETUP_SQL = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
DELETE FROM catalog.layer_stats WHERE layer_id LIKE 'provtest%';

-- 25 points on a diagonal: lon 70.2 + 0.2*(i-1), lat 40.1 + 0.1*(i-1)
CREATE TABLE {SCHEMA}.points (
    id bigint PRIMARY KEY, name text, category text, value double precision,
    num integer, flag boolean, geom geometry(Point, 4326));
INSERT INTO {SCHEMA}.points
SELECT i, 'pt-' || lpad(i::text, 2, '0'), (ARRAY['a', 'b', 'c'])[i % 3 + 1],
       i * 1.5, i % 5, i % 2 = 0,
       ST_SetSRID(ST_MakePoint(70 + i * 0.2, 40 + i * 0.1), 4326)
FROM generate_series(1, 25) AS i;
UPDATE {SCHEMA}.points SET name = '100%_pure' WHERE id = 25;
UPDATE {SCHEMA}.points SET name = '100 pure' WHERE id = 24;

-- unit squares; 1 and 3 overlap, 4 is far east
CREATE TABLE {SCHEMA}.polygons (
    id bigint PRIMARY KEY, name_en text, name_ru text, population bigint,
    geom geometry(MultiPolygon, 4326));
INSERT INTO {SCHEMA}.polygons VALUES
 (1, 'Chuy', 'Чуй', 970000,
  ST_Multi(ST_MakeEnvelope(74, 42, 75, 43, 4326))),
 (2, 'Batken', 'Баткен', 550000,
  ST_Multi(ST_MakeEnvelope(70, 40, 71, 41, 4326))),
 (3, 'Naryn', 'Нарын', 290000,
  ST_Multi(ST_MakeEnvelope(74.5, 42.5, 76, 44, 4326))),
 (4, 'Issyk-Kul', 'Иссык-Куль', NULL,
  ST_Multi(ST_MakeEnvelope(80, 40, 81, 41, 4326)));

-- Kyrg-06 zone 3 (EPSG:7694), metres
CREATE TABLE {SCHEMA}.metric (
    id bigint PRIMARY KEY, name text, geom geometry(Point, 7694));
INSERT INTO {SCHEMA}.metric VALUES
 (1, 'Bishkek', ST_Transform(ST_SetSRID(ST_MakePoint(74.6, 42.87), 4326),
                             7694)),
 (2, 'Tokmok', ST_Transform(ST_SetSRID(ST_MakePoint(75.3, 42.84), 4326),
                            7694)),
 (3, 'Kant', ST_Transform(ST_SetSRID(ST_MakePoint(74.85, 42.89), 4326),
                          7694));

CREATE TABLE {SCHEMA}.events (
    id bigint PRIMARY KEY, title text, day date, at timestamptz,
    geom geometry(Point, 4326));
INSERT INTO {SCHEMA}.events VALUES
 (1, 'new year', '2020-01-01', '2020-01-01T00:00:00Z', 'SRID=4326;POINT(74 42)'),
 (2, 'spring', '2020-03-20', '2020-03-20T12:30:00Z', 'SRID=4326;POINT(74 42)'),
 (3, 'summer', '2020-06-21', '2020-06-21T23:59:59Z', 'SRID=4326;POINT(74 42)'),
 (4, 'next year', '2021-01-01', '2021-01-01T06:00:00+06', 'SRID=4326;POINT(74 42)'),
 (5, 'undated', NULL, NULL, 'SRID=4326;POINT(74 42)');

CREATE TABLE {SCHEMA}.nullable (
    id bigint PRIMARY KEY, label text, amount numeric, geom geometry(Point, 4326));
INSERT INTO {SCHEMA}.nullable VALUES
 (1, 'full', 10.5, 'SRID=4326;POINT(74 42)'),
 (2, NULL, NULL, 'SRID=4326;POINT(75 42)'),
 (3, 'no geometry', 3, NULL);

-- 12000 rows: more than the 10000 count bound
CREATE TABLE {SCHEMA}.many (id bigint PRIMARY KEY, k integer,
                            geom geometry(Point, 4326));
INSERT INTO {SCHEMA}.many
SELECT i, i % 10, ST_SetSRID(ST_MakePoint(70 + i * 0.0005, 41), 4326)
FROM generate_series(1, 12000) AS i;

-- more columns than json_build_object accepts (100 arguments)
CREATE TABLE {SCHEMA}.wide (id bigint PRIMARY KEY, geom geometry(Point, 4326));
ALTER TABLE {SCHEMA}.wide
 {", ".join(f"ADD COLUMN c{i:02d} integer DEFAULT {i}" for i in range(60))};
INSERT INTO {SCHEMA}.wide (id, geom) VALUES (1, 'SRID=4326;POINT(74 42)');

ANALYZE {SCHEMA}.many;
-- exact counters; points_stale is deliberately wrong, to prove it is read
INSERT INTO catalog.layer_stats (layer_id, feature_count) VALUES
 ('provtest_points', 25), ('provtest_points_stale', 999),
 ('provtest_metric', 3), ('provtest_events', 5);
"""


@pytest.fixture(scope="session")
def provider_db():
    """Owner conninfo and schema of the provider test tables."""
    conninfo = os.environ.get("GEOPORTAL_TEST_OWNER_CONNINFO")
    if not conninfo:
        pytest.fail(
            "GEOPORTAL_TEST_OWNER_CONNINFO is not set: the provider "
            "tests need a PostGIS database owner conninfo, e.g. "
            '"host=/tmp/pg dbname=geoportal user=postgres"',
            pytrace=False,
        )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        if (
            conn.execute("SELECT to_regclass('catalog.layer_stats')").fetchone()[0] is None
        ):  # else: the project's table
            conn.execute("CREATE SCHEMA IF NOT EXISTS catalog")
            conn.execute(
                "CREATE TABLE catalog.layer_stats (layer_id text "
                "PRIMARY KEY, feature_count bigint NOT NULL)"
            )
        conn.execute(SETUP_SQL)
    yield {"conninfo": conninfo, "schema": SCHEMA}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute("DELETE FROM catalog.layer_stats WHERE layer_id LIKE 'provtest%'")


@pytest.fixture(scope="session")
def engine_conn(provider_db):
    """An autocommit connection to the test tables (the caller owns transactions)."""
    with psycopg.connect(provider_db["conninfo"], autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def make_table(provider_db, engine_conn):
    """Factory: the engine's FeatureTable of one provtest table."""
    from features.crs import crs_info
    from features.table import feature_table, read_table_info

    def make(table, storage_crs=CRS84, geom_field="geom", **extra):
        info = read_table_info(engine_conn, SCHEMA, table, geom_field)
        return feature_table(
            info,
            schema=SCHEMA,
            table=table,
            layer_id=extra.pop("layer_id", f"provtest_{table}"),
            id_field="id",
            geom_field=geom_field,
            storage=crs_info(storage_crs),
            **extra,
        )

    return make
