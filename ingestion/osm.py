"""OpenStreetMap extracts (`.osm.pbf`) mapped into the national `roads` and `buildings` layers.

pyosmium reads the file once, keeping only tagged highways and building areas; every tag
mapping after that is vectorised over the whole column (pandas, shapely 2). What OSM does
not know stays NULL (width, lanes, IRI, traffic, survey date, address, floors, height, year
built) or `unknown` (road class, surface, condition, building use): nothing is invented.
The OSM id is the natural key: a way's id, a relation's as a negative number (ways and
relations are numbered apart). `settlements` stays the GeoNames layer.

Geometries are EPSG:4326; lengths and areas are measured in UTM 43N (EPSG:32643, the zone
of central Kyrgyzstan; under 0.2 % off at the country's ends).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyogrio
import shapely

from ingestion.errors import IngestionError, SourceNotFoundError

log = logging.getLogger(__name__)

OSM_LAYERS = ("roads", "buildings")
OSM_KEY = ("osm_id",)
"""The natural key of an import (`import-osm --mode upsert`), whatever key the layer
declares: roads are keyed by road number and chainage in agency files, but OSM has no
chainage (`km_start` stays NULL), so OSM rows are matched by their OSM id."""
METRIC_CRS = 32643
ROAD_HIGHWAYS = {
    "motorway": "international",
    "trunk": "international",
    "primary": "national",
    "secondary": "local",
    "tertiary": "local",
    "unclassified": "local",
    "track": "local",
    "residential": "urban",
    "living_street": "urban",
    "service": "urban",
    "road": "unknown",  # OSM's "a road of unknown type"
}
"""Highway values imported as roads (and their `_link` ramps), with the class each implies
when the road number says nothing."""
REF_PREFIXES = (
    ("ЭАН", "national"),
    ("EAN", "national"),
    ("ЭМ", "international"),
    ("EM", "international"),
    ("ЭЛ", "local"),
    ("EL", "local"),
)
"""Prefixes of Kyrgyz road numbers (Cyrillic as signposted, Latin as some mappers write
them): the register's class wins over the highway tag."""
SURFACES = {
    **dict.fromkeys(["asphalt", "chipseal"], "asphalt"),
    **dict.fromkeys(["concrete", "concrete:plates", "concrete:lanes", "paving_stones"], "concrete"),
    **dict.fromkeys(["gravel", "fine_gravel", "compacted", "pebblestone", "rock"], "gravel"),
    **dict.fromkeys(["dirt", "earth", "ground", "mud", "sand", "grass", "soil"], "earth"),
}
SMOOTHNESS = {
    "excellent": "good",
    "good": "good",
    "intermediate": "fair",
    "bad": "poor",
    "very_bad": "very_poor",
    "horrible": "very_poor",
    "very_horrible": "very_poor",
    "impassable": "very_poor",
}
"""OSM `smoothness` (a mapper's judgement of the surface) to our condition classes."""
BUILDING_USES = {
    **dict.fromkeys(
        ["house", "residential", "apartments", "detached", "dormitory", "terrace", "bungalow"],
        "residential",
    ),
    **dict.fromkeys(
        ["commercial", "retail", "office", "supermarket", "kiosk", "hotel"], "commercial"
    ),
    **dict.fromkeys(["industrial", "warehouse", "factory", "manufacture"], "industrial"),
    **dict.fromkeys(["school", "university", "kindergarten", "college"], "education"),
    **dict.fromkeys(["hospital", "clinic"], "health"),
    **dict.fromkeys(
        ["mosque", "church", "cathedral", "chapel", "temple", "religious"], "religious"
    ),
    **dict.fromkeys(["public", "government", "civic", "train_station", "fire_station"], "public"),
}
AMENITY_USES = {
    **dict.fromkeys(["school", "university", "kindergarten", "college"], "education"),
    **dict.fromkeys(["hospital", "clinic", "doctors"], "health"),
    "place_of_worship": "religious",
    **dict.fromkeys(["townhall", "police", "fire_station", "post_office"], "public"),
}
ROAD_TAGS = ("highway", "ref", "name", "name:ky", "name:ru", "surface", "smoothness")
ROAD_TAGS += ("width", "lanes")
BUILDING_TAGS = ("building", "amenity", "addr:street", "addr:housenumber")
BUILDING_TAGS += ("building:levels", "height", "start_date")
OBLAST_BY_CODE = {
    "KGZ-1115": "Bishkek",
    "KGZ-1116": "Chuy",
    "KGZ-1117": "Ysyk-Köl",
    "KGZ-1118": "Naryn",
    "KGZ-1119": "Batken",
    "KGZ-1120": "Jalal-Abad",
    "KGZ-1121": "Talas",
    "KGZ-1122": "Osh",
}
"""The roads layer's oblast names by the oblasts layer's `adm1_code` (as `rayons.oblast`)."""
MIN_ROAD_KM = 0.01
MIN_FOOTPRINT_M2 = 1.0


