"""Saving uploaded files safely: sanitised names that can never leave the upload folder."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from core.settings import Settings
from retrieval.uploads import path_inside, safe_filename


class Upload(Protocol):
    """What Streamlit's UploadedFile offers and we use."""

    name: str

    def getvalue(self) -> bytes: ...


def upload_dir(settings: Settings, collection: str) -> Path:
    return settings.home / "uploads" / safe_filename(collection)


def save_uploads(files: list[Upload], dest: Path) -> list[Path]:
    """Write each upload under ``dest`` (same name: replaced, so re-ingesting updates it)."""
    dest.mkdir(parents=True, exist_ok=True)
    saved = []
    for f in files:
        path = path_inside(dest, safe_filename(f.name))
        path.write_bytes(f.getvalue())
        saved.append(path)
    return saved
