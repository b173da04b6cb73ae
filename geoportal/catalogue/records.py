"""Catalogue records: the declarations' metadata in the database, and records built from it.

Storage (migration 0004): `catalog.datasets` holds one row per declared dataset (vector layers
in declaration order, then rasters), written only by :func:`sync_datasets`; the view
`catalog.records` adds the feature count, extent and load time from `catalog.layer_stats`,
which every load writes in the transaction of its data. A record is therefore current as
soon as a load commits, without any further step.

:func:`build_record` renders a row of `catalog.records` as an OGC API - Records (Part 1:
Core, GeoJSON encoding) record in one of the three languages; ISO 19115 core elements that
the record core has no member for (maintenance frequency, lineage, topic category) are
carried as extra properties.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from layers.catalogue import Catalogue
from layers.geography import CRS84
from layers.model import LANGUAGES, Keywords, Layer, RasterLayer, Trilingual

CATALOGUE_ID = "catalogue"
RECORD_CORE = "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
ISO_TOPIC_SCHEME = (
    "https://standards.iso.org/iso/19115/resources/Codelists/cat/codelists.xml#MD_TopicCategoryCode"
)
SYNC_LOCK = 7_310_004  # pg_advisory_xact_lock key: one sync at a time (several workers start)

VECTOR_FORMATS: tuple[dict[str, str], ...] = (
    {"name": "GeoJSON", "mediaType": "application/geo+json"},
    {"name": "HTML", "mediaType": "text/html"},
)
RASTER_FORMATS: tuple[dict[str, str], ...] = (
    {"name": "GeoTIFF", "mediaType": "image/tiff; application=geotiff"},
)

IMAGE_BANK_TITLES = {
    "ky": "Сүрөттөр банкындагы STAC жыйнагы",
    "ru": "Коллекция STAC в банке снимков",
    "en": "STAC collection in the image bank",
}

LANGUAGE_NAMES = {"ky": "Кыргызча", "ru": "Русский", "en": "English"}

THEME_TITLES: dict[str, dict[str, str]] = {
    "base": {"ky": "Базалык катмарлар", "ru": "Базовые слои", "en": "Base layers"},
    "roads": {"ky": "Жолдор", "ru": "Дороги", "en": "Roads"},
    "agriculture": {"ky": "Айыл чарба", "ru": "Сельское хозяйство", "en": "Agriculture"},
    "irrigation": {"ky": "Сугат", "ru": "Ирригация", "en": "Irrigation"},
    "sports": {"ky": "Спорт", "ru": "Спорт", "en": "Sports"},
    "disaster": {"ky": "Кырсыктардын коркунучу", "ru": "Риски бедствий", "en": "Disaster risk"},
    "city": {
        "ky": "Шаардын санариптик эгизи",
        "ru": "Цифровой двойник города",
        "en": "City digital twin",
    },
    "cadastre": {"ky": "Кадастр", "ru": "Кадастр", "en": "Cadastre"},
}

# ISO 19115 MD_TopicCategoryCode by theme, with the base layers' own categories.
TOPIC_CATEGORIES: dict[str, str] = {
    "roads": "transportation",
    "agriculture": "farming",
    "irrigation": "inlandWaters",
    "sports": "society",
    "disaster": "geoscientificInformation",
    "city": "structure",
    "cadastre": "planningCadastre",
    "country": "boundaries",
    "oblasts": "boundaries",
    "rayons": "boundaries",
    "settlements": "location",
    "rivers": "inlandWaters",
    "lakes": "inlandWaters",
    "glaciers": "inlandWaters",
    "urban_areas": "society",
    "peaks": "elevation",
    "elevation": "elevation",
}

# (text in the declared licence, SPDX identifier or "other", terms), most specific first.
LICENCES: tuple[tuple[str, str, str | None], ...] = (
    ("cc by-sa 4.0", "CC-BY-SA-4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    ("cc by-sa 3.0", "CC-BY-SA-3.0", "https://creativecommons.org/licenses/by-sa/3.0/"),
    ("cc by 4.0", "CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"),
    ("cc by 3.0", "CC-BY-3.0", "https://creativecommons.org/licenses/by/3.0/"),
    ("cc0", "CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    ("odbl", "ODbL-1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
    ("natural earth", "other", "https://www.naturalearthdata.com/about/terms-of-use/"),
)

LINK_TITLES: dict[str, dict[str, str]] = {
    "collection": {
        "ky": "Коллекция (OGC API - Features)",
        "ru": "Коллекция (OGC API - Features)",
        "en": "The collection (OGC API - Features)",
    },
    "html": {
        "ky": "Коллекция HTML форматында",
        "ru": "Коллекция в формате HTML",
        "en": "The collection as HTML",
    },
    "items": {
        "ky": "Объекттер GeoJSON форматында",
        "ru": "Объекты в формате GeoJSON",
        "en": "The features as GeoJSON",
    },
    "queryables": {
        "ky": "Суроо-талап үчүн касиеттер",
        "ru": "Свойства для запросов",
        "en": "Queryable properties",
    },
}


class CatalogueError(Exception):
    """Base of the catalogue's errors."""


