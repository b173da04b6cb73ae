"""Dask arrays over rasterio windows, and the scheduler they run on.

A raster band becomes a lazy `dask.array` whose every chunk is one windowed read, so no step
holds more than a few chunks in memory. The functions mapped over chunks are module-level
and take file paths (never open datasets), so they pickle to the worker processes of a
distributed cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dask
import dask.array as da
import numpy as np
import rasterio
from rasterio.windows import Window

from imagery.errors import ClusterError

DEFAULT_CHUNK = 1024
"""Chunk side in pixels: a float32 chunk is 4 MiB."""


def _read_window(path: str, band: int, dtype: str, block_info: dict | None = None) -> np.ndarray:
    """One chunk of a band, read through a window (the chunk's place comes from Dask)."""
    assert block_info is not None
    (row0, row1), (col0, col1) = block_info[None]["array-location"]
    with rasterio.open(path) as src:
        window = Window(col0, row0, col1 - col0, row1 - row0)
        return src.read(band, window=window, boundless=True, fill_value=0).astype(dtype)


def read_band(path: str, band: int = 1, chunk: int = DEFAULT_CHUNK) -> da.Array:
    """A band of a raster file as a lazy Dask array of `chunk` x `chunk` windows."""
    with rasterio.open(path) as src:
        shape = (src.height, src.width)
        dtype = src.dtypes[band - 1]
    chunks = da.core.normalize_chunks((chunk, chunk), shape)
    return da.map_blocks(
        _read_window, path, band, dtype, chunks=chunks, dtype=dtype, meta=np.empty((0, 0), dtype)
    )


def row_slabs(array: da.Array) -> Iterator[tuple[int, int]]:
    """(first row, end row) of each row of chunks: the unit written at once."""
    start = 0
    for height in array.chunks[0]:
        yield start, start + height
        start += height


@contextlib.contextmanager
def scheduler(address: str | None = None) -> Iterator[str]:
    """Run the Dask computations inside on local threads (`address` None) or on the
    distributed cluster whose scheduler listens at `address` (`tcp://host:8786`).

    Yields a short description of the scheduler.

    Raises:
        ClusterError: no scheduler answers at `address` within 10 s.
    """
    if not address:
        with dask.config.set(scheduler="threads"):
            yield "local threads"
        return
    from distributed import Client  # only when a cluster is asked for

    try:
        client = Client(address, timeout="10s", set_as_default=True)
    except OSError as exc:
        raise ClusterError(f"no Dask scheduler answers at {address}: {exc}") from exc
    try:
        yield f"Dask cluster {address} ({len(client.scheduler_info()['workers'])} workers)"
    finally:
        client.close()
