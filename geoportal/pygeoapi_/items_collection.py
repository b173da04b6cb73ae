"""What the items fast path (``features_fast``) keeps per collection: its configuration,
its process-wide provider, and per distinct feature request the answer's fixed parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import sql
from pygeoapi.api import API
from pygeoapi.crs import create_crs_transform_spec
from pygeoapi.plugin import load_plugin
from pygeoapi.provider import get_provider_by_type
from pygeoapi.util import get_dataset_formatters

from geoportal.providers.features import PostGISFeatureProvider

PROVIDER_NAME = f"{PostGISFeatureProvider.__module__}.{PostGISFeatureProvider.__name__}"


@dataclass(frozen=True)
class ItemPlan:
    """Everything of a feature's answer that its id and row do not change."""

    format: str | None
    locale: Any
    spec: Any  # pygeoapi's CrsTransformSpec of the `crs` parameter
    error_headers: dict[str, str]  # as pygeoapi has them when the provider fails
    headers: tuple[tuple[bytes, bytes], ...]  # of a 200, without length and ETag
    links: tuple[str, ...]  # the links' JSON text, split where the id goes


@dataclass(frozen=True)
class Collection:
    """A collection the fast path serves: its configuration and its (process-wide) provider."""

    name: str
    resource: dict[str, Any]
    provider_def: dict[str, Any]
    provider: PostGISFeatureProvider
    formatters: dict[str, Any]  # pygeoapi's dataset formatters (CSV, ...), looked up once
    etag: sql.Composable | None  # the entity tag of a row `p` (editable layers), or None
    item_plans: dict[tuple, ItemPlan | None] = field(default_factory=dict)
    """Per query string and negotiation headers: what a feature request's answer looks like."""
    _specs: dict[str | None, Any] = field(default_factory=dict)

    def crs_transform_spec(self, crs: str | None) -> Any:
        """pygeoapi's CrsTransformSpec for the `crs` parameter (built once per CRS; pyproj
        objects are slow to make); raises as pygeoapi's does for an unsupported CRS."""
        if crs not in self._specs:
            spec = create_crs_transform_spec(self.provider_def, crs)
            if len(self._specs) < 64:  # the supported CRS list is short; junk is not kept
                self._specs[crs] = spec
            return spec
        return self._specs[crs]


def load_collection(api: API, name: str, etag: sql.Composable | None) -> Collection | None:
    """The collection `name` if our provider serves it (its provider built here, once per
    process by the caller), else None; ``etag``: the SQL of a feature's entity tag.

    Raises:
        ProviderGenericError: misconfigured, or the database is down (pygeoapi explains).
    """
    resource = api.config["resources"].get(name) or {}
    provider_def = get_provider_by_type(resource.get("providers") or [], "feature")
    if resource.get("type") != "collection" or provider_def["name"] != PROVIDER_NAME:
        return None
    return Collection(
        name,
        resource,
        provider_def,
        load_plugin("provider", provider_def),
        get_dataset_formatters(resource),
        etag,
    )