class OsmImportError(IngestionError):
    """An OSM extract cannot be read or names a layer the importer does not fill."""


@dataclass(frozen=True)
class AdminAreas:
    """The polygons features are placed in (EPSG:4326): oblasts (`adm1_code`), rayons
    (`name_en`) and city districts (`id`, `city`, `name_en`), as the database holds them."""

    oblasts: gpd.GeoDataFrame
    rayons: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame


@dataclass
class _Collected:
    """Raw features: OSM id, tags, WKB, in file order."""

    ids: list[int] = field(default_factory=list)
    tags: dict[str, list[str | None]] = field(default_factory=dict)
    wkb: list[bytes] = field(default_factory=list)

    def add(self, osm_id: int, tags: osmium.osm.TagList, names: Sequence[str], wkb: bytes) -> None:
        self.ids.append(osm_id)
        self.wkb.append(wkb)
        for name in names:
            self.tags.setdefault(name, []).append(tags.get(name))

    def frame(self, names: Sequence[str]) -> gpd.GeoDataFrame:
        columns = {name: self.tags.get(name, []) for name in names}
        geometry = shapely.from_wkb(np.asarray(self.wkb, dtype=object)) if self.wkb else []
        return gpd.GeoDataFrame({"osm_id": self.ids, **columns}, geometry=geometry, crs=4326)


class _Reader(osmium.SimpleHandler):  # type: ignore[misc]
    """Collects highways (ways) and building areas (closed ways, multipolygon relations)."""

    def __init__(self, layers: Iterable[str]) -> None:
        super().__init__()
        self.layers = set(layers)
        self.factory = osmium.geom.WKBFactory()
        self.roads = _Collected()
        self.buildings = _Collected()
        self.broken = 0

    def way(self, way: osmium.osm.Way) -> None:
        if "roads" not in self.layers:
            return
        highway = way.tags.get("highway")
        if highway is None or highway.removesuffix("_link") not in ROAD_HIGHWAYS:
            return
        try:
            wkb = bytes.fromhex(self.factory.create_linestring(way))
        except (osmium.InvalidLocationError, RuntimeError):
            self.broken += 1  # nodes missing from the extract, or a one-node way
            return
        self.roads.add(way.id, way.tags, ROAD_TAGS, wkb)

    def area(self, area: osmium.osm.Area) -> None:
        if "buildings" not in self.layers or area.tags.get("building") in (None, "no"):
            return
        try:
            wkb = bytes.fromhex(self.factory.create_multipolygon(area))
        except (osmium.InvalidLocationError, RuntimeError):
            self.broken += 1
            return
        osm_id = area.orig_id() if area.from_way() else -area.orig_id()
        self.buildings.add(osm_id, area.tags, BUILDING_TAGS, wkb)


