"""Spectral indices: normalised differences of two reflectance bands.

Every index is float32 with NaN as nodata (masked pixels of either band, or a zero sum).
"""

from __future__ import annotations

import numpy as np

INDICES: dict[str, tuple[str, str]] = {
    "ndvi": ("nir", "red"),
    "ndwi": ("green", "nir"),
    "nbr": ("nir", "swir22"),
}
"""Index -> (band a, band b) of (a - b) / (a + b), by STAC common name: NDVI (Rouse 1974),
NDWI (McFeeters 1996, green and NIR), NBR (Key and Benson 2006, NIR and SWIR 2.2 um)."""


def normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b) as float32; NaN where either is NaN or the sum is zero.

    Works on numpy blocks and on Dask arrays alike.

    >>> normalized_difference(np.array([0.4, 0.1, np.nan]), np.array([0.1, -0.1, 0.2]))
    array([0.6, nan, nan], dtype=float32)
    """
    a = a.astype("float32")
    b = b.astype("float32")
    total = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / total
    return np.where(total == 0, np.float32("nan"), out).astype("float32")
