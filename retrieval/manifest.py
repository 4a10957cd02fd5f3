"""What a collection holds, file by file, with an intent log that makes ingestion crash-safe.

Protocol for storing a new version of one file (see ``ragloom.retrieval.ingest``):

1. ``begin``: record the intent (new chunk ids to add, old chunk ids to drop) and commit.
2. Upsert the new chunks into Chroma (chunk ids are deterministic, so a retry rewrites the same ids).
3. ``commit``: in one transaction, point the file at its new version and mark the intent committed.
4. Delete the old chunks from Chroma, then ``finish`` (forget the intent).

After a crash, ``recover`` undoes intents that never reached step 3 (their new chunks are deleted)
and completes those that did (their old chunks are deleted). Either way Chroma ends up holding
exactly the chunks the manifest lists.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ragloom.core.private import private_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    loader TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    ingested_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS intents (
    source TEXT PRIMARY KEY,
    add_ids TEXT NOT NULL,
    drop_ids TEXT NOT NULL,
    committed INTEGER NOT NULL DEFAULT 0
);
"""


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


class Manifest:
    """A SQLite file (WAL mode, synchronous=FULL) beside the index."""

    def __init__(self, path: Path):
        private_file(path)  # 0600 in a 0700 folder before SQLite opens it
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # reads
    def get(self, source: str) -> FileEntry | None:
        row = self._db.execute("SELECT * FROM files WHERE source = ?", (source,)).fetchone()
        return _entry(row) if row else None

    def entries(self) -> Iterator[FileEntry]:
        for row in self._db.execute("SELECT * FROM files ORDER BY source"):
            yield _entry(row)

    def intents(self) -> list[Intent]:
        rows = self._db.execute("SELECT source, add_ids, drop_ids, committed FROM intents")
        return [Intent(s, tuple(json.loads(a)), tuple(json.loads(d)), bool(c)) for s, a, d, c in rows]

    def generation(self) -> int:
        """Bumped by every commit: derived indexes (BM25) compare it to know they are stale."""
        row = self._db.execute("SELECT value FROM state WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def counts(self) -> tuple[int, int]:
        """(files, chunks) the collection holds."""
        files = chunks = 0
        for (ids,) in self._db.execute("SELECT chunk_ids FROM files"):
            files += 1
            chunks += len(json.loads(ids))
        return files, chunks

    # writes: each is one transaction, however many files it covers (fsyncs dominate otherwise)
    def begin(self, intents: list[tuple[str, list[str], list[str]]]) -> None:
        """Record (source, chunk ids to add, chunk ids to drop) for each file about to change."""
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO intents (source, add_ids, drop_ids, committed) "
                "VALUES (?, ?, ?, 0)",
                [(src, json.dumps(add), json.dumps(drop)) for src, add, drop in intents])

    def commit(self, changes: list[tuple[str, FileEntry | None]]) -> None:
        """Point each source at its new entry (None: forget the file); mark the intents committed."""
        with self._transaction():
            for source, entry in changes:
                if entry is None:
                    self._db.execute("DELETE FROM files WHERE source = ?", (source,))
                else:
                    self._db.execute(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (entry.source, entry.content_hash, entry.size, entry.mtime_ns, entry.loader,
                         json.dumps(list(entry.chunk_ids)), entry.ingested_at))
                self._db.execute("UPDATE intents SET committed = 1 WHERE source = ?", (source,))
            self._db.execute("INSERT INTO state VALUES ('generation', 1) "
                             "ON CONFLICT(key) DO UPDATE SET value = value + 1")

    def finish(self, sources: list[str]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM intents WHERE source = ?", [(s,) for s in sources])

    def touch(self, source: str, size: int, mtime_ns: int) -> None:
        """Same content, new timestamps (e.g. after `touch`): remember them to skip hashing next time."""
        self._db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE source = ?",
                         (size, mtime_ns, source))

    def _transaction(self):  # type: ignore[no-untyped-def]
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _entry(row: tuple) -> FileEntry:  # type: ignore[type-arg]
    source, digest, size, mtime_ns, loader, ids, at = row
    return FileEntry(source, digest, size, mtime_ns, loader, tuple(json.loads(ids)), at)


def now() -> float:
    return time.time()
