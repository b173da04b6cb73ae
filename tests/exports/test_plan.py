"""The exports package's pure parts: formats, bbox, CRS, filters, job inputs (no database)."""

from __future__ import annotations

import doctest

import pytest

import exports.formats
import exports.plan
from exports.errors import InvalidExportError
from exports.plan import ExportQuery, RegionRef, parse_bbox, parse_filter, target_crs


@pytest.mark.parametrize("module", [exports.formats, exports.plan])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "1,2,3", "a,b,c,d", "75,42,74,43", "0,0,200,1", "nan,0,1,1"])
def test_a_malformed_bbox_is_refused(text: str) -> None:
    with pytest.raises(InvalidExportError, match="bbox"):
        parse_bbox(text)


def test_crs_is_crs84_or_a_supported_epsg_code_written_x_first() -> None:
    assert target_crs(None).srid == 4326
    assert target_crs("EPSG:4326").flip is False  # files are easting first
    assert target_crs("http://www.opengis.net/def/crs/EPSG/0/32643").srid == 32643
    for bad in ("EPSG:2154", "EPSG:999999", "nonsense"):
        with pytest.raises(InvalidExportError, match="unsupported crs"):
            target_crs(bad)


def test_a_filter_that_does_not_parse_names_itself() -> None:
    assert parse_filter("population > 5") is not None
    with pytest.raises(InvalidExportError, match="malformed CQL2 filter"):
        parse_filter("population >")


def test_a_query_survives_the_job_queue() -> None:
    query = ExportQuery(
        format="geopackage",
        layers=("roads",),
        bbox=(74.0, 42.0, 75.0, 43.0),
        region=RegionRef("oblast", "base", "oblasts", 3, 4326, "Chuy Region"),
        filter="surface = 'asphalt'",
        datetime="2024-01-01/..",
        crs="EPSG:32643",
    )
    inputs = query.to_inputs()
    inputs["bbox"] = list(inputs["bbox"])  # as JSON gives it back
    assert ExportQuery.from_inputs(inputs) == query