def read_extract(path: Path, layers: Sequence[str]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The raw roads and buildings of an extract, their tags as text columns.

    Raises:
        SourceNotFoundError: no such file.
        OsmImportError: a layer other than roads and buildings, or a file osmium cannot read.
    """
    unknown = sorted(set(layers) - set(OSM_LAYERS))
    if unknown:
        raise OsmImportError(f"layers {unknown} are not filled from OSM; known: {OSM_LAYERS}")
    if not path.is_file():
        raise SourceNotFoundError(f"{path}: no such file")
    reader = _Reader(layers)
    try:
        reader.apply_file(str(path), locations=True)
    except RuntimeError as exc:
        raise OsmImportError(f"{path.name}: not a readable OSM file ({exc})") from exc
    if reader.broken:
        log.warning("%s: %d features without usable geometry left out", path.name, reader.broken)
    return reader.roads.frame(ROAD_TAGS), reader.buildings.frame(BUILDING_TAGS)


def _numbers(text: pd.Series, low: float, high: float) -> pd.Series:
    """Leading number of each text ("7.5 m" -> 7.5) within [low, high], else NaN."""
    value = pd.to_numeric(text.str.extract(r"^\s*(\d+(?:\.\d+)?)\s*m?\s*$")[0], errors="coerce")
    return value.where((value >= low) & (value <= high))


def _whole(values: pd.Series) -> pd.Series:
    """Whole numbers only (a nullable integer column); fractions become NULL."""
    return values.where(values % 1 == 0).astype("Int64")


def road_classes(highway: pd.Series, ref: pd.Series) -> pd.Series:
    """Our road class: the road number's prefix first, else the highway tag."""
    by_highway = highway.str.removesuffix("_link").map(ROAD_HIGHWAYS).fillna("unknown")
    first = ref.fillna("").str.split(";").str[0].str.strip().str.upper()
    by_ref = pd.Series(None, index=ref.index, dtype=object)
    for prefix, road_class in reversed(REF_PREFIXES):  # ЭАН before ЭМ: the longest first
        by_ref = by_ref.mask(first.str.startswith(prefix), road_class)
    return by_ref.fillna(by_highway)


def _place(points: gpd.GeoSeries, areas: gpd.GeoDataFrame, columns: list[str]) -> pd.DataFrame:
    """The `columns` of the area containing each point (NaN outside every area)."""
    frame = gpd.GeoDataFrame(geometry=points.reset_index(drop=True), crs=points.crs)
    joined = frame.sjoin(areas[[*columns, "geometry"]].to_crs(points.crs), predicate="within")
    joined = joined[~joined.index.duplicated()]
    return joined[columns].reindex(frame.index)


def map_roads(raw: gpd.GeoDataFrame, areas: AdminAreas) -> gpd.GeoDataFrame:
    """Roads in our declaration's fields. Ways whose middle lies outside every oblast (the
    extract's margin beyond the border) and ways under 10 m are left out."""
    metric = raw.geometry.to_crs(METRIC_CRS)
    middle = metric.interpolate(0.5, normalized=True).to_crs(4326)
    codes = _place(middle, areas.oblasts, ["adm1_code"])["adm1_code"]
    oblast = codes.map(OBLAST_BY_CODE).to_numpy()
    rayon = _place(middle, areas.rayons, ["name_en"])["name_en"].to_numpy()
    names = raw["name"].fillna(raw["name:ky"]).fillna(raw["name:ru"])
    frame = gpd.GeoDataFrame(
        {
            "road_number": raw["ref"].str.strip(),
            "name": names,
            "road_class": road_classes(raw["highway"], raw["ref"]),
            "surface": raw["surface"].map(SURFACES).fillna("unknown"),
            "width_m": _numbers(raw["width"], 3, 40),
            "lanes": _whole(_numbers(raw["lanes"], 1, 8)),
            "iri_m_per_km": np.nan,
            "condition": raw["smoothness"].map(SMOOTHNESS).fillna("unknown"),
            "aadt": pd.array([pd.NA] * len(raw), dtype="Int64"),
            "last_survey": pd.NaT,
            "oblast": oblast,
            "rayon": np.where(oblast == "Bishkek", None, rayon),
            "length_km": np.round(metric.length.to_numpy() / 1000.0, 3),
            "osm_id": raw["osm_id"].astype("int64"),
            "km_start": np.nan,  # OSM has no chainage: NULL, never invented
        },
        geometry=raw.geometry.to_numpy(),
        crs=4326,
    )
    kept = pd.notna(frame["oblast"]) & (frame["length_km"] >= MIN_ROAD_KM)
    return frame[kept.to_numpy()].reset_index(drop=True)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Valid multipolygons: invalid rings repaired (make_valid), lines and points dropped."""
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    parts, index = shapely.get_parts(geoms, return_index=True)
    polygons = shapely.get_type_id(parts) == 3
    result = np.full(len(geoms), None, dtype=object)
    if polygons.any():
        owners, starts = np.unique(index[polygons], return_index=True)
        grouped = np.split(parts[polygons], starts[1:])
        result[owners] = [shapely.multipolygons(group) for group in grouped]
    return result


def map_buildings(raw: gpd.GeoDataFrame, areas: AdminAreas) -> gpd.GeoDataFrame:
    """Buildings in our declaration's fields. The layer is the city twins': only buildings
    inside a city district (Bishkek, Osh) are kept; so are footprints of 1 m² and more."""
    geoms = _polygonal(np.asarray(raw.geometry.values, dtype=object))
    present = pd.notna(geoms)
    raw = raw[present].reset_index(drop=True)
    geoms = geoms[present]
    points = gpd.GeoSeries(shapely.point_on_surface(geoms), crs=4326)
    district = _place(points, areas.districts, ["id", "city", "name_en"])
    area_m2 = gpd.GeoSeries(geoms, crs=4326).to_crs(METRIC_CRS).area.to_numpy()
    street, number = raw["addr:street"].str.strip(), raw["addr:housenumber"].str.strip()
    use = raw["building"].map(BUILDING_USES).fillna(raw["amenity"].map(AMENITY_USES))
    year = pd.to_numeric(raw["start_date"].str.extract(r"^\s*(\d{4})")[0], errors="coerce")
    frame = gpd.GeoDataFrame(
        {
            "city": district["city"].to_numpy(),
            "district": district["name_en"].to_numpy(),
            "district_id": district["id"].astype("Int64").to_numpy(),
            "address": (street + " " + number.fillna("")).str.strip().to_numpy(),
            "use": use.fillna("unknown").to_numpy(),
            "floors": _whole(_numbers(raw["building:levels"], 1, 60)).to_numpy(),
            "height_m": _numbers(raw["height"], 2.5, 250).to_numpy(),
            "year_built": _whole(year.where((year >= 1900) & (year <= 2025))).to_numpy(),
            "footprint_area_m2": np.round(area_m2, 1),
            "osm_id": raw["osm_id"].astype("int64").to_numpy(),
        },
        geometry=geoms,
        crs=4326,
    )
    kept = pd.notna(frame["district_id"]).to_numpy() & (area_m2 >= MIN_FOOTPRINT_M2)
    return frame[kept].reset_index(drop=True)


def map_extract(
    path: Path, layers: Sequence[str], areas: AdminAreas
) -> dict[str, gpd.GeoDataFrame]:
    """The mapped features of each requested layer (`roads`, `buildings`) of an extract."""
    roads, buildings = read_extract(path, layers)
    mapped = {}
    if "roads" in layers:
        mapped["roads"] = map_roads(roads, areas)
        log.info("%s: %d of %d highways mapped", path.name, len(mapped["roads"]), len(roads))
    if "buildings" in layers:
        mapped["buildings"] = map_buildings(buildings, areas)
        log.info(
            "%s: %d of %d buildings mapped", path.name, len(mapped["buildings"]), len(buildings)
        )
    return mapped


def write_layers(mapped: dict[str, gpd.GeoDataFrame], folder: Path) -> dict[str, Path]:
    """Each mapped layer as `<folder>/<layer>.gpkg` (one column per declared field)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for layer_id, frame in mapped.items():
        path = folder / f"{layer_id}.gpkg"
        path.unlink(missing_ok=True)
        pyogrio.write_dataframe(frame, path, driver="GPKG", layer=layer_id)
        paths[layer_id] = path
    return paths