class CatalogueNotMigratedError(CatalogueError):
    """The database has no `catalog.datasets` (migration 0004 not applied)."""


def search_key(text: str) -> str:
    """Case- and variant-insensitive form of a text, for `q` (Python folds all scripts).

    >>> search_key("Ысык-Көл ОБЛУСУ, Ёлка")
    'ысык-көл облусу, елка'
    """
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


def licence_terms(licence: str) -> tuple[str, str | None]:
    """(SPDX identifier or "other", URL of the terms or None) of a declared licence.

    >>> licence_terms("CC BY 4.0 (GeoNames)")
    ('CC-BY-4.0', 'https://creativecommons.org/licenses/by/4.0/')
    >>> licence_terms("Public domain (GEBCO)")
    ('other', None)
    """
    folded = licence.casefold()
    for text, code, url in LICENCES:
        if text in folded:
            return code, url
    return "other", None


@dataclass(frozen=True, kw_only=True)
class DatasetMetadata:
    """One row of `catalog.datasets`: what a declaration says about its dataset."""

    id: str
    position: int
    kind: str
    theme: str
    title: Trilingual
    abstract: Trilingual
    keywords: Keywords
    custodian: Trilingual
    licence: str
    attribution: str
    frequency: str
    lineage: str
    formats: tuple[dict[str, str], ...]
    geometry_type: str | None = None

    def search_texts(self) -> tuple[str, str]:
        """(everything `q` searches, titles and keywords only), case-folded, 3 languages."""
        titles = [self.title.get(lang) for lang in LANGUAGES]
        words = [w for lang in LANGUAGES for w in getattr(self.keywords, lang)]
        theme = THEME_TITLES.get(self.theme, {})
        rest = (
            [self.abstract.get(lang) for lang in LANGUAGES]
            + [self.custodian.get(lang) for lang in LANGUAGES]
            + [self.id, self.theme, *theme.values()]
        )
        title_text = " | ".join(titles + words)
        return search_key(" | ".join([title_text, *rest])), search_key(title_text)

    def row(self) -> dict[str, Any]:
        """Bound values of the upsert."""
        code, url = licence_terms(self.licence)
        search_text, search_title = self.search_texts()
        return {
            "id": self.id,
            "position": self.position,
            "kind": self.kind,
            "theme": self.theme,
            "title_i18n": Jsonb(self.title.model_dump()),
            "description_i18n": Jsonb(self.abstract.model_dump()),
            "keywords_i18n": Jsonb(self.keywords.model_dump()),
            "custodian_i18n": Jsonb(self.custodian.model_dump()),
            "license": code,
            "license_title": self.licence,
            "license_url": url,
            "rights": self.attribution.strip(),
            "frequency": self.frequency,
            "lineage": self.lineage.strip(),
            "formats": Jsonb(list(self.formats)),
            "geometry_type": self.geometry_type,
            "search_text": search_text,
            "search_title": search_title,
        }


def _metadata(item: Layer | RasterLayer, position: int) -> DatasetMetadata:
    is_vector = isinstance(item, Layer)
    return DatasetMetadata(
        id=item.id,
        position=position,
        kind="vector" if is_vector else "raster",
        theme=item.theme,
        title=item.title,
        abstract=item.abstract,
        keywords=item.keywords,
        custodian=item.custodian,
        licence=item.licence,
        attribution=item.attribution,
        frequency=item.update_frequency,
        lineage=item.lineage,
        formats=VECTOR_FORMATS if is_vector else RASTER_FORMATS,
        geometry_type=item.geometry_type if isinstance(item, Layer) else None,
    )


def list_datasets(catalogue: Catalogue) -> list[DatasetMetadata]:
    """Every declared dataset: the vector layers in declaration order, then the rasters."""
    items: list[Layer | RasterLayer] = [*catalogue.layers, *catalogue.rasters]
    return [_metadata(item, position) for position, item in enumerate(items, start=1)]


_COLUMNS = (
    "id",
    "position",
    "kind",
    "theme",
    "title_i18n",
    "description_i18n",
    "keywords_i18n",
    "custodian_i18n",
    "license",
    "license_title",
    "license_url",
    "rights",
    "frequency",
    "lineage",
    "formats",
    "geometry_type",
    "search_text",
    "search_title",
)
_METADATA = [c for c in _COLUMNS if c not in ("id", "position")]


