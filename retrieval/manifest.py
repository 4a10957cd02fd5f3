"""What a collection holds, file by file, with an intent log that makes ingestion crash-safe.

Protocol for storing a new version of one file (see ``ragloom.retrieval.ingest``):

1. ``begin``: record the intent (new chunk ids to add, old chunk ids to drop) and commit.
2. Upsert the new chunks into Chroma (chunk ids are deterministic, so a retry rewrites the same ids).
3. ``commit``: in one transaction, point the file at its new version, mark the intent committed
   and move the collection's generation on (derived indexes such as BM25 compare it).
4. Delete the old chunks from Chroma, then ``finish`` (forget the intent).

After a crash, ``recover`` undoes intents that never reached step 3 (their new chunks are deleted)
and completes those that did (their old chunks are deleted). Either way Chroma ends up holding
exactly the chunks the manifest lists.

The manifest lives where the rest of the shared state does (``ragloom.core.storage``): in
the shared PostgreSQL database when ``database_url`` is set, so that every worker and replica
writing a collection sees one manifest, else in ``HOME/manifests/NAME.sqlite`` (synchronous=FULL:
a power cut must not lose a commit that Chroma already reflects).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, inspect, select, text, update

from ragloom.core.settings import Settings
from ragloom.core.storage.engines import (
    SqlStore,
    sqlite_engine,
    store_target,
    upsert,
    upsert_returning,
)
from ragloom.core.storage.schema import collection_generations as _generations
from ragloom.core.storage.schema import manifest_files as _files
from ragloom.core.storage.schema import manifest_intents as _intents


@dataclass(frozen=True)
class FileEntry:
    source: str
    content_hash: str
    size: int
    mtime_ns: int
    loader: str
    chunk_ids: tuple[str, ...]
    ingested_at: float


@dataclass(frozen=True)
class Intent:
    source: str
    add_ids: tuple[str, ...]
    drop_ids: tuple[str, ...]
    committed: bool


def manifest_path(settings: Settings, name: str) -> Path:
    return settings.home / "manifests" / f"{name}.sqlite"


def open_manifest(settings: Settings, name: str, *, create: bool = True) -> Manifest | None:
    """The collection's manifest; with ``create=False``, None when it has none yet (one machine:
    reading must not leave an empty SQLite file behind)."""
    path = manifest_path(settings, name)
    if not settings.database and not create and not path.exists():
        return None
    return Manifest(store_target(settings.database, path), name)


def manifest_entries(settings: Settings, name: str) -> list[FileEntry]:
    """The files the collection records (none if it has no manifest), for pages and commands."""
    manifest = open_manifest(settings, name, create=False)
    if manifest is None:
        return []
    try:
        return list(manifest.entries())
    finally:
        manifest.close()


class Manifest(SqlStore):
    tables = [_files, _intents, _generations]

    def __init__(self, target: Path | Engine, collection: str):
        owned = not isinstance(target, Engine)
        if owned:
            target = sqlite_engine(Path(target), self.tables, synchronous="FULL")
            _adopt_legacy(target, collection)
        super().__init__(target)
        self._owned, self.collection = owned, collection

    # reads
    def get(self, source: str) -> FileEntry | None:
        with self.engine.connect() as db:
            row = db.execute(select(*_entry_columns()).where(self._of(_files),
                                                              _files.c.source == source)).first()
        return _entry(row) if row else None

    def entries(self) -> Iterator[FileEntry]:
        with self.engine.connect() as db:
            rows = db.execute(select(*_entry_columns()).where(self._of(_files))
                              .order_by(_files.c.source)).all()
        return (_entry(row) for row in rows)

    def intents(self) -> list[Intent]:
        with self.engine.connect() as db:
            rows = db.execute(select(_intents.c.source, _intents.c.add_ids, _intents.c.drop_ids,
                                     _intents.c.committed).where(self._of(_intents))).all()
        return [Intent(s, tuple(json.loads(a)), tuple(json.loads(d)), bool(c)) for s, a, d, c in rows]

    def generation(self) -> int:
        """Moved on by every commit: derived indexes (BM25) compare it to know they are stale."""
        with self.engine.connect() as db:
            found = db.execute(select(_generations.c.generation)
                               .where(_generations.c.name == self.collection)).scalar()
        return int(found or 0)

    def counts(self) -> tuple[int, int]:
        """(files, chunks) the collection holds."""
        files = chunks = 0
        with self.engine.connect() as db:
            for (ids,) in db.execute(select(_files.c.chunk_ids).where(self._of(_files))):
                files += 1
                chunks += len(json.loads(ids))
        return files, chunks

    # writes: each is one transaction, however many files it covers (fsyncs dominate otherwise)
    def begin(self, intents: list[tuple[str, list[str], list[str]]]) -> None:
        """Record (source, chunk ids to add, chunk ids to drop) for each file about to change."""
        with self.engine.begin() as db:
            for source, add, drop in intents:
                upsert(db, _intents, {"collection": self.collection, "source": source,
                                      "add_ids": json.dumps(add), "drop_ids": json.dumps(drop),
                                      "committed": 0})

    def commit(self, changes: list[tuple[str, FileEntry | None]]) -> None:
        """Point each source at its new entry (None: forget the file), mark the intents committed
        and move the generation on, all in one transaction."""
        with self.engine.begin() as db:
            for source, entry in changes:
                if entry is None:
                    db.execute(delete(_files).where(self._of(_files), _files.c.source == source))
                else:
                    upsert(db, _files, {
                        "collection": self.collection, "source": entry.source,
                        "content_hash": entry.content_hash, "size": entry.size,
                        "mtime_ns": entry.mtime_ns, "loader": entry.loader,
                        "chunk_ids": json.dumps(list(entry.chunk_ids)),
                        "ingested_at": entry.ingested_at})
                db.execute(update(_intents).where(self._of(_intents), _intents.c.source == source)
                           .values(committed=1))
            _bump(db, self.collection)

    def finish(self, sources: list[str]) -> None:
        with self.engine.begin() as db:
            for source in sources:
                db.execute(delete(_intents).where(self._of(_intents), _intents.c.source == source))

    def touch(self, source: str, size: int, mtime_ns: int) -> None:
        """Same content, new timestamps (e.g. after `touch`): remember them to skip hashing next time."""
        with self.engine.begin() as db:
            db.execute(update(_files).where(self._of(_files), _files.c.source == source)
                       .values(size=size, mtime_ns=mtime_ns))

    def forget(self) -> None:
        """Drop the whole manifest (the collection was deleted)."""
        with self.engine.begin() as db:
            db.execute(delete(_files).where(self._of(_files)))
            db.execute(delete(_intents).where(self._of(_intents)))

    def _of(self, table):  # type: ignore[no-untyped-def]
        return table.c.collection == self.collection


def _bump(db: Connection, collection: str) -> None:
    upsert_returning(db, _generations, {"name": collection, "generation": 1, "updated": time.time()},
                     {"generation": _generations.c.generation + 1, "updated": time.time()},
                     _generations.c.generation)


def _entry_columns():  # type: ignore[no-untyped-def]
    c = _files.c
    return (c.source, c.content_hash, c.size, c.mtime_ns, c.loader, c.chunk_ids, c.ingested_at)


def _entry(row) -> FileEntry:  # type: ignore[no-untyped-def]
    source, digest, size, mtime_ns, loader, ids, at = row
    return FileEntry(source, digest, int(size), int(mtime_ns), loader, tuple(json.loads(ids)), at)


def _adopt_legacy(engine: Engine, collection: str) -> None:
    """Move a manifest file written before the shared storage layer (tables ``files``,
    ``intents``, ``state``) into the current tables, once, in one transaction."""
    if "files" not in inspect(engine).get_table_names():
        return
    with engine.begin() as db:
        db.execute(text("INSERT OR REPLACE INTO manifest_files SELECT :c, source, content_hash, "
                        "size, mtime_ns, loader, chunk_ids, ingested_at FROM files"),
                   {"c": collection})
        db.execute(text("INSERT OR REPLACE INTO manifest_intents SELECT :c, source, add_ids, "
                        "drop_ids, committed FROM intents"), {"c": collection})
        found = db.execute(text("SELECT value FROM state WHERE key = 'generation'")).scalar()
        if found is not None:
            upsert(db, _generations, {"name": collection, "generation": int(found),
                                      "updated": time.time()})
        for legacy in ("files", "intents", "state"):
            db.execute(text(f"DROP TABLE {legacy}"))


def now() -> float:
    return time.time()
