"""Reading a scene: a multiband GeoTIFF or a folder of per-band files, named like Sentinel-2
L2A (B02 ... B12, SCL) or Landsat 8/9 Collection 2 Level-2 (SR_B2 ... SR_B7, QA_PIXEL).

The sensor and the acquisition date come from the names (`T43TEM_20250612T053649_B04.tif`,
`LC09_L2SP_150031_20250601_..._SR_B4.TIF`, band descriptions of a multiband file) or from
the caller. Reflectance and the validity mask are lazy Dask arrays.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import dask.array as da
import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS

from imagery.blocks import DEFAULT_CHUNK, read_band
from imagery.errors import GridMismatchError, SceneFormatError, SensorNotDetectedError
from imagery.sensors import (
    LANDSAT,
    SENSORS,
    Sensor,
    band_in_name,
    invalid,
    reflectance,
    s2_offset,
    sensor_of_bands,
)

_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?(?!\d)")
RASTER_SUFFIXES = (".tif", ".tiff", ".jp2")


@dataclass(frozen=True)
class BandRef:
    """Where one band is: a file and the band's index in it (1-based)."""

    path: str
    index: int = 1


@dataclass(frozen=True)
class Scene:
    """One acquisition: its sensor, time, grid and the files of its bands."""

    id: str
    sensor: Sensor
    datetime: dt.datetime
    crs: CRS
    transform: Affine
    width: int
    height: int
    bands: dict[str, BandRef]
    """Band name (B04, SR_B4, SCL, QA_PIXEL) -> file and index."""
    processing_baseline: str | None = None
    properties: dict[str, object] = field(default_factory=dict)
    """Extra STAC properties read from the files' tags (e.g. `synthetic`)."""

    def dn(self, band: str, chunk: int = DEFAULT_CHUNK) -> da.Array:
        """Digital numbers of a band (lazy)."""
        ref = self.bands[band]
        return read_band(ref.path, ref.index, chunk)

    def reflectance(self, common_name: str, chunk: int = DEFAULT_CHUNK) -> da.Array:
        """Surface reflectance (float32) of a band by common name, NaN where masked."""
        dn = self.dn(self.sensor.bands[common_name], chunk)
        offset = s2_offset(self.processing_baseline)
        values = dn.map_blocks(_scaled, self.sensor.name, offset, dtype="float32")
        return da.where(self.invalid(chunk), float("nan"), values)

    def invalid(self, chunk: int = DEFAULT_CHUNK) -> da.Array:
        """True where the quality band masks the pixel (no data, cloud, shadow)."""
        qa = self.dn(self.sensor.qa, chunk)
        return qa.map_blocks(_masked, self.sensor.name, dtype=bool)


def _scaled(block: np.ndarray, sensor_name: str, offset: float) -> np.ndarray:
    """Reflectance of one chunk (module-level: it pickles to cluster workers)."""
    return reflectance(SENSORS[sensor_name], block, offset)


def _masked(block: np.ndarray, sensor_name: str) -> np.ndarray:
    """The invalid mask of one chunk of the quality band."""
    return invalid(SENSORS[sensor_name], block)


def date_in_name(name: str) -> dt.datetime | None:
    """The acquisition time in a file or folder name (UTC), or None.

    >>> date_in_name("S2B_MSIL2A_20250612T053649_N0511_R005_T43TEM")
    datetime.datetime(2025, 6, 12, 5, 36, 49, tzinfo=datetime.timezone.utc)
    >>> date_in_name("LC09_L2SP_150031_20250601_20250603_02_T1").date()
    datetime.date(2025, 6, 1)
    """
    match = _DATE.search(name)
    if not match:
        return None
    y, m, d, hh, mm, ss = (int(g) if g else 0 for g in match.groups())
    try:
        return dt.datetime(y, m, d, hh, mm, ss, tzinfo=dt.UTC)
    except ValueError:
        return None


def _baseline(name: str, tags: dict[str, str]) -> str | None:
    if "PROCESSING_BASELINE" in tags:
        return tags["PROCESSING_BASELINE"]
    match = re.search(r"_N(\d{2})(\d{2})_", name)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _band_files(folder: Path) -> dict[str, BandRef]:
    found: dict[str, BandRef] = {}
    for path in sorted(folder.iterdir()):
        band = band_in_name(path.name)
        if band and path.suffix.lower() in RASTER_SUFFIXES:
            found[band] = BandRef(str(path))
    return found


