"""Rural cadastral parcels (outside Bishkek and Osh), in EPSG:4326, without their codes
(`zoning.py` codes them): agricultural parcels (a sample of `agri_plots` when the agriculture
theme ran, else fields generated around villages), village lots, industry and transport,
reserve, forest, protected and water-fund land."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from demo.cadastre.cover import SEGMENT_M
from demo.city import to_multi
from demo.city.parcels import registered_dates
from demo.context import UTM_43N, Context

AGRI_SHARE = 0.25
"""Share of the agricultural plots (or of `scale.plots`) registered as cadastral parcels."""
LARGE_PARCELS = {  # category: (parcels per place and scale factor, distance km, area ha,
    #                          elevation m, designated uses)
    "industry_transport": (
        1.5,
        (0.6, 1.6),
        (0.5, 6),
        (0, 3500),
        ("industrial", "transport", "energy", "communications"),
    ),
    "reserve": (0.6, (4, 9), (50, 400), (0, 3500), ("state_reserve",)),
    "forest": (0.8, (5, 12), (20, 300), (1500, 3000), ("forest_fund",)),
    "specially_protected": (
        0.25,
        (8, 20),
        (200, 3000),
        (1800, 4000),
        ("nature_park", "nature_reserve"),
    ),
}


def rural_parcels(
    ctx: Context, rng: np.random.Generator, city_areas: gpd.GeoSeries
) -> gpd.GeoDataFrame:
    """Parcels outside the two cities, in EPSG:4326: agricultural parcels (a sample of
    `agri_plots` when the agriculture theme ran, else fields generated around villages),
    village lots, industry and transport, reserve, forest, protected and water-fund land."""
    places = _places(ctx, city_areas)
    agri = ctx.outputs.get("agri_plots")
    parts = [
        _from_agri_plots(ctx, agri, rng)
        if agri is not None and len(agri)
        else _fields(ctx, places, rng),
        _village_lots(ctx, places, rng),
    ]
    parts += [_large(ctx, places, category, spec, rng) for category, spec in LARGE_PARCELS.items()]
    parts.append(_water_strips(ctx, rng))
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=UTM_43N)
    frame = _without_conflicts(ctx, frame, city_areas.to_crs(UTM_43N))
    frame["registered_on"] = registered_dates(rng, frame.year.to_numpy())
    frame["address"] = None
    # edges of at most SEGMENT_M: a long edge straight in metres bows in degrees, and the
    # topology check reads the stored parcel back in metres (see `cover.py`)
    frame = frame.set_geometry(shapely.segmentize(frame.geometry.to_numpy(), SEGMENT_M))
    out = frame.to_crs(4326)
    exact = out.original.notna().to_numpy()
    geoms = out.geometry.to_numpy()
    geoms[exact] = out.original.to_numpy()[exact]
    out["geometry"] = to_multi(geoms)
    return out.drop(columns=["year", "original"])


def _places(ctx: Context, city_areas: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """GeoNames places outside the two cities, in UTM 43N."""
    places = ctx.settlements.sort_values("geonameid")
    outside = ~places.geometry.intersects(city_areas.union_all())
    return ctx.to_metric(places[outside]).reset_index(drop=True)


def _rural_frame(
    geoms: np.ndarray,
    category: str,
    use: np.ndarray | str,
    year: int,
    plot_code: np.ndarray | None = None,
    original: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Rural parcels in UTM 43N; `original`: their exact EPSG:4326 geometry, if given."""
    return gpd.GeoDataFrame(
        {
            "land_category": category,
            "designated_use": use,
            "agri_plot_code": plot_code,
            "year": year,
            "original": original,
        },
        index=pd.RangeIndex(len(geoms)),
        geometry=geoms,
        crs=UTM_43N,
    )


