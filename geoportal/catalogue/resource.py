"""The pygeoapi resource of the `catalogue` collection (OGC API - Records).

`geoportal/server/pygeoapi_config.py` adds it to the generated configuration, after the
feature collections, so that records link to the collections actually served.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from geoportal.catalogue.records import CATALOGUE_ID
from layers.catalogue import Catalogue
from layers.geography import CRS84, KYRGYZSTAN_EXTENT_4326

PROVIDER = "geoportal.providers.records.CatalogueRecordProvider"

COLLECTION_TITLE = {
    "en": "Dataset catalogue",
    "ru": "Каталог наборов данных",
    "ky": "Маалымат топтомдорунун каталогу",
}
COLLECTION_DESCRIPTION = {
    "en": "One metadata record per dataset of the national geoportal (OGC API - Records): "
    "title, abstract, keywords, theme, custodian, licence, extent, feature count and "
    "last update. Search it in Kyrgyz, Russian or English with q, bbox and theme.",
    "ru": "Одна запись метаданных на каждый набор данных национального геопортала (OGC API - "
    "Records): название, аннотация, ключевые слова, тема, ответственная организация, "
    "лицензия, охват, число объектов и дата обновления. Поиск на кыргызском, русском и "
    "английском языках: q, bbox и theme.",
    "ky": "Улуттук геопорталдын ар бир маалымат топтомуна бир метамаалымат жазуусу (OGC API - "
    "Records): аталышы, аннотациясы, ачкыч сөздөрү, темасы, жооптуу мекемеси, лицензиясы, "
    "камтыган аймагы, объекттеринин саны жана акыркы жаңыртылган күнү. Кыргыз, орус же "
    "англис тилинде издөө: q, bbox жана theme.",
}
COLLECTION_KEYWORDS = {
    "en": ["catalogue", "metadata", "datasets", "OGC API - Records"],
    "ru": ["каталог", "метаданные", "наборы данных", "OGC API - Records"],
    "ky": ["каталог", "метамаалымат", "маалымат топтомдору", "OGC API - Records"],
}


def catalogue_resource(
    catalogue: Catalogue,
    *,
    conninfo: str,
    public_url: str,
    served: Collection[str],
    statement_timeout_ms: int,
    default_language: str = "en",
) -> dict[str, Any]:
    """The pygeoapi resource of the `catalogue` collection (OGC API - Records).

    Args:
        catalogue: the declarations (their themes are the `theme` queryable's values).
        conninfo: the public, read-only role's connection (it may read `catalog.records`).
        public_url: base URL of the API (record links).
        served: ids of the collections the configuration serves (records link to those).
        statement_timeout_ms: as for the feature collections.
        default_language: the language a record is served in when the request names none
            of ours (English unless the deployment says otherwise).
    """
    themes = list(
        dict.fromkeys(
            [*(lyr.theme for lyr in catalogue.layers), *(r.theme for r in catalogue.rasters)]
        )
    )
    languages = [
        default_language,
        *(lang for lang in ("en", "ru", "ky") if lang != default_language),
    ]
    return {
        "type": "collection",
        "title": dict(COLLECTION_TITLE),
        "description": dict(COLLECTION_DESCRIPTION),
        "keywords": {lang: list(words) for lang, words in COLLECTION_KEYWORDS.items()},
        "links": [],
        "extents": {"spatial": {"bbox": list(KYRGYZSTAN_EXTENT_4326), "crs": CRS84}},
        "providers": [
            {
                "type": "record",
                "name": PROVIDER,
                "data": {
                    "conninfo": conninfo,
                    "base_url": public_url.rstrip("/"),
                    "collections": sorted(set(served) - {CATALOGUE_ID}),
                    "themes": themes,
                },
                "id_field": "id",
                "title_field": "title",
                "geom_field": "geom",
                "storage_crs": CRS84,
                "languages": languages,
                "options": {"statement_timeout_ms": statement_timeout_ms},
            }
        ],
    }
