"""Archive checks (no member is decompressed) and the upload folders' sweep."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from geoportal.uploads import stale_uploads, upload_of
from ingestion.archive import (
    ArchiveBombError,
    ArchiveLimits,
    TooManyEntriesError,
    UnreadableArchiveError,
    UnsafeEntryNameError,
    check_archive,
    is_zip,
)

LIMITS = ArchiveLimits(max_entries=5, max_ratio=100, max_uncompressed_bytes=50 * 1024**2)


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_a_shapefile_zip_passes(tmp_path: Path) -> None:
    parts = {f"roads.{ext}": os.urandom(2000) for ext in ("shp", "shx", "dbf", "prj")}
    summary = check_archive(_zip(tmp_path / "roads.zip", parts), LIMITS)
    assert summary.entries == 4 and summary.uncompressed_bytes == 8000
    assert is_zip(tmp_path / "roads.zip")


@pytest.mark.parametrize(
    ("entries", "error", "words"),
    [
        ({"a.txt": bytes(5 * 1024**2)}, ArchiveBombError, "expands"),
        ({f"{i}.txt": b"x" for i in range(6)}, TooManyEntriesError, "6 entries"),
        ({"../a.shp": b"x"}, UnsafeEntryNameError, "climbs out"),
        ({"dir/../../a.shp": b"x"}, UnsafeEntryNameError, "climbs out"),
        ({"/etc/passwd": b"x"}, UnsafeEntryNameError, "absolute"),
        ({"C:/windows/a.dll": b"x"}, UnsafeEntryNameError, "absolute"),
        ({"..\\..\\a.shp": b"x"}, UnsafeEntryNameError, "climbs out"),
    ],
)
def test_refused_archives_name_the_problem(tmp_path: Path, entries, error, words) -> None:
    with pytest.raises(error, match=words):
        check_archive(_zip(tmp_path / "x.zip", entries), LIMITS)


def test_total_size_is_bounded(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_uncompressed_bytes=10_000)
    with pytest.raises(ArchiveBombError, match="at most 10000"):
        check_archive(_zip(tmp_path / "x.zip", {"a.bin": os.urandom(20_000)}), limits)


def test_a_broken_zip_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(UnreadableArchiveError):
        check_archive(path, LIMITS)


def test_stale_uploads_are_those_of_ended_jobs_and_old_orphans(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    folders = {name: root / name for name in ("running", "done", "dismissed", "orphan", "new")}
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "f.geojson").write_text("{}")
    os.utime(folders["orphan"], (0, 0))
    states = {
        str(folders["running"] / "f.geojson"): "running",
        str(folders["done"] / "f.geojson"): "successful",
        str(folders["dismissed"] / "f.geojson"): "dismissed",
        "/elsewhere/f.geojson": "successful",
    }
    stale = stale_uploads(root, states, orphan_after_s=3600)
    assert {p.name for p in stale} == {"done", "dismissed", "orphan"}
    assert upload_of(root, "/elsewhere/f.geojson") is None
    assert upload_of(root, root / "x" / "f.gpkg") == (root / "x").resolve()
