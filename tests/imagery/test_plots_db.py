"""NDVI per plot in PostGIS: the demo season (synthetic scenes over the demo plots) through the
pipeline, statistics as exactextract computes them, z-scores against the plots of the same crop
and rayon, anomalies and change layers served by the Features API; the `imagery.ingest` job."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from demo.imagery.scenes import SceneSpec
from demo.imagery.season import SeasonResult, load_season
from geoportal.db.database import Database
from geoportal.job_kinds import job_kinds
from geoportal.settings import Settings
from imagery import bank, catalog, db
from imagery.zonal import zonal_statistics
from jobs import JobStatus, queue
from jobs.settings import JobSettings
from jobs.worker import Worker
from tests.support.imagery import BEFORE, clear_pipeline_tables, make_scene
from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def season(
    loaded: Database, generated: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SeasonResult, Path]]:
    """The demo season at 128 pixels, loaded; its rows removed afterwards (other tests
    replace agri_plots)."""
    data = tmp_path_factory.mktemp("imagery-data")
    result = load_season(loaded.owner_conninfo, data, generated, size=128)
    yield result, data
    clear_pipeline_tables(loaded.owner_conninfo)


def test_season_fills_the_layers(season: tuple[SeasonResult, Path], loaded: Database) -> None:
    result, data = season
    assert len(result.scenes) == 4 and result.plot_rows > 0
    assert result.burned_areas >= 1
    assert result.terrain == ["aspect", "elevation", "hillshade", "slope"]
    with psycopg.connect(loaded.owner_conninfo) as conn:
        rows = conn.execute(
            "SELECT count(*), count(crop), count(z_score_rayon), min(valid_share), "
            "max(valid_share), count(DISTINCT scene_id) FROM agriculture.agri_plot_ndvi"
        ).fetchone()
    assert rows is not None
    total, with_crop, with_z, low, high, scenes = rows
    assert total == result.plot_rows and scenes == 4
    assert with_crop > 0.8 * total and with_z > 0
    assert 0 <= low <= high <= 1
    collections = {item.collection_id for item in catalog.items(data)}
    assert collections == {
        "sentinel-2-l2a", "landsat-c2-l2", "ndvi", "ndwi", "nbr",
        "elevation", "slope", "aspect", "hillshade",
    }  # fmt: skip


def test_stored_statistics_are_exactextracts(
    season: tuple[SeasonResult, Path], loaded: Database
) -> None:
    result, data = season
    scene = result.scenes[0]
    with psycopg.connect(loaded.owner_conninfo) as conn:
        item = catalog.get_item(data, "sentinel-2-l2a", scene)
        assert item is not None and item.bbox is not None
        plots = db.read_plots(conn, tuple(item.bbox))
        stored = conn.execute(
            "SELECT plot_id, ndvi_mean, ndvi_p90, valid_share FROM agriculture.agri_plot_ndvi "
            "WHERE scene_id = %s ORDER BY plot_id",
            [scene],
        ).fetchall()
    direct = zonal_statistics(str(catalog.asset_path(data, "ndvi", scene)), plots)
    direct = direct.sort_values("id").reset_index(drop=True)
    assert [r[0] for r in stored] == direct["id"].tolist()
    means = np.array([np.nan if r[1] is None else r[1] for r in stored])
    assert np.allclose(means, direct["mean"].to_numpy(), equal_nan=True)
    assert np.allclose([r[3] for r in stored], direct["valid_share"].to_numpy())


def test_z_scores_by_crop_and_rayon(season: tuple[SeasonResult, Path], loaded: Database) -> None:
    result, _ = season
    with psycopg.connect(loaded.owner_conninfo) as conn:
        rows = conn.execute(
            "SELECT n.id, n.crop, p.rayon, n.ndvi_mean, n.z_score_rayon, n.observed_on "
            "FROM agriculture.agri_plot_ndvi n JOIN agriculture.agri_plots p ON p.id = n.plot_id "
            "WHERE n.scene_id = %s AND n.valid_share >= 0.5 AND n.ndvi_mean IS NOT NULL "
            "AND n.crop IS NOT NULL",
            [result.scenes[1]],
        ).fetchall()
        anomalies = conn.execute(
            "SELECT count(*), count(geom) FROM agriculture.agri_plot_ndvi_anomalies "
            "WHERE scene_id = %s",
            [result.scenes[1]],
        ).fetchone()
    groups: dict[tuple[str, str], list[float]] = {}
    for _, crop, rayon, mean, _, _ in rows:
        groups.setdefault((crop, rayon), []).append(mean)
    checked = 0
    for _, crop, rayon, mean, z, _ in rows:
        peers = np.array(groups[(crop, rayon)])
        if len(peers) >= 3 and peers.std(ddof=1) > 0:
            assert z == pytest.approx((mean - peers.mean()) / peers.std(ddof=1), abs=1e-9)
            checked += 1
        else:
            assert z is None
    assert checked > 0
    below = sum(1 for r in rows if r[4] is not None and r[4] < -2)
    assert anomalies == (below, below) and below > 0


def test_features_api_serves_the_layers(
    season: tuple[SeasonResult, Path], live_server: LiveServer
) -> None:
    with live_server.client() as client:
        table = client.get("/collections/agri_plot_ndvi/items", params={"limit": 3, "f": "json"})
        assert table.status_code == 200, table.text
        feature = table.json()["features"][0]
        assert feature["geometry"] is None and "ndvi_mean" in feature["properties"]
        for layer in ("agri_plot_ndvi_anomalies", "burned_areas", "landscape_changes"):
            answer = client.get(f"/collections/{layer}/items", params={"limit": 2, "f": "json"})
            assert answer.status_code == 200, answer.text
            features = answer.json()["features"]
            assert features and features[0]["geometry"]["type"] == "MultiPolygon", layer


def test_ingest_job(
    loaded: Database, settings: Settings, tmp_path: Path, queue_conn: psycopg.Connection
) -> None:
    truth = make_scene(tmp_path / "src", SceneSpec(BEFORE, "landsat", clouds=1))
    kind = job_kinds(settings)["imagery.ingest"]
    job = queue.submit(queue_conn, kind, {"path": str(truth.path)}, owner="cli")
    fast = JobSettings(heartbeat_s=0.2, stale_after_s=1, poll_s=0.2)
    try:
        Worker(loaded.owner_conninfo, job_kinds(settings), fast).run_once()
        done = queue.get_job(queue_conn, job.id)
        assert done.status == JobStatus.SUCCESSFUL, done.message
        assert done.results["collection"] == "landsat-c2-l2"
        assert done.results["products"] == ["nbr", "ndvi", "ndwi"]
        assert catalog.get_item(settings.data_dir, "ndvi", done.results["item"]) is not None
        missing = queue.submit(queue_conn, kind, {"path": str(tmp_path / "none")}, owner="cli")
        Worker(loaded.owner_conninfo, job_kinds(settings), fast).run_once()
        failed = queue.get_job(queue_conn, missing.id)
        assert failed.status == JobStatus.FAILED and "no scene" in (failed.message or "")
    finally:
        clear_pipeline_tables(loaded.owner_conninfo)
        _forget_scene(loaded, settings, truth.path.name)


def _forget_scene(loaded: Database, settings: Settings, item_id: str) -> None:
    """Take the job's scene out of the server's image bank again (files and pgstac), so
    that tests of the serving side see their own scenes only."""
    with psycopg.connect(loaded.owner_conninfo) as conn:
        for collection in ("landsat-c2-l2", "ndvi", "ndwi", "nbr"):
            shutil.rmtree(catalog.item_dir(settings.data_dir, collection, item_id), True)
            try:
                with conn.transaction():
                    bank.delete_item(conn, item_id, collection)
            except psycopg.Error:
                pass  # not published (the job failed before): nothing to take out
