"""Write the crafted zips of this folder (run from the repository root:
`python tests/data/bad/make_zips.py`); `tests/ingestion/test_archive.py` checks that the
committed files are what this script writes.

- `lying_sizes.zip`: one entry, `sensors.geojson`, 8 MiB of spaces deflated to about 8 KB
  (an expansion of about 1,000), whose central directory and local header both declare an
  uncompressed size of 1,000 bytes: a directory-only check sees a ratio of 0.1.
- `lying_name.zip`: one entry, `sensors.geojson` in the central directory, but
  `../../x.geojson` in its local header (an extractor that trusts the local header writes
  outside its folder).
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
NAME = b"sensors.geojson"
LOCAL_USIZE = 22
"""Offset of the uncompressed size in a local file header (APPNOTE 4.3.7)."""
CENTRAL_USIZE = 24
"""Offset of the uncompressed size in a central directory header (APPNOTE 4.3.12)."""
DECLARED = 1000


def _zip(data: bytes) -> bytearray:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(NAME.decode(), date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, data)
    return bytearray(buffer.getvalue())


def lying_sizes() -> bytes:
    """The zip bomb whose headers understate its size."""
    raw = _zip(b" " * (8 << 20))
    local = raw.index(b"PK\x03\x04")
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<L", raw, local + LOCAL_USIZE, DECLARED)
    struct.pack_into("<L", raw, central + CENTRAL_USIZE, DECLARED)
    return bytes(raw)


def lying_name() -> bytes:
    """The zip whose local header names a file outside the folder."""
    raw = _zip(b'{"type": "FeatureCollection", "features": []}')
    local = raw.index(b"PK\x03\x04") + 30
    evil = b"../../x.geojson"
    assert len(evil) == len(NAME) and raw[local : local + len(NAME)] == NAME
    raw[local : local + len(NAME)] = evil
    return bytes(raw)


CRAFTED = {"lying_sizes.zip": lying_sizes, "lying_name.zip": lying_name}


if __name__ == "__main__":
    for name, make in CRAFTED.items():
        (HERE / name).write_bytes(make())
