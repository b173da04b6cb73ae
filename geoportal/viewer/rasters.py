"""The raster layers of the viewer's panel: the image bank's products that have a COG.

Each becomes a MapLibre raster source on the map tiles (`/collections/{id}/map/tiles`), a
legend sampled from its colour map, and, when it has several scene dates, a time range for
the time control (`datetime=../date` picks the latest scene up to the chosen date). The
hillshade is on by default, over the basemap's fills: it shades the terrain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geoportal.viewer.attribution import translated_attribution
from layers.catalogue import Catalogue
from layers.model import RasterLayer
from tiles.raster import STYLES, SceneIndex

TMS = "WebMercatorQuad"
DEFAULT_OPACITY = {"hillshade": 0.35}
LEGEND_STOPS = 5


def _hex(rgba: tuple[int, ...]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3])


def legend(raster_id: str) -> dict[str, Any]:
    """Colour swatches at evenly spaced values of the product's rescale range."""
    from rio_tiler.colormap import cmap  # on first use: the server's import stays light

    style = STYLES[raster_id]
    colours = cmap.get(style.colormap)
    low, high = style.rescale
    entries = []
    for step in range(LEGEND_STOPS):
        share = step / (LEGEND_STOPS - 1)
        value = low + share * (high - low)
        entries.append(
            {"value": f"{value:g}", "color": _hex(colours[round(share * 255)]), "symbol": "fill"}
        )
    return {"field": None, "title": style.legend, "entries": entries}


def raster_layer(raster: RasterLayer, base_url: str, dates: list[str]) -> dict[str, Any]:
    """One raster layer of the panel."""
    source = f"raster-{raster.id}"
    opacity = DEFAULT_OPACITY.get(raster.id, 0.8)
    title = {lang: raster.title.get(lang) for lang in ("ky", "ru", "en")}
    return {
        "id": raster.id,
        "kind": "raster",
        "theme": raster.theme,
        "title": title,
        "geometry": None,
        "minzoom": raster.zoom.min,
        "maxzoom": raster.zoom.max,
        "source": source,
        "tiles": None,
        "raster_tiles": f"{base_url}/collections/{raster.id}/map/tiles/{TMS}/{{z}}/{{y}}/{{x}}",
        "style": [
            {
                "id": f"{raster.id}-raster",
                "type": "raster",
                "source": source,
                "paint": {"raster-opacity": opacity},
            }
        ],
        "extrusion": None,
        "legend": legend(raster.id),
        "attribution": raster.attribution,
        "attribution_i18n": translated_attribution(raster.attribution),
        "licence": raster.licence,
        "visible": raster.id == "hillshade",
        "title_field": None,
        "fields": [],
        "time": {"begin": dates[0], "end": dates[-1]} if len(dates) > 1 else None,
        "scene_dates": dates,
        "related": [],
        "items": None,
        "record": None,
        "downloads": {},
    }


def add_raster_layers(
    config: dict[str, Any], catalogue: Catalogue, bank: Path | SceneIndex
) -> None:
    """Append the raster layers with at least one scene to the viewer configuration
    (`bank`: the image bank's root, or a scene index of it kept between requests)."""
    index = bank if isinstance(bank, SceneIndex) else SceneIndex(bank)
    base_url = config["base"]
    for raster in catalogue.rasters:
        if raster.id not in STYLES:
            continue
        dates = [scene.datetime.date().isoformat() for scene in index.scenes(raster.id)]
        if not dates:
            continue
        config["layers"].append(raster_layer(raster, base_url, dates))
        if raster.theme not in {theme["id"] for theme in config["themes"]}:
            config["themes"].append({"id": raster.theme, "title": {"en": raster.theme}})