def _upsert_sql() -> str:
    columns = ", ".join(_COLUMNS)
    values = ", ".join(f"%({c})s" for c in _COLUMNS)
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[1:])
    old = ", ".join(f"d.{c}" for c in _METADATA)
    new = ", ".join(f"EXCLUDED.{c}" for c in _METADATA)
    # A dataset registered after its first load was created no later than that load.
    created = (
        "COALESCE((SELECT s.loaded_at FROM catalog.layer_stats AS s "
        "WHERE s.layer_id = %(id)s), now())"
    )
    # Fixed column names of our own table; every value is a bound parameter.
    return (
        f"INSERT INTO catalog.datasets AS d ({columns}, created) "  # noqa: S608
        f"VALUES ({values}, {created}) "
        f"ON CONFLICT (id) DO UPDATE SET {assignments}, metadata_updated = CASE "
        f"WHEN ({old}) IS DISTINCT FROM ({new}) THEN now() ELSE d.metadata_updated END "
        f"WHERE (d.position, {old}) IS DISTINCT FROM (EXCLUDED.position, {new}) "
        "RETURNING d.id, (xmax = 0) AS inserted"
    )


@dataclass(frozen=True, kw_only=True)
class SyncResult:
    """What :func:`sync_datasets` changed (dataset ids)."""

    added: list[str]
    changed: list[str]
    removed: list[str]

    @property
    def is_empty(self) -> bool:
        """True when the database already matched the declarations."""
        return not (self.added or self.changed or self.removed)


def sync_datasets(conn: psycopg.Connection, catalogue: Catalogue) -> SyncResult:
    """Make `catalog.datasets` match the declarations: upsert every dataset, delete the
    undeclared ones. Idempotent; rows that did not change are not written.

    Runs in the caller's transaction (the caller commits), as a role that may write
    `catalog.datasets` (the owner, or the administrator).

    Raises:
        CatalogueNotMigratedError: `catalog.datasets` does not exist yet.
    """
    datasets = list_datasets(catalogue)
    added: list[str] = []
    changed: list[str] = []
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [SYNC_LOCK])
        upsert = _upsert_sql()
        for dataset in datasets:
            row = conn.execute(upsert, dataset.row()).fetchone()
            if row is not None:
                (added if row[1] else changed).append(row[0])
        removed = conn.execute(
            "DELETE FROM catalog.datasets WHERE id <> ALL(%s) RETURNING id",
            [[d.id for d in datasets]],
        ).fetchall()
    except psycopg.errors.UndefinedTable as exc:
        raise CatalogueNotMigratedError(
            "catalog.datasets does not exist: run `geoportal db migrate` first"
        ) from exc
    return SyncResult(added=added, changed=changed, removed=sorted(r[0] for r in removed))


# -- records ----------------------------------------------------------------------------------

RECORD_COLUMNS = (
    "id",
    "kind",
    "theme",
    "title_i18n",
    "description_i18n",
    "keywords_i18n",
    "custodian_i18n",
    "license",
    "license_title",
    "license_url",
    "rights",
    "frequency",
    "lineage",
    "formats",
    "geometry_type",
    "created",
    "metadata_updated",
    "updated",
    "feature_count",
    "bbox_4326",
    "has_extent",
    "time_min",
    "time_max",
)
"""Columns of `catalog.records` that :func:`build_record` reads."""


def iso_time(value: dt.datetime | None) -> str | None:
    """RFC 3339 text of an aware timestamp, in UTC.

    >>> iso_time(dt.datetime(2024, 5, 1, 16, 30, tzinfo=dt.timezone(dt.timedelta(hours=6))))
    '2024-05-01T10:30:00Z'
    """
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def envelope_geometry(bbox: Sequence[float]) -> dict[str, Any]:
    """GeoJSON of a CRS84 bbox: a Polygon, or a Point when the box has no extent.

    >>> envelope_geometry([74.0, 42.0, 75.0, 43.0])["coordinates"][0][:2]
    [[74.0, 42.0], [75.0, 42.0]]
    >>> envelope_geometry([74.5, 42.8, 74.5, 42.8])
    {'type': 'Point', 'coordinates': [74.5, 42.8]}
    """
    west, south, east, north = (float(v) for v in bbox)
    if west == east and south == north:
        return {"type": "Point", "coordinates": [west, south]}
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _themes(theme: str, dataset_id: str, language: str, base_url: str) -> list[dict[str, Any]]:
    title = THEME_TITLES.get(theme, {}).get(language, theme.replace("_", " "))
    themes: list[dict[str, Any]] = [
        {
            "concepts": [
                {
                    "id": theme,
                    "title": title,
                    "url": f"{base_url}/collections/{CATALOGUE_ID}/items?theme={theme}",
                }
            ],
            "scheme": f"{base_url}/collections/{CATALOGUE_ID}/queryables#theme",
        }
    ]
    topic = TOPIC_CATEGORIES.get(dataset_id) or TOPIC_CATEGORIES.get(theme)
    if topic:
        themes.append({"concepts": [{"id": topic}], "scheme": ISO_TOPIC_SCHEME})
    return themes


