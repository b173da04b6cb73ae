"""Fixtures for the pygeoapi feature provider tests; the test tables are the engine's
(``tests/features/conftest.py``)."""

import pytest

from tests.features.conftest import CRS84, EPSG, provider_db  # noqa: F401 - fixture


@pytest.fixture(scope="session")
def make_provider(provider_db):  # noqa: F811 - the imported fixture
    """Factory: a PostGISFeatureProvider on one provtest table."""
    from geoportal.providers.features import PostGISFeatureProvider

    def make(table, storage_crs=CRS84, layer_id=None, search_fields=(), **extra):
        provider_def = {
            "type": "feature",
            "name": "geoportal.providers.features.PostGISFeatureProvider",
            "data": {
                "conninfo": provider_db["conninfo"],
                "schema": provider_db["schema"],
                "table": table,
                "layer_id": layer_id or f"provtest_{table}",
                "search_fields": list(search_fields),
            },
            "id_field": "id",
            "geom_field": "geom",
            "storage_crs": storage_crs,
            "crs": [CRS84, EPSG + "4326", EPSG + "3857", EPSG + "7694", EPSG + "32643"],
            **extra,
        }
        return PostGISFeatureProvider(provider_def)

    return make
