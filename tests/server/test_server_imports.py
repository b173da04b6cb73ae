"""The server process stays lean: the data-frame and map-drawing stacks (pandas, geopandas,
pyogrio, folium) are imported by the loaders and the previews when they run, not by every
API worker (together about 70 MB of RSS per worker)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

HEAVY = ("pandas", "geopandas", "pyogrio", "folium", "rasterio", "dask")


def test_serving_imports_no_data_frame_or_map_stack() -> None:
    code = (
        "import sys, geoportal.server.asgi, geoportal.server.app\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_field_values_without_and_with_pandas() -> None:
    """The API's writes (plain JSON values) and the loader (data-frame cells) share one
    conversion: nulls of both kinds, timestamps with or without a zone."""
    import pandas as pd

    from ingestion import values, vector
    from layers.catalogue import load_catalogue

    observed = load_catalogue().get("irrigation_readings").field("observed_at")
    utc = dt.UTC
    assert values.coerce_value(observed, "2024-06-01T10:00:00Z") == dt.datetime(
        2024, 6, 1, 10, tzinfo=utc
    )
    assert values.coerce_value(observed, "2024-06-01 10:00") == dt.datetime(
        2024, 6, 1, 10, tzinfo=utc
    )
    assert values.coerce_value(observed, pd.Timestamp("2024-06-01T16:00+06:00")) == dt.datetime(
        2024, 6, 1, 10, tzinfo=utc
    )
    assert values.coerce_value(observed, "01 Jun 2024 10:00") == dt.datetime(  # pandas
        2024, 6, 1, 10, tzinfo=utc
    )
    for null in (None, float("nan"), pd.NA):
        assert values.coerce_value(observed, null) is None
    assert vector.coerce_value is values.coerce_value  # one implementation