def _time(row: Mapping[str, Any]) -> dict[str, Any] | None:
    if row["time_min"] is None and row["time_max"] is None:
        return None
    return {"interval": [iso_time(row["time_min"]) or "..", iso_time(row["time_max"]) or ".."]}


def _properties(row: Mapping[str, Any], language: str, base_url: str) -> dict[str, Any]:
    bbox = [float(v) for v in row["bbox_4326"]]
    extent: dict[str, Any] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    time = _time(row)
    if time is not None:
        extent["temporal"] = {"interval": [time["interval"]]}
    properties: dict[str, Any] = {
        "type": "dataset",
        "title": row["title_i18n"][language],
        "description": row["description_i18n"][language],
        "keywords": list(row["keywords_i18n"][language]),
        "theme": row["theme"],
        "themes": _themes(row["theme"], row["id"], language, base_url),
        "language": {"code": language, "name": LANGUAGE_NAMES[language]},
        "languages": [{"code": code, "name": LANGUAGE_NAMES[code]} for code in LANGUAGES],
        "contacts": [{"organization": row["custodian_i18n"][language], "roles": ["custodian"]}],
        "license": row["license"],
        "rights": row["rights"],
        "created": iso_time(row["created"]),
        "updated": iso_time(row["updated"]),
        "recordUpdated": iso_time(row["metadata_updated"]),
        "formats": list(row["formats"]),
        "frequency": row["frequency"],
        "lineage": row["lineage"],
        "extent": extent,
    }
    if row["feature_count"] is not None:
        properties["featureCount"] = int(row["feature_count"])
    if row["geometry_type"]:
        properties["geometryType"] = row["geometry_type"]
    return properties


def _links(
    row: Mapping[str, Any], language: str, base_url: str, served: Collection[str]
) -> Iterator[dict[str, str]]:
    if row["license_url"]:
        yield {
            "rel": "license",
            "type": "text/html",
            "title": row["license_title"],
            "href": row["license_url"],
        }
    dataset_id = row["id"]
    if row["kind"] == "raster":  # its scenes are in the image bank (the STAC API)
        yield {
            "rel": "related",
            "type": "application/json",
            "title": IMAGE_BANK_TITLES.get(language, IMAGE_BANK_TITLES["en"]),
            "href": f"{base_url}/stac/collections/{dataset_id}",
        }
        yield {
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map",
            "type": "application/json",
            "title": "Map tilesets (PNG, WebP)",
            "href": f"{base_url}/collections/{dataset_id}/map/tiles",
        }
    if dataset_id not in served:
        return
    collection = f"{base_url}/collections/{dataset_id}"
    yield {
        "rel": "describes",
        "type": "application/json",
        "title": LINK_TITLES["collection"][language],
        "href": collection,
    }
    yield {
        "rel": "describes",
        "type": "text/html",
        "title": LINK_TITLES["html"][language],
        "href": f"{collection}?f=html",
    }
    if row["kind"] == "vector":
        yield {
            "rel": "items",
            "type": "application/geo+json",
            "title": LINK_TITLES["items"][language],
            "href": f"{collection}/items",
        }
        yield {
            "rel": QUERYABLES_REL,
            "type": "application/schema+json",
            "title": LINK_TITLES["queryables"][language],
            "href": f"{collection}/queryables",
        }


def build_record(
    row: Mapping[str, Any], *, language: str, base_url: str, served: Collection[str]
) -> dict[str, Any]:
    """The OGC API - Records record (GeoJSON) of one `catalog.records` row.

    Args:
        row: the columns named in :data:`RECORD_COLUMNS`.
        language: `ky`, `ru` or `en` (anything else gives English).
        base_url: public URL of the API, without trailing slash (links).
        served: ids of the collections the API serves: only those get links.

    Returns:
        A GeoJSON Feature whose geometry is the dataset's extent in CRS84 (Kyrgyzstan's
        bounding box when the dataset was never loaded or has no geometry).
    """
    language = language if language in LANGUAGES else "en"
    return {
        "id": row["id"],
        "type": "Feature",
        "conformsTo": [RECORD_CORE],
        "time": _time(row),
        "geometry": envelope_geometry(row["bbox_4326"]),
        "properties": _properties(row, language, base_url),
        "links": list(_links(row, language, base_url, served)),
    }
