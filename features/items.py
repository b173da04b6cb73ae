"""A feature by id: the id value to bind, and the feature's text from its statement's row
(the statement itself is :func:`features.query.item_query`)."""

from __future__ import annotations

import re
from typing import Any

from features.errors import ItemNotFoundError
from features.table import FeatureTable, has_integer_id

_BIGINT = re.compile(r"-?[0-9]{1,18}")


def item_id(table: FeatureTable, identifier: Any) -> Any:
    """The id value to bind for a requested id.

    Raises:
        ItemNotFoundError: an id that cannot exist (not a bigint for an integer id).
    """
    value: Any = str(identifier)
    if has_integer_id(table):
        if not _BIGINT.fullmatch(value):  # fits a bigint
            raise ItemNotFoundError(f"item {identifier} not found")
        value = int(value)
    return value


def item_text(identifier: Any, row: tuple | None) -> str:
    """The feature of a by-id statement's row as GeoJSON text.

    Raises:
        ItemNotFoundError: no such row.
    """
    if row is None or not row[1]:
        raise ItemNotFoundError(f"item {identifier} not found")
    return str(row[0][1:-1])  # the one feature of the '[...]' array
