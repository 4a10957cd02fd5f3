"""Uploaded file names that can never leave their folder (shared by the web app and the API)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from core.errors import IngestError

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
