"""One writer per collection at a time, across threads, processes, workers and replicas.

Ingestion is crash-safe on its own, but two writers of one collection would race on its manifest
and BM25 index. ``ingest``, ``ingest_records`` and ``reindex`` take this lock, so every caller
(CLI, web app, API jobs, queue workers, evaluation suites) writes a collection one at a time.

With ``database_url`` set the lock is a PostgreSQL session advisory lock, which every machine
sharing the database sees and which the server releases by itself if the holder's connection dies;
without one it is ``flock`` on ``HOME/locks/COLLECTION.lock`` (one machine, or a shared HOME).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import text

from ragloom.core.private import private_dir
from ragloom.core.settings import Settings

# The first key of PostgreSQL's two-key advisory locks: ragloom's collection writers (the
# two-key space does not overlap the one-key locks that prompt labels take).
_LOCK_CLASS = 0x7261_676C  # "ragl"


@contextlib.contextmanager
def collection_write_lock(settings: Settings, collection: str,
                          on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the collection's write lock; ``on_wait`` is called once if another writer has it."""
    lock = _database_lock if settings.database else _file_lock
    with lock(settings, collection, on_wait):
        yield


@contextlib.contextmanager
def _database_lock(settings: Settings, collection: str,
                   on_wait: Callable[[], None] | None) -> Iterator[None]:
    from ragloom.core.storage.engines import shared_engine

    key = {"c": _LOCK_CLASS, "n": collection}
    # A connection of its own, held for the whole write: session locks belong to the session.
    with shared_engine(settings.database).connect() as db:  # type: ignore[arg-type]
        if not db.execute(text("SELECT pg_try_advisory_lock(:c, hashtext(:n))"), key).scalar():
            if on_wait is not None:
                on_wait()
            db.execute(text("SELECT pg_advisory_lock(:c, hashtext(:n))"), key)
        db.commit()  # not inside a transaction while the write runs (idle-in-transaction)
        try:
            yield
        finally:
            db.execute(text("SELECT pg_advisory_unlock(:c, hashtext(:n))"), key)
            db.commit()


@contextlib.contextmanager
def _file_lock(settings: Settings, collection: str,
               on_wait: Callable[[], None] | None) -> Iterator[None]:
    folder = Path(settings.home) / "locks"
    private_dir(folder)
    # flock belongs to the open file, so two threads of one process also exclude each other.
    with (folder / f"{collection}.lock").open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
