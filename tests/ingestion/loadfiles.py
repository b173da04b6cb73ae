"""Small files for the loading tests, written in every input format from one frame of three
environment sensors in Bishkek (layer `environment_sensors`, natural key `sensor_code`)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely.geometry import Point

LAYER = "environment_sensors"
COLUMNS = ["sensor_code", "city", "parameter", "unit", "installed", "operator", "status"]


def sensors(
    codes: tuple[str, ...] = ("T-1", "T-2", "T-3"), **changes: list[object]
) -> gpd.GeoDataFrame:
    """Sensors with these codes (near Bishkek's centre), any column overridden."""
    n = len(codes)
    data: dict[str, list[object]] = {
        "sensor_code": list(codes),
        "city": ["Bishkek"] * n,
        "parameter": (["temperature", "noise_db"] * n)[:n],
        "unit": (["°C", "dB(A)"] * n)[:n],
        "installed": ["2024-05-0" + str(1 + i % 9) for i in range(n)],
        "operator": ["Бишкек шаарынын мэриясы"] * n,
        "status": ["active"] * n,
        "last_value": [12.5 + i for i in range(n)],
    }
    data.update(changes)
    points = [Point(74.58 + 0.01 * i, 42.87 + 0.002 * i) for i in range(n)]
    return gpd.GeoDataFrame(data, geometry=points, crs="EPSG:4326")


def write(frame: gpd.GeoDataFrame, folder: Path, fmt: str) -> Path:
    """`frame` as a file of format `fmt` (gpkg, shp.zip, geojson, kml, csv-wkt, csv-lonlat,
    fgb); a Shapefile in CP1251, zipped."""
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv-wkt":
        path = folder / "sensors_wkt.csv"
        out = pd.DataFrame(frame.drop(columns="geometry"))
        out["wkt"] = frame.geometry.to_wkt()
        out.to_csv(path, index=False)
        return path
    if fmt == "csv-lonlat":
        path = folder / "sensors_lonlat.csv"
        out = pd.DataFrame(frame.drop(columns="geometry"))
        out["lon"], out["lat"] = frame.geometry.x, frame.geometry.y
        out.to_csv(path, index=False)
        return path
    if fmt == "shp.zip":
        return zipped_shapefile(frame, folder / "sensors.zip", encoding="cp1251")
    suffix = {"gpkg": ".gpkg", "geojson": ".geojson", "kml": ".kml", "fgb": ".fgb"}[fmt]
    path = folder / f"sensors{suffix}"
    driver = {"kml": "KML"}.get(fmt)
    pyogrio.write_dataframe(frame, path, driver=driver)
    return path


def zipped_shapefile(
    frame: gpd.GeoDataFrame,
    path: Path,
    *,
    encoding: str = "UTF-8",
    drop: tuple[str, ...] = (),
    truncate_shp: bool = False,
) -> Path:
    """A zipped Shapefile of `frame`, without the parts in `drop` (".prj", ".cpg"), its .shp
    cut in half when `truncate_shp`."""
    folder = path.parent / (path.stem + "_parts")
    folder.mkdir(parents=True, exist_ok=True)
    short = frame.rename(columns={c: c[:10] for c in frame.columns if c != "geometry"})
    pyogrio.write_dataframe(short, folder / "sensors.shp", encoding=encoding)
    with zipfile.ZipFile(path, "w") as archive:
        for part in sorted(folder.iterdir()):
            if part.suffix in drop:
                continue
            data = part.read_bytes()
            if truncate_shp and part.suffix == ".shp":
                data = data[: len(data) // 2]
            archive.writestr(part.name, data)
    return path
