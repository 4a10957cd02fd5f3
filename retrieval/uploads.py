"""Uploads shared by the web app and the API: file names that can never leave their folder, one
stored name per batch, no refused upload left on disk, and the bytes of queued uploads in the
shared database for whichever worker ingests them."""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from pathlib import Path

from sqlalchemy import delete, select

from ragloom.core.errors import IngestError
from ragloom.core.private import private_file
from ragloom.core.settings import Settings
from ragloom.core.storage.engines import SqlStore, shared_engine, upsert
from ragloom.core.storage.schema import uploads as _uploads

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_NAME = 160
UPLOAD_SCHEME = "upload://"


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


def discard_unindexed(saved: list[Path], settings: Settings, collection: str) -> list[Path]:
    """Delete saved uploads that the collection's manifest does not record (refused, skipped, or
    the ingest stopped), so nothing of a refused upload stays on disk. An upload that replaced an
    indexed earlier version is kept: the index still points at it."""
    from ragloom.retrieval.manifest import open_manifest

    if not saved:
        return []
    manifest = open_manifest(settings, collection, create=False)
    try:
        gone = [p for p in saved if manifest is None or manifest.get(str(p.resolve())) is None]
    finally:
        if manifest is not None:
            manifest.close()
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


class UploadStore(SqlStore):
    """Queued uploads' bytes in the shared database, as ``(collection, name)`` rows: the replica
    that received an upload stores it, and whichever worker takes the job ingests it from here
    as ``upload://NAME``. Rows of files that ended up not indexed are discarded."""

    tables = [_uploads]

    @classmethod
    def shared(cls, settings: Settings) -> UploadStore:
        if not settings.database:
            raise IngestError("queued uploads need the shared database",
                              fix="set RAGLOOM_DATABASE_URL=postgresql://…, or ingest in-process")
        return cls(shared_engine(settings.database))

    def put(self, collection: str, name: str, content: bytes) -> None:
        with self.engine.begin() as db:
            upsert(db, _uploads, {"collection": collection, "name": name, "content": content,
                                  "sha256": hashlib.sha256(content).hexdigest(),
                                  "size": len(content), "created": time.time()})

    def names(self, collection: str) -> list[str]:
        with self.engine.connect() as db:
            return list(db.execute(select(_uploads.c.name).where(_uploads.c.collection == collection)
                                   .order_by(_uploads.c.name)).scalars())

    def write_to(self, collection: str, names: list[str], folder: Path) -> list[Path]:
        """Write the named uploads into ``folder`` (one row in memory at a time)."""
        written = []
        for name in names:
            with self.engine.connect() as db:
                content = db.execute(select(_uploads.c.content).where(
                    _uploads.c.collection == collection, _uploads.c.name == name)).scalar()
            if content is None:
                continue  # discarded meanwhile (a later sync upload): nothing to ingest
            path = path_inside(folder, name)
            with private_file(path).open("wb") as sink:
                sink.write(content)
            written.append(path)
        return written

    def discard(self, collection: str, names: list[str]) -> None:
        with self.engine.begin() as db:
            db.execute(delete(_uploads).where(_uploads.c.collection == collection,
                                              _uploads.c.name.in_(names)))

    def forget(self, collection: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(_uploads).where(_uploads.c.collection == collection))


def upload_source(name: str) -> str:
    """The manifest source of a queued upload: the same on every worker."""
    return f"{UPLOAD_SCHEME}{name}"
