"""Field values of a chunk of a file, converted and checked column by column (vectorised).

Each declared field takes its values from a source column (the mapping's, else the
declaration's, else a column of the field's own name), through the same vocabulary the
declarations use: `column`, `derive` (applied to each distinct value once), `map`, `default`.
Every row that breaks a rule is recorded in the report with its row number and value; the
returned mask marks the rows without a blocking problem.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ingestion.derive import get_derivation
from ingestion.report import ValidationReport
from ingestion.values import INTEGER_RANGES
from layers.model import Layer, LayerField, ValueSource

MOJIBAKE = r"[\u00c0-\u00ff]{3,}"
"""Three Latin-1 letters in a row: Cyrillic CP1251 text decoded as Latin-1 (Kyrgyz and Russian
texts never hold them; French or German ones rarely three in a row)."""
KML_COLUMNS = frozenset(
    {"Name", "description", "timestamp", "begin", "end", "altitudeMode", "tessellate"}
    | {"extrude", "visibility", "drawOrder", "icon"}
)
"""Columns GDAL adds to every KML layer (not reported as unused)."""
TRUE_TEXTS = frozenset({"true", "1", "yes", "t", "y"})
FALSE_TEXTS = frozenset({"false", "0", "no", "f", "n"})


def resolve_sources(
    layer: Layer, columns: tuple[str, ...], mapping: Mapping[str, ValueSource] | None
) -> dict[str, ValueSource | None]:
    """Where each field's values come from in a file with these columns."""
    resolved: dict[str, ValueSource | None] = {}
    for field in layer.fields:
        spec = (mapping or {}).get(field.name)
        if spec is None and field.value_source and field.value_source.column in columns:
            spec = field.value_source
        if spec is None and field.name in columns:
            spec = ValueSource(column=field.name)
        resolved[field.name] = spec
    return resolved


def check_columns(
    layer: Layer,
    columns: tuple[str, ...],
    sources: Mapping[str, ValueSource | None],
    report: ValidationReport,
) -> None:
    """Report required fields nothing maps to, mapped columns the file lacks, and file
    columns no field uses."""
    used = {spec.column for spec in sources.values() if spec is not None}
    for field in layer.fields:
        spec = sources[field.name]
        if spec is not None and spec.column not in columns:
            report.note(
                "missing_field",
                f"column {spec.column!r} (for field {field.name!r}) is not in the file; "
                f"its columns: {list(columns)}",
                field_name=field.name,
            )
        elif spec is None and field.required:
            report.note(
                "missing_field",
                f"required field {field.name!r} has no column in the file (name a column "
                "with --mapping)",
                field_name=field.name,
            )
    for column in columns:
        if column not in used and column != "id" and column not in KML_COLUMNS:
            report.note("unmapped_column", f"column {column!r} goes into no field (ignored)")


def _raw(frame: pd.DataFrame, spec: ValueSource) -> pd.Series:
    series = frame[spec.column].astype(object)
    if spec.derive:
        derive = get_derivation(spec.derive)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        derived = np.array([derive(u) for u in uniques] + [derive(None)], dtype=object)
        series = pd.Series(derived[codes], index=frame.index, dtype=object)
    if spec.map:
        keys = series.astype(str)
        hit = series.notna() & keys.isin(list(spec.map))
        series = series.where(~hit, keys.map(spec.map))
    if spec.default is not None:
        series = series.where(series.notna(), spec.default)
    return series


