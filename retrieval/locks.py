"""One writer per collection at a time, across threads, processes and replicas sharing HOME.

Ingestion is crash-safe on its own, but two writers of one collection would race on its manifest
and BM25 index. ``ingest``, ``ingest_records`` and ``reindex`` take this lock, so every caller
(CLI, web app, API jobs, evaluation suites) writes a collection one at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path

from ragloom.core.private import private_dir


@contextlib.contextmanager
def collection_write_lock(home: Path, collection: str,
                          on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold ``HOME/locks/COLLECTION.lock``; ``on_wait`` is called once if another writer has it."""
    folder = Path(home) / "locks"
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
