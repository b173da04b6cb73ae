"""Crop coefficients by crop and growth stage (FAO Irrigation and Drainage Paper 56).

Kc of the initial, mid-season and late-season stages from FAO-56 Table 12 and the stage
lengths (initial, development, mid-season, late season, days) from Table 11, the entry for
a semi-arid or arid continental climate where the table has several. During development
Kc rises linearly from Kc ini to Kc mid, during the late season it falls linearly to Kc end
(FAO-56 equation 66); before sowing and after the season it is 0 (bare or harvested
field; evaporation from bare soil is not counted). Autumn- and winter-sown wheat and barley
follow FAO-56's winter wheat (a long development stage through the dormancy).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class CropCurve:
    """Kc ini, mid, end and the four stage lengths in days."""

    kc_ini: float
    kc_mid: float
    kc_end: float
    stages: tuple[int, int, int, int]

    def kc(self, day: int) -> float:
        """Kc on `day` days after sowing (0 on the sowing day); 0 outside the season.

        >>> CropCurve(0.3, 1.2, 0.4, (10, 10, 10, 10)).kc(15)
        0.75
        """
        ini, dev, mid, late = self.stages
        if day < 0 or day >= ini + dev + mid + late:
            return 0.0
        if day < ini:
            return self.kc_ini
        if day < ini + dev:
            return self.kc_ini + (day - ini) / dev * (self.kc_mid - self.kc_ini)
        if day < ini + dev + mid:
            return self.kc_mid
        return self.kc_mid + (day - ini - dev - mid) / late * (self.kc_end - self.kc_mid)


CROPS: dict[str, CropCurve] = {
    "wheat": CropCurve(0.3, 1.15, 0.4, (20, 25, 60, 30)),
    "barley": CropCurve(0.3, 1.15, 0.25, (15, 25, 50, 30)),
    "maize": CropCurve(0.3, 1.2, 0.35, (30, 40, 50, 30)),
    "cotton": CropCurve(0.35, 1.18, 0.6, (30, 50, 60, 55)),
    "sugar_beet": CropCurve(0.35, 1.2, 0.7, (25, 35, 50, 50)),
    "potato": CropCurve(0.5, 1.15, 0.75, (25, 30, 45, 30)),
    "beans": CropCurve(0.4, 1.15, 0.35, (20, 30, 40, 20)),
    "alfalfa": CropCurve(0.4, 0.95, 0.9, (10, 30, 150, 30)),
    "rice": CropCurve(1.05, 1.2, 0.9, (30, 30, 60, 30)),
    "sunflower": CropCurve(0.35, 1.0, 0.35, (25, 35, 45, 25)),
    "tobacco": CropCurve(0.5, 1.15, 0.8, (20, 30, 30, 30)),
    "orchard": CropCurve(0.45, 0.95, 0.7, (20, 70, 90, 30)),
    "vegetables": CropCurve(0.7, 1.05, 0.95, (20, 30, 30, 15)),
}
"""FAO-56 curves by crop of `agri_plot_seasons.crop`."""

WINTER_CEREAL = CropCurve(0.4, 1.15, 0.4, (30, 140, 40, 30))
"""FAO-56 Table 11/12 winter wheat: autumn- or winter-sown wheat and barley."""


def curve(crop: str, season: str | None) -> CropCurve | None:
    """The curve of a crop in a season (None: a crop FAO-56 does not list here)."""
    if crop in ("wheat", "barley") and season in ("autumn", "winter"):
        return WINTER_CEREAL
    return CROPS.get(crop)


def mean_kc(crop: str, season: str | None, sowing: dt.date, first: dt.date, days: int) -> float:
    """Mean daily Kc over `days` days from `first` of a crop sown on `sowing`."""
    found = curve(crop, season)
    if found is None:
        return 0.0
    start = (first - sowing).days
    return sum(found.kc(start + i) for i in range(days)) / days
