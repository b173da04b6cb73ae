"""A pygeoapi feature provider that answers from prepared results: the ceiling of pygeoapi's
own request handling (the "ceiling" rows of docs/benchmarks.md).

`data` names a JSON file `{"first": FeatureCollection, "bbox": ..., "deep": ...,
"filter": ..., "item": Feature}` holding our server's answers to the benchmark's request
classes, so the stub returns results of exactly the same size without touching a database.
pygeoapi builds a provider object per request; the file is read once per process.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from pygeoapi.provider.base import BaseProvider, ProviderItemNotFoundError

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


@functools.cache
def load_canned(path: str) -> dict[str, Any]:
    """The prepared answers (read once per process)."""
    canned: dict[str, Any] = json.loads(Path(path).read_text("utf-8"))
    return canned


class CannedFeatureProvider(BaseProvider):
    """Returns the prepared answer of the request class a query belongs to."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.canned = load_canned(str(self.data))
        self.id_field = self.id_field or "id"
        self.get_fields()

    def get_fields(self) -> dict[str, dict[str, str]]:
        """Queryables from the prepared feature's properties."""
        if not self._fields:
            properties = self._a_feature().get("properties") or {}
            self._fields = {
                name: {"type": _JSON_TYPES.get(type(value), "string")}
                for name, value in properties.items()
            }
        return self._fields

    def _a_feature(self) -> dict[str, Any]:
        """The prepared item, or the first feature of any prepared page (a run of some
        classes only, e.g. `--classes filter`, prepares no item)."""
        if "item" in self.canned:
            return dict(self.canned["item"])
        pages = (answer for answer in self.canned.values() if answer.get("features"))
        return dict(next(pages, {"features": [{}]})["features"][0])

    def query(
        self,
        offset: int = 0,
        limit: int = 10,
        resulttype: str = "results",
        bbox: list[float] | None = None,
        filterq: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The prepared page of the matching class (a new top-level dict: pygeoapi adds
        links and a time stamp to it; the features are not modified)."""
        if bbox:
            key = "bbox"
        elif filterq is not None:
            key = "filter"
        elif offset:
            key = "deep"
        else:
            key = "first"
        if key not in self.canned:  # a class not measured in this run (the readiness probe)
            key = next(k for k, answer in self.canned.items() if "features" in answer)
        return dict(self.canned[key])

    def get(self, identifier: Any, **kwargs: Any) -> dict[str, Any]:
        """The prepared feature under the asked id (a copy: pygeoapi adds links to it)."""
        if not str(identifier).isdigit():
            raise ProviderItemNotFoundError(user_msg=f"item {identifier} not found")
        return {**self.canned["item"], "id": int(identifier)}

    def __repr__(self) -> str:
        return f"<CannedFeatureProvider> {self.data}"
