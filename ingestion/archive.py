"""Checks of an uploaded archive, and its bounded extraction, before anything opens its
content (GDAL never reads an upload through `/vsizip/`: it reads what `extract_archive` wrote).

`check_archive` first reads the zip's central directory: the number of entries, each entry's
name (no absolute path, no `..`, no drive letter, no symbolic link), each entry's declared
expansion ratio and the declared total size, all against `ArchiveLimits`. The directory's
sizes are the sender's claim, so it then streams every entry through the decompressor
without trusting them: the real decompressed bytes are counted as they come, and the
archive is refused as soon as an entry's real expansion ratio or the real total crosses its
limit, whatever the headers say; an entry whose local header names another file than the
central directory (a path traversal hidden in the local header) is refused too.
`extract_archive` does the same while writing the entries into a folder.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import shutil
import stat
import struct
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from ingestion.errors import IngestionError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
"""A zip starts with a local file header, or (an empty zip) the end of central directory."""
RATIO_FLOOR_BYTES = 1 << 20
"""Entries that expand to less than this are never called bombs (tiny files compress well)."""
CHUNK_BYTES = 1 << 20
"""Decompressed bytes read at a time while an entry is streamed."""
LOCAL_HEADER = struct.Struct("<4s5H3L2H")
"""A zip local file header (APPNOTE 4.3.7): signature ... name length, extra length."""
UTF8_FLAG = 0x800


class ArchiveError(IngestionError):
    """An uploaded archive is refused (base class)."""


class UnreadableArchiveError(ArchiveError):
    """The file claims to be a zip but its directory cannot be read."""


class TooManyEntriesError(ArchiveError):
    """The archive holds more entries than allowed."""


class ArchiveBombError(ArchiveError):
    """An entry (or the whole archive) expands more than allowed: a zip bomb."""


class UnsafeEntryNameError(ArchiveError):
    """An entry's name is absolute, climbs out with `..`, or is a symbolic link."""


class ArchiveLimits(BaseModel):
    """Bounds of an uploaded archive (`GEOPORTAL_UPLOADS__ARCHIVE__...`)."""

    model_config = {"frozen": True}

    max_entries: int = Field(default=10_000, ge=1, description="Most entries in one archive.")
    max_ratio: float = Field(
        default=100.0,
        gt=1,
        description="Largest expansion (uncompressed / compressed size) of an entry over "
        "1 MiB, and of the archive as a whole: beyond it the archive is taken for a zip bomb.",
    )
    max_uncompressed_bytes: int = Field(
        default=20 * 1024**3,
        ge=1024,
        description="Largest total uncompressed size of an archive's entries.",
    )


@dataclass(frozen=True)
class ArchiveSummary:
    """What a checked archive holds."""

    entries: int
    compressed_bytes: int
    uncompressed_bytes: int
    names: tuple[str, ...]


def is_zip(path: Path) -> bool:
    """True when the file starts like a zip archive (whatever its name)."""
    with path.open("rb") as handle:
        return handle.read(4) in ZIP_MAGIC


def check_entry_name(name: str) -> None:
    """Refuse a name that would land outside the folder it is extracted to.

    >>> check_entry_name("roads/roads.shp")
    >>> check_entry_name("../x")
    Traceback (most recent call last):
    ...
    ingestion.archive.UnsafeEntryNameError: archive entry '../x' climbs out of the archive (..)
    """
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        raise UnsafeEntryNameError(f"archive entry {name!r} has an absolute path")
    if ".." in PurePosixPath(posix).parts:
        raise UnsafeEntryNameError(f"archive entry {name!r} climbs out of the archive (..)")
    if "\x00" in name:
        raise UnsafeEntryNameError(f"archive entry {name!r} has a NUL character in its name")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    """Unix mode bits in the entry's external attributes say symbolic link."""
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def check_archive(path: Path, limits: ArchiveLimits) -> ArchiveSummary:
    """Check a zip archive against `limits`: its central directory first, then every entry
    streamed through the decompressor (nothing written), its real bytes counted.

    Raises:
        UnreadableArchiveError: not a readable zip.
        TooManyEntriesError: more than `max_entries` entries.
        UnsafeEntryNameError: an absolute name, `..`, or a symbolic link.
        ArchiveBombError: an entry over 1 MiB expanding more than `max_ratio` times, the
            whole archive expanding more than that, or more than `max_uncompressed_bytes`,
            by the directory's sizes or by the bytes really decompressed.
        UnsafeEntryNameError: also a local header naming another file than the directory.
    """
    infos = _check_directory(path, limits)
    names = tuple(info.filename for info in infos)
    compressed = sum(info.compress_size for info in infos)
    real = _stream_entries(path, limits, None)
    return ArchiveSummary(len(infos), compressed, real, names)