def _multiband(path: Path, sensor: Sensor | None) -> tuple[dict[str, BandRef], Sensor | None]:
    with rasterio.open(path) as src:
        names = [band_in_name(d or "") for d in src.descriptions]
        count = src.count
    if all(names):
        return {n: BandRef(str(path), i + 1) for i, n in enumerate(names) if n}, sensor
    if sensor is None:
        raise SensorNotDetectedError(
            f"{path.name}: its bands have no names (B04, SR_B4, ...); give --sensor "
            f"({', '.join(SENSORS)}) to read them in the sensor's order"
        )
    if count != len(sensor.band_names):
        raise SceneFormatError(
            f"{path.name} has {count} bands; a {sensor.name} scene in band order has "
            f"{len(sensor.band_names)}: {', '.join(sensor.band_names)}"
        )
    return {n: BandRef(str(path), i + 1) for i, n in enumerate(sensor.band_names)}, sensor


def open_scene(path: Path, sensor: str | None = None, when: dt.datetime | None = None) -> Scene:
    """Open a scene: a folder of per-band files or a multiband GeoTIFF.

    Args:
        path: the folder or the file.
        sensor: `sentinel-2` or `landsat` when the band names do not tell.
        when: the acquisition time when the names do not carry it (UTC if naive).

    Raises:
        SceneFormatError: a band is missing, or the bands are not on one grid.
        SensorNotDetectedError: the sensor or the date cannot be told and was not given.
    """
    if not path.exists():
        raise SceneFormatError(f"no scene at {path}")
    given = SENSORS.get(sensor) if sensor else None
    if sensor and given is None:
        raise SensorNotDetectedError(f"unknown sensor {sensor!r}; one of {', '.join(SENSORS)}")
    if path.is_dir():
        bands, detected = _band_files(path), None
    else:
        bands, detected = _multiband(path, given)
    detected = given or detected or sensor_of_bands(set(bands))
    if detected is None:
        names = ", ".join(sorted(bands)) or "none"
        raise SceneFormatError(
            f"{path.name}: bands found ({names}) are neither a Sentinel-2 L2A set "
            "(B02 B03 B04 B08 B8A B11 B12 SCL) nor a Landsat C2 L2 set (SR_B2..SR_B7 QA_PIXEL)"
        )
    missing = [b for b in detected.band_names if b not in bands]
    if missing:
        raise SceneFormatError(f"{path.name}: {detected.name} bands missing: {missing}")
    return _scene(path, detected, {b: bands[b] for b in detected.band_names}, when)


def _scene(
    path: Path, sensor: Sensor, bands: dict[str, BandRef], when: dt.datetime | None
) -> Scene:
    grids = set()
    tags: dict[str, str] = {}
    for ref in bands.values():
        with rasterio.open(ref.path) as src:
            grids.add(
                (src.crs.to_string() if src.crs else None, tuple(src.transform)[:6], src.shape)
            )
            tags.update(src.tags())
    if len(grids) != 1:
        raise GridMismatchError(f"{path.name}: the bands are not on one grid ({len(grids)} grids)")
    crs_text, transform, (height, width) = grids.pop()
    if crs_text is None:
        raise SceneFormatError(f"{path.name}: the bands have no coordinate reference system")
    when = when or date_in_name(path.name) or _tag_date(tags)
    if when is None:
        raise SensorNotDetectedError(f"{path.name}: no acquisition date in the names; give --date")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    extra: dict[str, object] = {}
    if tags.get("SYNTHETIC", "").lower() == "true":
        extra["synthetic"] = True
    return Scene(
        id=_scene_id(path, sensor, when),
        sensor=sensor,
        datetime=when,
        crs=CRS.from_string(crs_text),
        transform=Affine(*transform),
        width=width,
        height=height,
        bands=bands,
        processing_baseline=None if sensor is LANDSAT else _baseline(path.name, tags),
        properties=extra,
    )


def _tag_date(tags: dict[str, str]) -> dt.datetime | None:
    value = tags.get("ACQUISITION_DATETIME") or tags.get("TIFFTAG_DATETIME")
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return date_in_name(value)


def _scene_id(path: Path, sensor: Sensor, when: dt.datetime) -> str:
    """A STAC item id: the product name when it has one, else sensor and time."""
    stem = path.name.split(".")[0] if path.is_file() else path.name
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)
    if date_in_name(stem):
        return stem
    return f"{sensor.name}_{when:%Y%m%dT%H%M%S}"
