"""OpenStreetMap import: a small extract written with pyosmium over real Bishkek places,
imported by `geoportal layers import-osm` into the real database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import osmium
import pandas as pd
import psycopg
import pytest
from osmium.osm.mutable import Node, Relation, Way

from demo.generate import layer_file
from geoportal.db.database import Database
from geoportal.settings import Settings
from ingestion.load import load_layers
from ingestion.osm import OsmImportError, _numbers, read_extract, road_classes
from ingestion.vector import prepare_layer
from layers.catalogue import Catalogue

ROOT = Path(__file__).parents[2]
ROADS = {  # way id: (tags, [(lon, lat), ...]) along real Bishkek streets
    11: (
        {
            "highway": "trunk",
            "ref": "ЭМ-01",
            "name": "Чүй проспектиси",
            "surface": "asphalt",
            "lanes": "4",
            "width": "14 m",
            "smoothness": "good",
        },
        [(74.5800, 42.8760), (74.5950, 42.8763), (74.6100, 42.8765)],
    ),
    12: (
        {"highway": "primary", "ref": "EM-02", "surface": "concrete:plates", "lanes": "12"},
        [(74.6110, 42.8400), (74.6120, 42.8600)],
    ),
    13: (
        {"highway": "residential", "name:ru": "улица Киевская"},
        [(74.5900, 42.8745), (74.6050, 42.8748)],
    ),
    14: (
        {"highway": "track", "surface": "dirt", "smoothness": "bad", "width": "narrow"},
        [(74.5500, 42.8300), (74.5550, 42.8250)],
    ),
    15: ({"highway": "footway", "name": "тротуар"}, [(74.6000, 42.8700), (74.6010, 42.8710)]),
    16: (
        {"highway": "secondary_link", "ref": "ЭАН-04;ЭМ-01"},
        [(74.6200, 42.8800), (74.6300, 42.8810)],
    ),
}


def _square(lon: float, lat: float, size: float = 0.0003) -> list[tuple[float, float]]:
    return [(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size)]


BUILDINGS = {  # way id: (tags, corner), a closed square of about 25 x 33 m
    21: (
        {
            "building": "apartments",
            "building:levels": "9",
            "height": "27 m",
            "addr:street": "Чүй проспектиси",
            "addr:housenumber": "120",
            "start_date": "1975",
        },
        (74.6040, 42.8770),
    ),
    22: ({"building": "yes", "amenity": "school", "building:levels": "2.5"}, (74.5970, 42.8700)),
    23: ({"building": "yes"}, (75.9900, 41.4300)),  # Naryn: outside the city twins' districts
}
MOSQUE = (30, 40, (74.5900, 42.8650))  # outer way, relation, corner: a multipolygon building


def write_extract(path: Path) -> Path:
    """The extract: nodes, then ways, then the relation, ids ascending (as OSM files are)."""
    writer = osmium.SimpleWriter(str(path))
    node_id, ways = 1, []
    for way_id, (tags, points) in {
        **ROADS,
        **{k: (t, _square(*c)) for k, (t, c) in BUILDINGS.items()},
        MOSQUE[0]: ({}, _square(*MOSQUE[2], 0.0005)),
    }.items():
        ids = []
        for lon, lat in points:
            writer.add_node(Node(id=node_id, location=(lon, lat), tags={}))
            ids.append(node_id)
            node_id += 1
        closed = way_id >= 20
        ways.append(Way(id=way_id, nodes=ids + ids[:1] if closed else ids, tags=tags))
    for way in ways:
        writer.add_way(way)
    writer.add_relation(
        Relation(
            id=MOSQUE[1],
            members=[("w", MOSQUE[0], "outer")],
            tags={"type": "multipolygon", "building": "mosque", "name": "Мечеть"},
        )
    )
    writer.close()
    return path


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_extract(tmp_path_factory.mktemp("osm") / "bishkek.osm.pbf")


def _import_osm(settings: Settings, extract: Path, *options: str) -> subprocess.CompletedProcess:
    """`geoportal layers import-osm EXTRACT [options]` as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOPORTAL_")}
    env.pop("DATABASE_URL", None)
    env.update(GEOPORTAL_DATA_DIR=str(settings.data_dir), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "geoportal.cli", "layers", "import-osm", str(extract), *options],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def imported(
    loaded: Database, settings: Settings, catalogue: Catalogue, generated: Path, extract: Path
) -> Iterator[psycopg.Connection]:
    """The extract imported by the CLI (bridges and road works, which reference roads,
    emptied first); the demo's roads, bridges, road works and buildings are put back after."""
    with psycopg.connect(loaded.owner_conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM roads.bridges")
        conn.execute("DELETE FROM roads.road_works")
    try:
        run = _import_osm(settings, extract)
        assert run.returncode == 0, run.stdout + run.stderr
        with psycopg.connect(loaded.owner_conninfo, autocommit=True) as conn:
            yield conn
    finally:
        demo = ["roads", "bridges", "road_works", "buildings"]
        prepared = [
            prepare_layer(catalogue.get(i), generated, layer_file(generated, i)) for i in demo
        ]
        load_layers(loaded.owner_conninfo, prepared)


def _rows(conn: psycopg.Connection, query: str) -> pd.DataFrame:
    cur = conn.execute(query)
    columns = [c.name for c in cur.description or []]
    return pd.DataFrame(cur.fetchall(), columns=columns).set_index("osm_id")


def test_roads_carry_osm_classes_refs_and_nulls(imported: psycopg.Connection) -> None:
    roads = _rows(
        imported,
        "SELECT osm_id, road_number, name, road_class, surface, width_m, lanes, iri_m_per_km, "
        "condition, aadt, last_survey, oblast, length_km FROM roads.roads",
    )
    assert sorted(roads.index) == [11, 12, 13, 14, 16]  # the footway is no road
    trunk = roads.loc[11]
    assert (trunk.road_number, trunk.road_class, trunk.surface) == (
        "ЭМ-01",
        "international",
        "asphalt",
    )
    assert (trunk["name"], trunk.lanes, trunk.width_m, trunk.condition) == (
        "Чүй проспектиси",
        4,
        14.0,
        "good",
    )
    assert trunk.oblast == "Bishkek" and 2.0 < trunk.length_km < 3.0
    assert (roads.loc[12].road_number, roads.loc[12].road_class) == ("EM-02", "international")
    assert roads.loc[12].surface == "concrete" and pd.isna(roads.loc[12].lanes)  # 12 lanes: no
    street = roads.loc[13]
    assert (street["name"], street.road_class, street.surface, street.condition) == (
        "улица Киевская",
        "urban",
        "unknown",
        "unknown",
    )
    assert pd.isna(street.road_number)
    track = roads.loc[14]
    assert (track.road_class, track.surface, track.condition) == ("local", "earth", "poor")
    assert pd.isna(track.width_m)  # "narrow" is no width
    assert (roads.loc[16].road_number, roads.loc[16].road_class) == ("ЭАН-04;ЭМ-01", "national")
    for column in ("iri_m_per_km", "aadt", "last_survey"):
        assert roads[column].isna().all(), column  # never invented


def test_a_second_import_upserts_by_osm_id_without_chainage(
    imported: psycopg.Connection, settings: Settings, extract: Path
) -> None:
    query = "SELECT osm_id, id, km_start FROM roads.roads"
    before = _rows(imported, query)
    run = _import_osm(settings, extract, "--mode", "upsert", "--layers", "roads")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "into roads (upsert: 0 inserted, 5 updated, 0 deleted)" in " ".join(run.stdout.split())
    after = _rows(imported, query)
    assert after["id"].to_dict() == before["id"].to_dict()  # updated in place, by OSM id
    assert after["km_start"].isna().all()  # OSM has no chainage: NULL, never invented


def test_buildings_carry_levels_height_and_osm_ids(imported: psycopg.Connection) -> None:
    buildings = _rows(
        imported,
        "SELECT osm_id, city, district, district_id, address, use, floors, height_m, "
        "year_built, footprint_area_m2 FROM city.buildings",
    )
    assert sorted(buildings.index) == [-40, 21, 22]  # Naryn's is outside the city twins
    flats = buildings.loc[21]
    assert (flats.use, flats.floors, flats.height_m, flats.year_built) == (
        "residential",
        9,
        27.0,
        1975,
    )
    assert flats.address == "Чүй проспектиси 120" and flats.city == "Bishkek"
    assert 700 < flats.footprint_area_m2 < 900 and flats.district_id is not None
    school = buildings.loc[22]
    assert school.use == "education" and pd.isna(school.floors)  # 2.5 levels: not a whole number
    assert pd.isna(school.height_m) and pd.isna(school.year_built) and pd.isna(school.address)
    assert buildings.loc[-40].use == "religious"


def test_layers_osm_does_not_fill_are_refused(extract: Path) -> None:
    with pytest.raises(OsmImportError, match="settlements"):
        read_extract(extract, ["roads", "settlements"])


@pytest.mark.parametrize(
    ("highway", "ref", "expected"),
    [
        ("trunk", None, "international"),
        ("tertiary", "ЭАН-12", "national"),
        ("residential", "EL-CH-004", "local"),
        ("motorway_link", None, "international"),
        ("road", None, "unknown"),
        ("service", "", "urban"),
    ],
)
def test_road_classes(highway: str, ref: str | None, expected: str) -> None:
    assert road_classes(pd.Series([highway]), pd.Series([ref], dtype=object)).iloc[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("7.5", 7.5), ("7.5 m", 7.5), ("7'", None), ("2", None)]
)
def test_numbers_keep_plain_metres_in_range(text: str, expected: float | None) -> None:
    value = _numbers(pd.Series([text], dtype=object), 3, 40).iloc[0]
    assert (pd.isna(value) and expected is None) or value == expected
