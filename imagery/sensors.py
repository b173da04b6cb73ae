"""The band layouts the pipelines read: Sentinel-2 L2A and Landsat 8/9 Collection 2 Level-2.

Each sensor knows its band files, how digital numbers become surface reflectance, and which
quality values mean cloud, cloud shadow or no data. The functions here work on numpy blocks;
`imagery.scene` maps them over Dask chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

S2_QUANTIFICATION = 10_000.0
S2_BOA_ADD_OFFSET = -1000.0
"""ESA's BOA_ADD_OFFSET for processing baseline 04.00 and later (product metadata
`BOA_ADD_OFFSET`, the same for every band): reflectance = (DN + offset) / 10000."""

S2_MASKED_SCL = (0, 1, 3, 8, 9, 10)
"""Scene classification values masked: no data, saturated or defective, cloud shadow, cloud
medium and high probability, thin cirrus (Sentinel-2 L2A product specification, SCL)."""

LANDSAT_SCALE = 0.0000275
LANDSAT_OFFSET = -0.2
"""Collection 2 Level-2 surface reflectance: DN * 0.0000275 - 0.2 (USGS LSDS-1619)."""

LANDSAT_MASKED_BITS = (0, 1, 2, 3, 4)
"""QA_PIXEL bits masked: fill, dilated cloud, cirrus, cloud, cloud shadow (LSDS-1619)."""


@dataclass(frozen=True)
class Sensor:
    """A band layout: band file names by common name, the quality band, the STAC collection."""

    name: str
    collection: str
    bands: dict[str, str]
    """Common name (STAC eo) -> band name in file names (B04, SR_B4)."""
    qa: str
    platforms: tuple[str, ...]
    gsd_m: float

    @property
    def band_names(self) -> list[str]:
        """The reflectance band names followed by the quality band, in file order."""
        return [*self.bands.values(), self.qa]

    def common_name(self, band: str) -> str:
        """The common name of a band name (B08 -> nir)."""
        for common, name in self.bands.items():
            if name == band:
                return common
        raise KeyError(band)


SENTINEL2 = Sensor(
    name="sentinel-2",
    collection="sentinel-2-l2a",
    bands={
        "blue": "B02",
        "green": "B03",
        "red": "B04",
        "nir": "B08",
        "nir08": "B8A",
        "swir16": "B11",
        "swir22": "B12",
    },
    qa="SCL",
    platforms=("sentinel-2a", "sentinel-2b", "sentinel-2c"),
    gsd_m=10.0,
)
LANDSAT = Sensor(
    name="landsat",
    collection="landsat-c2-l2",
    bands={
        "blue": "SR_B2",
        "green": "SR_B3",
        "red": "SR_B4",
        "nir": "SR_B5",
        "swir16": "SR_B6",
        "swir22": "SR_B7",
    },
    qa="QA_PIXEL",
    platforms=("landsat-8", "landsat-9"),
    gsd_m=30.0,
)
SENSORS: dict[str, Sensor] = {"sentinel-2": SENTINEL2, "landsat": LANDSAT}
"""Sensors by the name `--sensor` takes."""

_BAND_PATTERN = re.compile(r"(?<![A-Z0-9])(SR_B[1-7]|QA_PIXEL|B0[1-9]|B1[0-2]|B8A|SCL)(?![A-Z0-9])")


def band_in_name(name: str) -> str | None:
    """The band a file name names, or None.

    >>> band_in_name("T43TEM_20250612T053649_B8A_10m.jp2"), band_in_name("LC09_SR_B4.TIF")
    ('B8A', 'SR_B4')
    >>> band_in_name("LC09_L2SP_150031_20250601_QA_PIXEL.TIF"), band_in_name("notes.txt")
    ('QA_PIXEL', None)
    """
    match = _BAND_PATTERN.search(name.upper())
    return match.group(1) if match else None


def sensor_of_bands(bands: set[str]) -> Sensor | None:
    """The sensor whose band names are all among `bands`, or None."""
    for sensor in SENSORS.values():
        if set(sensor.band_names) <= bands:
            return sensor
    return None


def s2_offset(processing_baseline: str | None) -> float:
    """BOA_ADD_OFFSET for a processing baseline: -1000 from 04.00 on, 0 before (or unknown
    baselines, which are taken as current ones: -1000).

    >>> s2_offset("04.00"), s2_offset("05.10"), s2_offset("03.01"), s2_offset(None)
    (-1000.0, -1000.0, 0.0, -1000.0)
    """
    if processing_baseline is None:
        return S2_BOA_ADD_OFFSET
    major = int(processing_baseline.split(".")[0])
    return S2_BOA_ADD_OFFSET if major >= 4 else 0.0


def reflectance(sensor: Sensor, dn: np.ndarray, offset: float = S2_BOA_ADD_OFFSET) -> np.ndarray:
    """Surface reflectance (float32) of a block of digital numbers; DN 0 (no data) is NaN.

    Sentinel-2: (DN + offset) / 10000 with the scene's BOA_ADD_OFFSET; Landsat C2 L2:
    DN * 0.0000275 - 0.2.
    """
    dn = dn.astype("float32")
    if sensor is LANDSAT:
        out = dn * np.float32(LANDSAT_SCALE) + np.float32(LANDSAT_OFFSET)
    else:
        out = (dn + np.float32(offset)) / np.float32(S2_QUANTIFICATION)
    out[dn == 0] = np.nan
    return out


def invalid(sensor: Sensor, qa: np.ndarray) -> np.ndarray:
    """True where the quality band says no data, cloud, cloud shadow (or cirrus)."""
    if sensor is LANDSAT:
        bits = np.uint16(sum(1 << bit for bit in LANDSAT_MASKED_BITS))
        return (qa.astype("uint16") & bits) != 0
    return np.isin(qa, S2_MASKED_SCL)
