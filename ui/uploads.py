"""Saving uploaded files safely: sanitised names that can never leave the upload folder."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Protocol

from core.errors import IngestError
from core.settings import Settings

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 120


class Upload(Protocol):
    """What Streamlit's UploadedFile offers and we use."""

    name: str

    def getvalue(self) -> bytes: ...


def safe_name(name: str) -> str:
    """A file name with no directory parts, no leading dots and only portable characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", base).lstrip("._-")
    if not base:
        raise IngestError("the file name has no usable characters", subject=repr(name),
                          fix="rename the file (letters, digits, dots, dashes) and upload it again")
    stem, dot, ext = base.rpartition(".")
    if len(base) > MAX_NAME:  # keep the extension: it picks the loader
        base = (stem[: MAX_NAME - len(ext) - 1] + "." + ext) if dot else base[:MAX_NAME]
    return base


def upload_dir(settings: Settings, collection: str) -> Path:
    return settings.home / "uploads" / safe_name(collection)


def save_uploads(files: list[Upload], dest: Path) -> list[Path]:
    """Write each upload under ``dest`` (same name: replaced, so re-ingesting updates it)."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    saved = []
    for f in files:
        path = (root / safe_name(f.name)).resolve()
        if path.parent != root:  # belt and braces: safe_name already strips directories
            raise IngestError("refusing a file name that points outside the upload folder",
                              subject=f.name)
        path.write_bytes(f.getvalue())
        saved.append(path)
    return saved