def _convert(field: LayerField, series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(values as Python objects with None for null, mask of rows that did not convert)."""
    present = series.notna()
    match field.type:
        case "text":
            out = series.where(~present, series.astype(str))
            return out.astype(object).where(present, None), pd.Series(False, index=series.index)
        case "integer" | "bigint":
            number = pd.to_numeric(series, errors="coerce")
            low, high = INTEGER_RANGES[field.type]
            ok = number.notna() & (number % 1 == 0) & (number >= low) & (number <= high)
            out = pd.Series(
                number.where(ok, 0).astype("int64").tolist(), index=series.index, dtype=object
            )
        case "double":
            number = pd.to_numeric(series, errors="coerce")
            ok = number.notna() & np.isfinite(number.fillna(0))
            out = number.astype(object)
        case "boolean":
            text = series.astype(str).str.strip().str.lower()
            ok = text.isin(TRUE_TEXTS | FALSE_TEXTS | {"true", "false"})
            out = text.isin(TRUE_TEXTS | {"true"}).astype(object)
        case "date" | "timestamptz":
            stamps = _stamps(series)
            ok = stamps.notna()
            out = (stamps.dt.date if field.type == "date" else stamps).astype(object)
    bad = present & ~ok
    return out.where(present & ok, None).astype(object), bad


def _stamps(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, errors="coerce")
        return stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps
    return pd.to_datetime(series.astype(str), errors="coerce", utc=True, format="mixed")


def field_column(
    field: LayerField,
    spec: ValueSource | None,
    frame: pd.DataFrame,
    rows: np.ndarray,
    report: ValidationReport,
) -> tuple[pd.Series, np.ndarray]:
    """One field's values for a chunk and the mask of rows without a blocking problem.

    `rows` holds the chunk's 1-based row numbers in the file.
    """
    if spec is None or spec.column not in frame.columns:
        values = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        return values, np.ones(len(frame), dtype=bool)
    raw = _raw(frame, spec)
    values, bad = _convert(field, raw)
    if field.type == "text":
        distinct = pd.Series(pd.unique(values.dropna()), dtype=object)
        suspects = distinct[distinct.str.contains(MOJIBAKE, na=False)]
        garbled = values.isin(suspects).to_numpy()  # each distinct text tested once
        message = "looks like Cyrillic read in the wrong encoding; give --encoding CP1251"
        if garbled.any():
            found = report.problem("encoding", message, field_name=field.name, blocking=False)
            found.add(list(rows[garbled]), list(values[garbled]))
    bad = bad.to_numpy().copy()
    _record(report, "type", f"not a valid {field.type}", field, rows, raw, bad)
    missing = values.isna().to_numpy() & ~bad
    if field.required:
        _record(report, "required", "a value is required", field, rows, raw, missing)
    bad |= missing & field.required
    bad |= _check_range(field, values, rows, report)
    bad |= _check_enum(field, values, rows, report)
    return values, ~bad


def _check_range(
    field: LayerField, values: pd.Series, rows: np.ndarray, report: ValidationReport
) -> np.ndarray:
    if (
        field.minimum is None
        and field.maximum is None
        or field.type
        not in (
            "integer",
            "bigint",
            "double",
        )
    ):
        return np.zeros(len(values), dtype=bool)
    number = pd.to_numeric(values, errors="coerce")
    low = number < field.minimum if field.minimum is not None else False
    high = number > field.maximum if field.maximum is not None else False
    bad = (np.asarray(low) | np.asarray(high)) & number.notna().to_numpy()
    span = f"from {field.minimum} to {field.maximum}"
    _record(report, "range", f"outside the range {span}", field, rows, values, bad)
    return bad


def _check_enum(
    field: LayerField, values: pd.Series, rows: np.ndarray, report: ValidationReport
) -> np.ndarray:
    if field.enum is None:
        return np.zeros(len(values), dtype=bool)
    bad = (values.notna() & ~values.isin(field.enum)).to_numpy()
    if bad.any():
        problem = report.problem(
            "enum", f"not one of the allowed values {field.enum}", field_name=field.name
        )
        problem.add(list(rows[bad]), list(values[bad]))
        for wrong in pd.unique(values[bad])[:50]:
            close = difflib.get_close_matches(str(wrong), field.enum, n=1, cutoff=0.0)
            if close:
                problem.suggestions[str(wrong)] = close[0]
    return bad


def _record(
    report: ValidationReport,
    code: str,
    message: str,
    field: LayerField,
    rows: np.ndarray,
    values: pd.Series,
    bad: np.ndarray,
) -> None:
    if bad.any():
        found = report.problem(code, message, field_name=field.name)
        found.add(list(rows[bad]), list(values[bad]))


def plain(values: pd.Series) -> list[Any]:
    """Cells for COPY: Python values, None for missing ones (the conversion left no NaN)."""
    return values.tolist()
