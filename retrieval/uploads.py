"""Uploads shared by the web app and the API: file names that can never leave their folder, one
stored name per batch, and no refused upload left on disk."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ragloom.core.errors import IngestError

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_NAME = 160


def safe_filename(raw: str | None) -> str:
    """A plain, portable file name: no directory parts, no leading dots, ASCII letters, digits,
    spaces, dots, dashes and underscores only; long names keep their extension (it picks the loader).

    ``../../etc/passwd`` -> ``passwd``; ``C:\\x\\..\\Résumé (1).pdf`` -> ``Resume _1_.pdf``.
    """
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", base).strip(" ").lstrip("._-").rstrip(" .")
    if not base.strip("._- "):
        raise IngestError("the file name has no usable characters", subject=repr(raw),
                          fix="give the file a name with letters or digits, e.g. report.pdf")
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 \
            else base[:MAX_NAME]
    return base


def path_inside(folder: Path, name: str) -> Path:
    """``folder/name``, checked to resolve directly inside ``folder`` (defence in depth)."""
    root = folder.resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise IngestError("the file name leaves the upload folder", subject=repr(name),
                          fix="use a plain file name")
    return path


def split_duplicates(names: list[str]) -> tuple[list[int], list[tuple[str, str]]]:
    """Indices of the uploads to keep (the first of each stored name) and, for every later one,
    ``(name, reason)``: two uploads saved under one name would overwrite each other."""
    first: dict[str, int] = {}
    keep, refused = [], []
    for index, name in enumerate(names):
        if name in first:
            refused.append((name, f"duplicate name in this upload: an earlier file is also stored "
                            f"as {name!r} and is ingested instead. Fix: rename this file and "
                            "upload it again"))
        else:
            first[name] = index
            keep.append(index)
    return keep, refused


def discard_unindexed(saved: list[Path], manifest_file: Path) -> list[Path]:
    """Delete saved uploads that the collection's manifest does not record (refused, skipped, or
    the ingest stopped), so nothing of a refused upload stays on disk. An upload that replaced an
    indexed earlier version is kept: the index still points at it."""
    from ragloom.retrieval.manifest import Manifest  # sqlite; only needed once something was saved

    if not saved:
        return []
    manifest = Manifest(manifest_file) if manifest_file.exists() else None
    try:
        gone = [p for p in saved if manifest is None or manifest.get(str(p.resolve())) is None]
    finally:
        if manifest is not None:
            manifest.close()
    for path in gone:
        path.unlink(missing_ok=True)
    return gone