def _check_directory(path: Path, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    """The central directory's checks (nothing decompressed); its entries."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableArchiveError(f"{path.name}: not a readable zip archive ({exc})") from exc
    if len(infos) > limits.max_entries:
        raise TooManyEntriesError(
            f"{path.name}: {len(infos)} entries, at most {limits.max_entries} are accepted"
        )
    total = compressed = 0
    archive_bytes = path.stat().st_size  # what a compressed size can really be
    for info in infos:
        check_entry_name(info.filename)
        if _is_symlink(info):
            raise UnsafeEntryNameError(f"archive entry {info.filename!r} is a symbolic link")
        ratio = info.file_size / max(min(info.compress_size, archive_bytes), 1)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
            raise ArchiveBombError(
                f"archive entry {info.filename!r} expands {ratio:.0f} times "
                f"({info.compress_size} to {info.file_size} bytes), at most "
                f"{limits.max_ratio:g} is accepted"
            )
        total += info.file_size
        compressed += info.compress_size
    if total > limits.max_uncompressed_bytes:
        raise ArchiveBombError(
            f"{path.name}: expands to {total} bytes, at most "
            f"{limits.max_uncompressed_bytes} are accepted"
        )
    if total > RATIO_FLOOR_BYTES and total / max(compressed, 1) > limits.max_ratio:
        raise ArchiveBombError(
            f"{path.name}: expands {total / max(compressed, 1):.0f} times as a whole, at most "
            f"{limits.max_ratio:g} is accepted"
        )
    return infos


def extract_archive(path: Path, limits: ArchiveLimits) -> Path:
    """Check `path` (`check_archive`'s directory checks) and extract it into a new temporary
    folder, counting the real decompressed bytes as they are written: the extraction stops
    (and the folder is removed) as soon as a limit is crossed. The caller removes the
    folder when done (`shutil.rmtree`).

    Raises:
        The errors of `check_archive`.
    """
    _check_directory(path, limits)
    folder = Path(tempfile.mkdtemp(prefix="geoportal-unzip-"))
    try:
        _stream_entries(path, limits, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _local_name(handle: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    """The entry's name as its local file header writes it."""
    fp = handle.fp
    assert fp is not None
    fp.seek(info.header_offset)
    header = fp.read(LOCAL_HEADER.size)
    if len(header) != LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise UnreadableArchiveError(f"archive entry {info.filename!r} has no local header")
    fields = LOCAL_HEADER.unpack(header)
    raw = fp.read(fields[9])
    return raw.decode("utf-8" if fields[2] & UTF8_FLAG else "cp437", errors="replace")


def _stream_entries(path: Path, limits: ArchiveLimits, folder: Path | None) -> int:
    """Decompress every entry (into `folder`, or nowhere), counting the real bytes against
    `limits` as they come; the total."""
    total = compressed = 0
    archive_bytes = path.stat().st_size  # a compressed size may lie too: never above this
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                local = _local_name(archive, info)
                if local != info.filename and local != info.orig_filename:
                    raise UnsafeEntryNameError(
                        f"archive entry {info.filename!r} is named {local!r} in its local "
                        "header: the two names of an entry must agree"
                    )
                packed = min(info.compress_size, archive_bytes)
                compressed = min(compressed + packed, archive_bytes)
                count = functools.partial(
                    _check_counts, path, info, limits, (total, packed, compressed)
                )
                total += _stream_entry(archive, info, folder, count, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise UnreadableArchiveError(f"{path.name}: not a readable zip archive ({exc})") from exc
    except (RuntimeError, ValueError) as exc:  # encrypted entries, among others
        raise UnreadableArchiveError(f"{path.name}: an entry cannot be read ({exc})") from exc
    return total


def _stream_entry(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    folder: Path | None,
    count: Callable[[int], None],
    limits: ArchiveLimits,
) -> int:
    """One entry decompressed a chunk at a time; `count(bytes so far)` after each chunk.
    The declared size is not trusted: the reader is told the entry may be as large as the
    total limit allows (so a smaller declared size does not cut the stream short)."""
    unbounded = copy.copy(info)
    unbounded.file_size = limits.max_uncompressed_bytes + 2 * CHUNK_BYTES
    target = None
    if folder is not None:
        target = folder / info.filename.replace("\\", "/")
        if folder.resolve() not in target.resolve().parents:  # names are checked; twice
            raise UnsafeEntryNameError(f"archive entry {info.filename!r} leaves the folder")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            return 0
        target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with archive.open(unbounded) as entry, _sink(target) as out:
        while chunk := entry.read(CHUNK_BYTES):
            size += len(chunk)
            count(size)
            if out is not None:
                out.write(chunk)
    return size


def _sink(target: Path | None) -> Any:
    """The file an entry is written to, or nothing (the scan of an upload)."""
    return target.open("xb") if target is not None else contextlib.nullcontext()


def _check_counts(
    path: Path,
    info: zipfile.ZipInfo,
    limits: ArchiveLimits,
    sizes: tuple[int, int, int],
    size: int,
) -> None:
    """Refuse as soon as the real bytes cross a limit: `size` bytes of this entry so far;
    `sizes`: the real bytes of the entries before it, this entry's compressed bytes and
    those of all entries so far (both at most the archive's size)."""
    before, packed, compressed = sizes
    total = before + size
    ratio = size / max(packed, 1)
    if size > RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
        raise ArchiveBombError(
            f"archive entry {info.filename!r} expands more than {limits.max_ratio:g} times "
            f"({packed} compressed bytes gave over {size} bytes, though its "
            f"directory declares {info.file_size}); at most {limits.max_ratio:g} is accepted"
        )
    if total > limits.max_uncompressed_bytes:
        raise ArchiveBombError(
            f"{path.name}: expands to more than {limits.max_uncompressed_bytes} bytes "
            f"(counted while decompressing), at most {limits.max_uncompressed_bytes} are "
            "accepted"
        )
    if total > RATIO_FLOOR_BYTES and total / max(compressed, 1) > limits.max_ratio:
        raise ArchiveBombError(
            f"{path.name}: expands more than {limits.max_ratio:g} times as a whole (counted "
            f"while decompressing), at most {limits.max_ratio:g} is accepted"
        )
