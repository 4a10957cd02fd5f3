"""Ingest jobs: uploads are ingested in a background thread, one job at a time per process.

Each job's state (status, progress, per-file errors, the ``host:pid`` running it) is written to
SQLite under ``HOME/api`` at every progress event, so any process sharing the data folder can
report it, and a job whose process died (on the same host) is shown as ``interrupted`` (re-running
the upload resumes cleanly: ingestion is incremental and crash-safe).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ragloom.core.private import private_file
from ragloom.core.processes import as_polled, process_tag
from ragloom.core.settings import Settings

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, collection TEXT NOT NULL, owner TEXT NOT NULL,
  created REAL NOT NULL, state TEXT NOT NULL);
"""


class IngestJobs:
    def __init__(self, settings: Settings, embeddings_of: Callable[[Settings], Any]):
        self.settings, self._embeddings_of = settings, embeddings_of
        path = settings.home / "api" / "jobs.sqlite"
        private_file(path)  # 0600 in a 0700 folder before SQLite opens it
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        # One writer per process: ingestion of a collection must not run twice at once.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._db.close()

    def _save(self, job_id: str, state: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE jobs SET state = ? WHERE id = ?", (json.dumps(state), job_id))

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT collection, owner, created, state FROM jobs WHERE id = ?",
                                   (job_id,)).fetchone()
        if row is None:
            return None
        state = json.loads(row[3])
        tag = state.pop("process", None)  # not shown: clients need not know host names
        state = as_polled(state, tag, "upload the files again: ingestion skips what was stored")
        return {"id": job_id, "collection": row[0], "owner": row[1], "created": row[2], **state}

    def submit(self, collection: str, paths: list[Path], owner: str, *, sync: bool = False,
               uploaded: list[Path] | None = None, refused: list[tuple[str, str]] | None = None
               ) -> str:
        """Queue an ingest of ``paths``. ``uploaded`` files that end up not indexed are deleted
        afterwards; ``refused`` (name, reason) pairs are reported as failed files of the job."""
        job_id = uuid.uuid4().hex[:16]
        state = {"status": "queued", "files_total": len(paths), "files_done": 0,
                 "chunks_added": 0, "ingested": [], "unchanged": [], "removed": [],
                 "failed": [{"file": n, "reason": r} for n, r in refused or []], "skipped": [],
                 "error": None, "fix": None, "finished": None, "redacted": {},
                 "process": process_tag()}
        with self._lock, self._db:
            self._db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?)",
                             (job_id, collection, owner, time.time(), json.dumps(state)))
        self._pool.submit(self._run, job_id, collection, paths, sync, state, uploaded or [])
        return job_id

    def _run(self, job_id: str, collection: str, paths: list[Path], sync: bool,
             state: dict[str, Any], uploaded: list[Path]) -> None:
        from ragloom.retrieval.collections import manifest_path
        from ragloom.retrieval.uploads import discard_unindexed

        try:
            self._ingest(job_id, collection, paths, sync, state)
        finally:  # a refused upload leaves nothing behind
            discard_unindexed(uploaded, manifest_path(self.settings, collection))
        state["finished"] = time.time()
        self._save(job_id, state)

    def _ingest(self, job_id: str, collection: str, paths: list[Path], sync: bool,
                state: dict[str, Any]) -> None:
        from ragloom.api.errors import describe
        from ragloom.retrieval.collections import Collection
        from ragloom.retrieval.ingest import Progress, ingest

        def progress(p: Progress) -> None:
            # ingest() holds the collection's write lock by now: until then the job is "queued"
            # (another worker or replica may be writing the same collection).
            state.update(status="running", files_done=p.files_done, files_total=p.files_total,
                         chunks_added=p.chunks_added)
            self._save(job_id, state)

        try:
            col = Collection(self.settings, collection, self._embeddings_of(self.settings))
            report = ingest(paths, col, sync=sync, on_progress=progress,
                            workers=self.settings.retrieval.ingest_workers or 1)
            names = {str(p.resolve()): p.name for p in paths}
            failed = state["failed"] + [{"file": Path(p).name, "reason": _without_paths(r, paths)}
                                        for p, r in report.failed]
            state.update(
                status="done" if not failed else "done_with_errors",
                ingested=[names.get(s, s) for s in report.ingested],
                unchanged=[names.get(s, s) for s in report.unchanged],
                removed=[names.get(s, s) for s in report.removed],
                failed=failed,
                skipped=[{"file": Path(p).name, "reason": _without_paths(r, paths)}
                         for p, r in report.skipped],
                chunks_added=report.chunks_added,
                redacted=dict(report.redacted))
        except Exception as exc:  # the job records why; the server carries on
            _, error, fix = describe(exc)
            log.warning("ingest job %s failed: %s", job_id, error)
            state.update(status="failed", error=error, fix=fix)


def _without_paths(reason: str, paths: list[Path]) -> str:
    """A per-file reason without the server's folders (clients know their files by name)."""
    for p in paths:
        folder = p.resolve() if p.is_dir() else p.resolve().parent
        reason = reason.replace(f"{folder}/", "")
    return reason
