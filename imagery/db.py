"""What the pipelines write to and read from PostGIS: the plots a scene covers, NDVI
statistics per plot with their z-scores and anomalies, burned areas, landscape changes.

Functions take a psycopg connection; the caller owns the transaction. The tables are the
declared layers `agri_plot_ndvi`, `agri_plot_ndvi_anomalies`, `burned_areas` and
`landscape_changes` (migration 0018); their feature counters are kept by the database's
triggers (catalog.layer_watch).
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from imagery.change import ChangePolygon
from imagery.copyrows import binary_rows

NDVI_COLUMNS = (
    "plot_id",
    "scene_id",
    "sensor",
    "observed_on",
    "ndvi_mean",
    "ndvi_median",
    "ndvi_p10",
    "ndvi_p90",
    "ndvi_std",
    "valid_pixels",
    "valid_share",
)
_FLOAT_STATISTICS = ("mean", "median", "p10", "p90", "std", "valid_pixels", "valid_share")
"""The statistics columns in the order of `NDVI_COLUMNS` (after `observed_on`)."""
SEVERITY = ((0.66, "high"), (0.44, "moderate_high"), (0.0, "moderate_low"))
"""USGS dNBR severity classes by the lower bound of a patch's mean dNBR."""


def _sql(name: str) -> str:
    return (resources.files("imagery") / "sql" / name).read_text("utf-8")


def read_plots(
    conn: psycopg.Connection, bbox_4326: tuple[float, float, float, float]
) -> gpd.GeoDataFrame:
    """The agricultural plots (id, geometry in EPSG:4326) whose box meets `bbox_4326`."""
    rows = conn.execute(
        "SELECT id, ST_AsBinary(geom) FROM agriculture.agri_plots "
        "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) ORDER BY id",
        list(bbox_4326),
    ).fetchall()
    geometries = shapely.from_wkb([bytes(r[1]) for r in rows]) if rows else []
    return gpd.GeoDataFrame({"id": [r[0] for r in rows]}, geometry=geometries, crs=4326)


def copy_plot_ndvi(
    conn: psycopg.Connection,
    stats: pd.DataFrame,
    *,
    scene_id: str,
    sensor: str,
    observed_on: dt.date,
    table: tuple[str, str] = ("agriculture", "agri_plot_ndvi"),
) -> int:
    """COPY statistics rows (`zonal_statistics` keyed by `id`) into `table` (schema, name);
    NaN statistics become NULL. Returns the rows copied."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(*table), sql.SQL(", ").join(map(sql.Identifier, NDVI_COLUMNS))
    )
    floats = stats[list(_FLOAT_STATISTICS)].to_numpy(dtype="float64")
    ids = stats["id"].to_numpy(dtype="int64")
    # one binary block built with numpy (imagery/copyrows.py), not a Python call per row
    payload = binary_rows(ids, (scene_id, sensor), observed_on, floats)
    with conn.cursor().copy(statement) as copy:
        copy.write(payload)
    return len(ids)


def write_plot_ndvi(
    conn: psycopg.Connection,
    stats: pd.DataFrame,
    *,
    scene_id: str,
    sensor: str,
    observed_on: dt.date,
) -> int:
    """Replace the NDVI statistics of one scene (`zonal_statistics` rows keyed by `id`),
    then fill the crop, the z-scores of that date and its anomalies. Returns the rows
    written."""
    conn.execute("DELETE FROM agriculture.agri_plot_ndvi WHERE scene_id = %s", [scene_id])
    count = copy_plot_ndvi(conn, stats, scene_id=scene_id, sensor=sensor, observed_on=observed_on)
    conn.execute(_sql("plot_crop.sql"), {"scene_id": scene_id})
    refresh_anomalies(conn, observed_on)
    return count


def refresh_anomalies(conn: psycopg.Connection, observed_on: dt.date) -> int:
    """Recompute the z-scores of one date and replace its anomalies; returns how many plots
    are anomalous that day."""
    conn.execute(_sql("z_scores.sql"), {"observed_on": observed_on})
    conn.execute(
        "DELETE FROM agriculture.agri_plot_ndvi_anomalies WHERE observed_on = %s", [observed_on]
    )
    conn.execute(_sql("anomalies.sql"), {"observed_on": observed_on})
    row = conn.execute(
        "SELECT count(*) FROM agriculture.agri_plot_ndvi_anomalies WHERE observed_on = %s",
        [observed_on],
    ).fetchone()
    return int(row[0]) if row else 0


def severity(dnbr_mean: float) -> str:
    """The USGS severity class of a mean dNBR (from 0.27 on).

    >>> severity(0.3), severity(0.5), severity(0.9)
    ('moderate_low', 'moderate_high', 'high')
    """
    return next(name for bound, name in SEVERITY if dnbr_mean >= bound)


def _replace_change(
    conn: psycopg.Connection,
    table: tuple[str, str],
    before: tuple[str, dt.date],
    after: tuple[str, dt.date],
) -> None:
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE scene_before = %s AND scene_after = %s").format(
            sql.Identifier(*table)
        ),
        [before[0], after[0]],
    )


def write_burned_areas(
    conn: psycopg.Connection,
    polygons: list[ChangePolygon],
    before: tuple[str, dt.date],
    after: tuple[str, dt.date],
) -> int:
    """Replace the burned areas found between two scenes ((item id, date) each)."""
    _replace_change(conn, ("disaster", "burned_areas"), before, after)
    conn.cursor().executemany(
        "INSERT INTO disaster.burned_areas (detected_on, before_on, scene_before, "
        "scene_after, area_ha, dnbr_mean, severity, geom) VALUES "
        "(%s, %s, %s, %s, %s, %s, %s, ST_Multi(ST_GeomFromWKB(%s, 4326)))",
        [[after[1], before[1], before[0], after[0], p.area_ha, p.mean_change,
          severity(p.mean_change), shapely.to_wkb(p.geometry)] for p in polygons],
    )  # fmt: skip
    return len(polygons)


def write_landscape_changes(
    conn: psycopg.Connection,
    polygons: list[ChangePolygon],
    before: tuple[str, dt.date],
    after: tuple[str, dt.date],
) -> int:
    """Replace the vegetation losses found between two scenes ((item id, date) each)."""
    _replace_change(conn, ("environment", "landscape_changes"), before, after)
    conn.cursor().executemany(
        "INSERT INTO environment.landscape_changes (change_type, detected_on, before_on, "
        "scene_before, scene_after, area_ha, ndvi_drop_mean, geom) VALUES "
        "('vegetation_loss', %s, %s, %s, %s, %s, %s, ST_Multi(ST_GeomFromWKB(%s, 4326)))",
        [[after[1], before[1], before[0], after[0], p.area_ha, p.mean_change,
          shapely.to_wkb(p.geometry)] for p in polygons],
    )  # fmt: skip
    return len(polygons)
