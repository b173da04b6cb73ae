"""Checks of an uploaded archive before anything opens its content (GDAL reads a zipped
Shapefile through `/vsizip/`, which would expand a zip bomb as readily as a real file).

Only the zip's central directory is read (no member is decompressed): the number of entries,
each entry's name (no absolute path, no `..`, no drive letter, no symbolic link), each
entry's expansion ratio and the total uncompressed size, all against `ArchiveLimits`.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from ingestion.errors import IngestionError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
"""A zip starts with a local file header, or (an empty zip) the end of central directory."""
RATIO_FLOOR_BYTES = 1 << 20
"""Entries that expand to less than this are never called bombs (tiny files compress well)."""


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
    """Check a zip archive's directory against `limits` without decompressing anything.

    Raises:
        UnreadableArchiveError: not a readable zip.
        TooManyEntriesError: more than `max_entries` entries.
        UnsafeEntryNameError: an absolute name, `..`, or a symbolic link.
        ArchiveBombError: an entry over 1 MiB expanding more than `max_ratio` times, the
            whole archive expanding more than that, or more than `max_uncompressed_bytes`.
    """
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
    for info in infos:
        check_entry_name(info.filename)
        if _is_symlink(info):
            raise UnsafeEntryNameError(f"archive entry {info.filename!r} is a symbolic link")
        ratio = info.file_size / max(info.compress_size, 1)
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
    names = tuple(info.filename for info in infos)
    return ArchiveSummary(len(infos), compressed, total, names)