def _agri_use(ctx: Context, geoms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Irrigated arable land, orchards and hay in the valleys; rain-fed arable land, hay and
    pasture above 1,400 m."""
    points = gpd.GeoSeries(shapely.point_on_surface(geoms), crs=UTM_43N).to_crs(4326)
    low = ctx.elevation_at(points.x.to_numpy(), points.y.to_numpy()) < 1400
    n = len(geoms)
    valley = rng.choice(
        ["arable_irrigated", "perennial_plantings", "hayfield"], n, p=[0.75, 0.12, 0.13]
    )
    upland = rng.choice(["arable_rainfed", "hayfield", "pasture"], n, p=[0.45, 0.3, 0.25])
    return np.where(low, valley, upland)


def _from_agri_plots(
    ctx: Context, agri: pd.DataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """A sample of the agriculture theme's plots, same geometry; use from their irrigation
    (else from elevation)."""
    plots = gpd.GeoDataFrame(agri, crs=getattr(agri, "crs", None) or 4326).to_crs(4326)
    plots = plots[rng.random(len(plots)) < AGRI_SHARE]
    original = plots.geometry.to_numpy()
    plots = ctx.to_metric(plots)
    geoms = plots.geometry.to_numpy()
    use = _agri_use(ctx, geoms, rng)
    if "irrigation" in plots.columns:  # irrigated or rain_fed, as the plot says
        n = len(plots)
        wet = rng.choice(["arable_irrigated", "perennial_plantings"], n, p=[0.85, 0.15])
        dry = rng.choice(["arable_rainfed", "hayfield", "pasture"], n, p=[0.6, 0.25, 0.15])
        use = np.where(plots.irrigation.eq("irrigated").to_numpy(), wet, dry)
    codes = plots.plot_code.astype(str).to_numpy() if "plot_code" in plots.columns else None
    return _rural_frame(geoms, "agricultural", use, 1999, codes, original)


def _local_rects(
    centres: np.ndarray,
    angles: np.ndarray,
    owner: np.ndarray,
    u0: np.ndarray,
    v0: np.ndarray,
    u1: np.ndarray,
    v1: np.ndarray,
) -> np.ndarray:
    """Rectangles given in each owner's frame (origin at its centre, turned by its angle)."""
    boxes = shapely.box(u0, v0, u1, v1)
    coords, index = shapely.get_coordinates(boxes, return_index=True)
    cos, sin = np.cos(angles[owner][index]), np.sin(angles[owner][index])
    x = centres[owner][index, 0] + coords[:, 0] * cos - coords[:, 1] * sin
    y = centres[owner][index, 1] + coords[:, 0] * sin + coords[:, 1] * cos
    return shapely.polygons(shapely.linearrings(np.column_stack([x, y]), indices=index))


def _fields(ctx: Context, places: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Fields of 250-450 m x 120-250 m in a ring 1.2-4.5 km around each village (when the
    agriculture theme did not run)."""
    n = len(places)
    per_place = int(np.ceil(ctx.scale.plots * AGRI_SHARE / n))
    w, h = rng.uniform(250, 450, n), rng.uniform(120, 250, n)
    i, j = np.meshgrid(np.arange(-12, 12), np.arange(-24, 24), indexing="ij")
    owner = np.repeat(np.arange(n), i.size)
    cu, cv = np.tile(i.ravel(), n) * w[owner], np.tile(j.ravel(), n) * h[owner]
    r = np.hypot(cu + w[owner] / 2, cv + h[owner] / 2)
    ring = (r > 1200) & (r < 4500)
    owner, cu, cv = owner[ring], cu[ring], cv[ring]
    keys = r[ring] + rng.uniform(0, 1500, len(owner))  # inner fields first, ragged edge
    rank = pd.Series(keys).groupby(owner).rank(method="first").to_numpy()
    pick = rank <= per_place
    owner, cu, cv = owner[pick], cu[pick], cv[pick]
    centres = shapely.get_coordinates(places.geometry.to_numpy())
    geoms = _local_rects(
        centres,
        rng.uniform(0, np.pi / 2, n),
        owner,
        cu + 6,
        cv + 6,
        cu + w[owner] - 6,
        cv + h[owner] - 6,
    )
    return _rural_frame(geoms, "agricultural", _agri_use(ctx, geoms, rng), 1999)


def _village_lots(
    ctx: Context, places: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """House and garden lots (10 sotok, 25 m x 40 m) in pairs of rows along village lanes."""
    n = len(places)
    side = max(2, int(round(np.sqrt(36 * ctx.scale.factor))))
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    owner = np.repeat(np.arange(n), i.size)
    i, j = np.tile(i.ravel(), n), np.tile(j.ravel(), n)
    u0 = i * 25.0 - side * 12.5
    v0 = j * 40.0 + (j // 2) * 12.0 - side * 26.0
    centres = shapely.get_coordinates(places.geometry.to_numpy())
    geoms = _local_rects(centres, rng.uniform(0, np.pi / 2, n), owner, u0, v0, u0 + 25, v0 + 40)
    use = rng.choice(
        [
            "household_plot",
            "individual_housing",
            "commercial",
            "education",
            "healthcare",
            "public_administration",
        ],
        len(geoms),
        p=[0.7, 0.2, 0.05, 0.02, 0.01, 0.02],
    )
    return _rural_frame(geoms, "settlements", use, 1999)


def _star(centres: np.ndarray, radius: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Irregular star-shaped (hence simple) polygons of 9 vertices."""
    n = len(centres)
    angles = np.sort(rng.uniform(0, 2 * np.pi, (n, 9)), axis=1)
    r = radius[:, None] * rng.uniform(0.7, 1.3, (n, 9))
    x = centres[:, [0]] + r * np.cos(angles)
    y = centres[:, [1]] + r * np.sin(angles)
    ring = np.stack([np.concatenate([x, x[:, :1]], 1), np.concatenate([y, y[:, :1]], 1)], -1)
    return shapely.polygons(ring)


def _large(
    ctx: Context, places: gpd.GeoDataFrame, category: str, spec: tuple, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Parcels of one non-agricultural category at some distance from the villages."""
    rate, (d0, d1), (a0, a1), (e0, e1), uses = spec
    counts = rng.poisson(rate * ctx.scale.factor, len(places))
    owner = np.repeat(np.arange(len(places)), counts)
    m = len(owner)
    angle, dist = rng.uniform(0, 2 * np.pi, m), rng.uniform(d0, d1, m) * 1000
    centres = shapely.get_coordinates(places.geometry.to_numpy())[owner]
    centres = centres + np.column_stack([np.cos(angle), np.sin(angle)]) * dist[:, None]
    radius = np.sqrt(rng.uniform(a0, a1, m) * 1e4 / np.pi)
    lonlat = gpd.GeoSeries(shapely.points(centres), crs=UTM_43N).to_crs(4326)
    elevation = ctx.elevation_at(lonlat.x.to_numpy(), lonlat.y.to_numpy())
    ok = (elevation >= e0) & (elevation <= e1)
    geoms = _star(centres[ok], radius[ok], rng)
    return _rural_frame(geoms, category, rng.choice(uses, len(geoms)), 2002)


def _water_strips(ctx: Context, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Water-fund strips: 100 m along the shores of Issyk-Kul and Toktogul and 50 m either
    side of the Naryn, in pieces of about 1.2 km."""
    lakes = ctx.to_metric(ctx.lakes).geometry.union_all()
    rivers = ctx.to_metric(ctx.rivers).geometry.union_all()
    strips = [
        (lakes.boundary, lakes.boundary.buffer(100).difference(lakes)),
        (rivers, rivers.buffer(50)),
    ]
    pieces = []
    for line, strip in strips:
        count = int(round(12 * ctx.scale.factor))
        points = shapely.line_interpolate_point(line, rng.random(count), normalized=True)
        boxes = shapely.buffer(points, 600, cap_style="square")
        pieces.extend(shapely.intersection(boxes, strip))
    geoms = np.array([_polygon_part(g) for g in pieces], dtype=object)
    geoms = geoms[~shapely.is_empty(geoms)]
    return _rural_frame(geoms, "water", "water_protection_zone", 2005)


def _polygon_part(geom: shapely.Geometry) -> shapely.Geometry:
    """The largest polygon of a geometry (empty if it has none)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area) if parts else shapely.Polygon()


def _without_conflicts(
    ctx: Context, frame: gpd.GeoDataFrame, cities: gpd.GeoSeries
) -> gpd.GeoDataFrame:
    """Drop parcels outside the country, in a lake or a city, or overlapping an earlier
    parcel (agricultural parcels come first)."""
    geoms = shapely.make_valid(frame.geometry.to_numpy())
    frame = frame.set_geometry(geoms)
    country = ctx.to_metric(ctx.country).geometry.union_all()
    lakes = ctx.to_metric(ctx.lakes).geometry.union_all()
    shapely.prepare(country)
    ok = np.isin(shapely.get_type_id(geoms), [3, 6]) & shapely.is_valid(geoms)
    ok &= shapely.contains_properly(country, geoms)
    ok &= ~shapely.intersects(geoms, cities.union_all())
    wet = ok & shapely.intersects(geoms, lakes)
    ok[wet] = shapely.area(shapely.intersection(geoms[wet], lakes)) < 1.0
    frame = frame[ok].reset_index(drop=True)
    geoms = frame.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    overlap = shapely.area(shapely.intersection(geoms[left], geoms[right])) > 1e-3
    drop = np.zeros(len(frame), dtype=bool)
    drop[right[overlap]] = True
    return frame[~drop].reset_index(drop=True)
