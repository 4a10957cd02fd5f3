"""Saving uploaded files safely: sanitised names that can never leave the upload folder, each file
saved or refused on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ragloom.core.errors import IngestError
from ragloom.core.private import private_dir, private_file
from ragloom.core.settings import Settings
from ragloom.retrieval.uploads import path_inside, safe_filename, split_duplicates


class Upload(Protocol):
    """What Streamlit's UploadedFile offers and we use."""

    name: str

    def getvalue(self) -> bytes: ...


def upload_dir(settings: Settings, collection: str) -> Path:
    return settings.home / "uploads" / safe_filename(collection)


def save_batch(files: list[Upload], dest: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Write each upload under ``dest`` (an earlier upload of the same name is replaced, so
    re-ingesting updates it); returns the saved paths and ``(name, reason)`` for each upload
    refused: a name with no usable characters, or a second file of one name in this batch."""
    named, refused = name_batch(files)
    private_dir(dest)  # uploaded documents: for this user only
    saved = []
    for f, name in named:
        path = path_inside(dest, name)
        part = path.with_name(f".{name}.part")
        private_file(part).write_bytes(f.getvalue())  # 0600 before a byte is written
        part.replace(path)  # a half-written upload is never ingested
        saved.append(path)
    return saved, refused


def name_batch(files: list[Upload]) -> tuple[list[tuple[Upload, str]], list[tuple[str, str]]]:
    """Each upload to keep with its safe stored name, and ``(name, reason)`` for each refused:
    a name with no usable characters, or a second file of one name in this batch."""
    refused: list[tuple[str, str]] = []
    named: list[tuple[Upload, str]] = []
    for f in files:
        try:
            named.append((f, safe_filename(f.name)))
        except IngestError as exc:
            refused.append((f.name, str(exc)))
    keep, duplicates = split_duplicates([name for _, name in named])
    return [named[i] for i in keep], refused + duplicates


def save_uploads(files: list[Upload], dest: Path) -> list[Path]:
    """The saved paths of ``save_batch`` (refused uploads are left out)."""
    return save_batch(files, dest)[0]
