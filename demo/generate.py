"""`geoportal demo generate`: realistic, deterministic data for the layers that have no open
source, placed on the real geography of Kyrgyzstan.

Each theme module has `generate(ctx: Context) -> dict[str, DataFrame]`: frames keyed by layer
id whose columns are the layer's declared field names (plus an optional integer `id` column
that becomes the feature id) and, for spatial layers, a geometry in EPSG:4326. Themes run in
the order below, so a theme may use what an earlier one produced (`ctx.outputs`).
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from demo.context import SCALES, Context

log = logging.getLogger(__name__)

THEMES: list[tuple[str, str]] = [
    ("roads", "demo.roads"),
    ("agriculture", "demo.agriculture"),
    ("irrigation", "demo.irrigation"),
    ("city", "demo.city"),
    ("cadastre", "demo.cadastre"),
    ("sports", "demo.sports"),
    ("disaster", "demo.disaster"),
]


def generated_dir(data_dir: Path, scale: str, seed: int) -> Path:
    """Where the generated files of a scale and seed are written."""
    return data_dir / "generated" / f"{scale}-seed{seed}"


def layer_file(folder: Path, layer_id: str) -> Path:
    """The file the generators write for a layer (or its restricted table): `<id>.gpkg`.

    >>> layer_file(Path("out"), "roads").as_posix()
    'out/roads.gpkg'
    """
    return folder / f"{layer_id}.gpkg"


def write_layer(frame: pd.DataFrame, path: Path) -> None:
    """Write one layer's frame as a GeoPackage, atomically (tmp file, then rename)."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    tmp.unlink(missing_ok=True)
    if isinstance(frame, gpd.GeoDataFrame):
        pyogrio.write_dataframe(frame.to_crs(4326), tmp, driver="GPKG", layer=path.stem)
    else:
        pyogrio.write_dataframe(pd.DataFrame(frame), tmp, driver="GPKG", layer=path.stem)
    tmp.replace(path)


def generate(
    scale: str,
    seed: int,
    out_dir: Path,
    themes: list[str] | None = None,
    on_theme: Callable[[str, dict[str, int]], None] | None = None,
) -> dict[str, int]:
    """Generate every theme (or those named) into `out_dir`; return feature counts by layer."""
    ctx = Context(scale=SCALES[scale], seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    timings: dict[str, float] = {}
    for theme, module_name in THEMES:
        if themes and theme not in themes:
            continue
        started = time.perf_counter()
        frames = importlib.import_module(module_name).generate(ctx)
        theme_counts = {}
        for layer_id, frame in frames.items():
            ctx.outputs[layer_id] = frame
            write_layer(frame, layer_file(out_dir, layer_id))
            theme_counts[layer_id] = len(frame)
        counts.update(theme_counts)
        timings[theme] = round(time.perf_counter() - started, 2)
        log.info("generated %s in %.1f s: %s", theme, timings[theme], theme_counts)
        if on_theme:
            on_theme(theme, theme_counts)
    manifest = {"scale": scale, "seed": seed, "counts": counts, "seconds": timings}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return counts
