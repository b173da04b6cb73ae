"""Archive checks (the central directory, then the bytes really decompressed), bounded
extraction, and the upload folders' sweep."""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest

from geoportal.uploads import stale_uploads, upload_of
from ingestion.archive import (
    ArchiveBombError,
    ArchiveError,
    ArchiveLimits,
    TooManyEntriesError,
    UnreadableArchiveError,
    UnsafeEntryNameError,
    check_archive,
    extract_archive,
    is_zip,
)

BAD = Path(__file__).parents[1] / "data" / "bad"

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


def test_a_shapefile_zip_is_extracted_whole(tmp_path: Path) -> None:
    parts = {f"roads/roads.{ext}": os.urandom(3000) for ext in ("shp", "shx", "dbf")}
    folder = extract_archive(_zip(tmp_path / "roads.zip", parts), LIMITS)
    try:
        assert {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")} == (
            parts
        )
    finally:
        shutil.rmtree(folder)


def test_sizes_the_directory_understates_are_counted_while_decompressing() -> None:
    path = BAD / "lying_sizes.zip"
    with zipfile.ZipFile(path) as archive:
        (info,) = archive.infolist()
    assert info.file_size == 1000 < info.compress_size  # what a directory-only check sees
    with pytest.raises(ArchiveBombError, match="expands more than 100 times") as caught:
        check_archive(path, LIMITS)
    assert "declares 1000" in str(caught.value)
    small = ArchiveLimits(max_ratio=10_000, max_uncompressed_bytes=2 * 1024**2)
    with pytest.raises(ArchiveBombError, match="more than 2097152 bytes"):
        check_archive(path, small)


def test_extraction_stops_at_the_limit_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    small = ArchiveLimits(max_ratio=10_000, max_uncompressed_bytes=2 * 1024**2)
    with pytest.raises(ArchiveBombError, match="counted while decompressing"):
        extract_archive(BAD / "lying_sizes.zip", small)
    assert list(tmp_path.iterdir()) == []


def test_a_local_header_naming_another_file_is_refused(tmp_path: Path, monkeypatch) -> None:
    path = BAD / "lying_name.zip"
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["sensors.geojson"]  # the directory looks harmless
    with pytest.raises(UnsafeEntryNameError, match=r"named '\.\./\.\./x\.geojson' in its local"):
        check_archive(path, LIMITS)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(UnsafeEntryNameError):
        extract_archive(path, LIMITS)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "error"),
    [("lying_sizes.zip", ArchiveBombError), ("lying_name.zip", UnsafeEntryNameError)],
)
def test_the_script_writes_zips_refused_as_the_committed_ones(
    tmp_path: Path, name: str, error: type[Exception]
) -> None:
    spec = importlib.util.spec_from_file_location("make_zips", BAD / "make_zips.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    fresh = tmp_path / name
    fresh.write_bytes(script.CRAFTED[name]())
    for path in (fresh, BAD / name):
        with pytest.raises(error):
            check_archive(path, LIMITS)


def _patched(source: Path, target: Path, header: bytes, offset: int, fmt: str, value: int) -> Path:
    """`source` with one field of its first `header` (local or central) set to `value`."""
    raw = bytearray(source.read_bytes())
    struct.pack_into(fmt, raw, raw.index(header) + offset, value)
    target.write_bytes(bytes(raw))
    return target


def test_an_overstated_compressed_size_is_refused_before_any_extraction(
    tmp_path: Path, monkeypatch
) -> None:
    central, compressed_size = b"PK\x01\x02", 20  # APPNOTE 4.3.12
    path = _patched(
        BAD / "lying_sizes.zip", tmp_path / "x.zip", central, compressed_size, "<L", 10**9
    )
    with zipfile.ZipFile(path) as archive:
        assert archive.infolist()[0].compress_size == 10**9  # a ratio of 0.008 declared
    with pytest.raises(ArchiveError):
        check_archive(path, LIMITS)
    out = tmp_path / "tmp"
    out.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(out))
    with pytest.raises(ArchiveError):
        extract_archive(path, LIMITS)
    assert list(out.iterdir()) == []


def test_an_encrypted_entry_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    plain = _zip(tmp_path / "plain.zip", {"a.geojson": b"{}"})
    local = _patched(plain, tmp_path / "l.zip", b"PK\x03\x04", 6, "<H", 1)  # flag: encrypted
    both = _patched(local, tmp_path / "x.zip", b"PK\x01\x02", 8, "<H", 1)
    with pytest.raises(UnreadableArchiveError, match="encrypted"):
        check_archive(both, LIMITS)
