"""The scene pipeline on a real Dask distributed cluster (two worker processes): the same
COGs as on local threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from distributed import LocalCluster

from demo.imagery.scenes import SceneSpec
from imagery import catalog
from imagery.blocks import scheduler
from imagery.errors import ClusterError
from imagery.pipeline import ingest_scene
from tests.support.imagery import BEFORE, make_scene


def test_ingest_on_a_local_cluster(tmp_path: Path) -> None:
    truth = make_scene(tmp_path / "src", SceneSpec(BEFORE, clouds=1))
    with scheduler(None):
        local = ingest_scene(truth.path, tmp_path / "threads", chunk=32)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, memory_limit="512MiB",
        dashboard_address=None, worker_dashboard_address=None,
    ) as cluster:  # fmt: skip
        with scheduler(cluster.scheduler_address) as where:
            assert "2 workers" in where
            remote = ingest_scene(truth.path, tmp_path / "cluster", chunk=32)
            workers = cluster.scheduler_info["workers"]
            assert len(workers) == 2
    for name in ("ndvi", "nbr"):
        paths = [
            catalog.asset_path(tmp_path / d, name, local.scene.id) for d in ("threads", "cluster")
        ]
        a, b = (rasterio.open(p).read(1) for p in paths)
        assert np.array_equal(a, b, equal_nan=True)
    assert remote.scene.properties["eo:cloud_cover"] == local.scene.properties["eo:cloud_cover"]


def test_an_unreachable_scheduler_is_named() -> None:
    with pytest.raises(ClusterError, match="tcp://127.0.0.1:9"):
        with scheduler("tcp://127.0.0.1:9"):
            pass
