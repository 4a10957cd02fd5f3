"""Refuse ZIP-based documents (DOCX) that would inflate past set limits, before any reader opens them.

A 1 MB ``.docx`` can hold a ``word/document.xml`` that inflates to 1 GiB; python-docx reads every
part into memory and lxml then parses the XML at several times its size. ``check_zip`` reads only
the ZIP directory: the member count from the end record (before ``zipfile`` builds one object per
member), then the total and per-member uncompressed sizes and the compression ratio.

Header sizes are enough because ``zipfile`` never inflates a member past the size its directory
entry declares (it truncates there and then fails the CRC check), and python-docx reads members
through ``zipfile``. ZIP is the only archive ragloom reads: XLSX, PPTX, ODT, EPUB, gzip and other
archives are refused by ``ragloom.retrieval.formats`` without being unpacked. PDFs hold compressed streams
too: ``ragloom.retrieval.pdfstreams`` checks them with the same limits.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ragloom.core.errors import IngestError

if TYPE_CHECKING:
    from ragloom.core.settings import RetrievalSettings

_MB = 1024 * 1024
# Small members are exempt from the ratio check: a 40 KB styles.xml may well compress 200:1, and
# the total-size limit bounds them anyway.
RATIO_FLOOR = 1 * _MB
_SETTING = "retrieval.{0} (RAGLOOM_RETRIEVAL__{1})"


@dataclass(frozen=True)
class ArchiveLimits:
    """Mirrors ``RetrievalSettings.max_unpacked_mb`` / ``max_archive_members`` /
    ``max_compression_ratio``; the defaults here are the settings' defaults."""

    max_unpacked_mb: float = 256.0
    max_members: int = 10_000
    max_ratio: float = 100.0

    @classmethod
    def of(cls, retrieval: RetrievalSettings) -> ArchiveLimits:
        return cls(retrieval.max_unpacked_mb, retrieval.max_archive_members,
                   retrieval.max_compression_ratio)


def refuse(path: Path, what: str, setting: str) -> IngestError:
    name = _SETTING.format(setting, setting.upper())
    return IngestError(f"refused as a possible decompression bomb: {what}", subject=str(path),
                       fix=f"raise {name} if you trust the file, or re-save it in its application")


def _declared_members(path: Path) -> int | None:
    """Member count from the end-of-central-directory record (ZIP64 aware); None if absent."""
    with path.open("rb") as handle:
        end = zipfile._EndRecData(handle)  # type: ignore[attr-defined]  # private, stable since 2.x
    return None if end is None else int(end[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]


def check_zip(path: Path, limits: ArchiveLimits) -> None:
    """Raise IngestError if the ZIP at ``path`` exceeds ``limits``; a damaged ZIP passes (the
    format check that follows names it)."""
    try:
        members = _declared_members(path)
    except OSError:
        return
    if members is None:
        return
    if members > limits.max_members:
        raise refuse(path, f"{members} archive members, over the limit of {limits.max_members}",
                      "max_archive_members")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    if len(infos) > limits.max_members:  # the end record can understate the directory
        raise refuse(path, f"{len(infos)} archive members, over the limit of {limits.max_members}",
                      "max_archive_members")
    ceiling = limits.max_unpacked_mb * _MB
    total = sum(info.file_size for info in infos)
    if total > ceiling:
        biggest = max(infos, key=lambda info: info.file_size)
        raise refuse(path, f"unpacks to {total / _MB:,.1f} MB ({biggest.filename}: "
                      f"{biggest.file_size / _MB:,.1f} MB), over the limit of "
                      f"{limits.max_unpacked_mb:g} MB", "max_unpacked_mb")
    packed = sum(info.compress_size for info in infos)
    for info in [*infos, None]:  # each large member, then the archive as a whole
        size, stored = (info.file_size, info.compress_size) if info else (total, packed)
        ratio = size / max(stored, 1)
        if size > RATIO_FLOOR and ratio > limits.max_ratio:
            label = info.filename if info else "the archive"
            raise refuse(path, f"{label} is compressed {ratio:,.0f}:1 ({size / _MB:,.0f} MB from "
                          f"{stored / 1024:,.0f} KB), over the limit of {limits.max_ratio:g}:1",
                          "max_compression_ratio")
