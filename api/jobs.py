"""Ingest jobs: uploads are ingested in a background thread, one job at a time per process, or
queued for ``ragloom worker`` processes (``enqueue``: the bytes go to the shared database).

Each job's state (status, progress, per-file errors, the ``host:pid`` running it) is written to
the job store (``HOME/api/jobs.sqlite``, or the shared PostgreSQL) at every progress event, so
any process sharing it can report it. An in-process job whose process died (on the same host) is
shown as ``interrupted`` (re-running the upload resumes cleanly: ingestion is incremental and
crash-safe); a queued one is retried by another worker.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from ragloom.core.private import private_dir
from ragloom.core.processes import as_polled, process_tag
from ragloom.core.settings import Settings
from ragloom.core.storage.engines import SqlStore, store_target
from ragloom.core.storage.schema import jobs as _jobs
from ragloom.retrieval.uploads import UPLOAD_SCHEME

log = logging.getLogger(__name__)


class JobStore(SqlStore):
    """Ingest jobs' rows: (id, collection, owner, created, state as JSON)."""

    tables = [_jobs]

    def add(self, job_id: str, collection: str, owner: str, state: dict[str, Any]) -> None:
        with self.engine.begin() as db:
            db.execute(insert(_jobs).values(id=job_id, collection=collection, owner=owner,
                                            created=time.time(), state=json.dumps(state)))

    def save(self, job_id: str, state: dict[str, Any]) -> None:
        with self.engine.begin() as db:
            db.execute(update(_jobs).where(_jobs.c.id == job_id).values(state=json.dumps(state)))

    def get(self, job_id: str) -> tuple[str, str, float, dict[str, Any]] | None:
        with self.engine.connect() as db:
            row = db.execute(select(_jobs.c.collection, _jobs.c.owner, _jobs.c.created,
                                    _jobs.c.state).where(_jobs.c.id == job_id)).first()
        return None if row is None else (row[0], row[1], row[2], json.loads(row[3]))


class IngestJobs:
    def __init__(self, settings: Settings, embeddings_of: Callable[[Settings], Any]):
        self.settings, self._embeddings_of = settings, embeddings_of
        self.store = JobStore(store_target(settings.database,
                                           settings.home / "api" / "jobs.sqlite"))
        # One writer per process: ingestion of a collection must not run twice at once.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.store.close()

    def _save(self, job_id: str, state: dict[str, Any]) -> None:
        self.store.save(job_id, state)

    def get(self, job_id: str) -> dict[str, Any] | None:
        found = self.store.get(job_id)
        if found is None:
            return None
        collection, owner, created, state = found
        tag = state.pop("process", None)  # not shown: clients need not know host names
        if not state.pop("queue", False):  # a queued job that loses its worker is retried
            state = as_polled(state, tag, "upload the files again: ingestion skips what was stored")
        return {"id": job_id, "collection": collection, "owner": owner, "created": created,
                **state}

    def submit(self, collection: str, paths: list[Path], owner: str, *, sync: bool = False,
               uploaded: list[Path] | None = None, refused: list[tuple[str, str]] | None = None
               ) -> str:
        """Queue an ingest of ``paths``. ``uploaded`` files that end up not indexed are deleted
        afterwards; ``refused`` (name, reason) pairs are reported as failed files of the job."""
        job_id = uuid.uuid4().hex[:16]
        state = {**_new_state(len(paths), refused), "process": process_tag()}
        self.store.add(job_id, collection, owner, state)
        self._pool.submit(self._run, job_id, collection, paths, sync, state, uploaded or [])
        return job_id

    def enqueue(self, collection: str, files: list[tuple[str, Callable[[], bytes]]], owner: str,
                *, sync: bool = False, refused: list[tuple[str, str]] | None = None) -> str:
        """Store uploads (name, reader of its bytes: one file in memory at a time) in the shared
        database and queue their ingest for ``ragloom worker``."""
        from ragloom.queue import enqueue_ingest
        from ragloom.retrieval.uploads import UploadStore

        uploads = UploadStore.shared(self.settings)
        for name, read in files:
            uploads.put(collection, name, read())
        job_id = uuid.uuid4().hex[:16]
        # No process tag: the queue, not this process, answers for the job (a worker that dies
        # has its job put back for another one).
        self.store.add(job_id, collection, owner, {**_new_state(len(files), refused), "queue": True})
        enqueue_ingest(self.settings, job_id, collection, [n for n, _ in files], sync)
        return job_id

    def _run(self, job_id: str, collection: str, paths: list[Path], sync: bool,
             state: dict[str, Any], uploaded: list[Path]) -> None:
        from ragloom.retrieval.uploads import discard_unindexed

        try:
            run_ingest(self.settings, self._embeddings_of, self.store, job_id, collection, paths,
                       sync, state)
        finally:  # a refused upload leaves nothing behind
            discard_unindexed(uploaded, self.settings, collection)
        state["finished"] = time.time()
        self._save(job_id, state)


def _new_state(files: int, refused: list[tuple[str, str]] | None) -> dict[str, Any]:
    return {"status": "queued", "files_total": files, "files_done": 0, "chunks_added": 0,
            "ingested": [], "unchanged": [], "removed": [],
            "failed": [{"file": n, "reason": r} for n, r in refused or []], "skipped": [],
            "error": None, "fix": None, "finished": None, "redacted": {}}


def run_ingest(settings: Settings, embeddings_of: Callable[[Settings], Any], store: JobStore,
               job_id: str, collection: str, paths: list[Path], sync: bool,
               state: dict[str, Any], as_source: Callable[[Path], str] | None = None) -> None:
    """Ingest ``paths`` into ``collection``, saving the job's progress and outcome in ``state``."""
    from ragloom.api.errors import describe
    from ragloom.retrieval.collections import Collection
    from ragloom.retrieval.ingest import Progress, ingest, local_source

    def progress(p: Progress) -> None:
        state.update(status="running", phase="ingesting", files_done=p.files_done,
                     files_total=p.files_total, chunks_added=p.chunks_added)
        store.save(job_id, state)

    def waiting() -> None:  # another worker or replica is writing the same collection
        state.update(phase="waiting for another writer of the collection")
        store.save(job_id, state)

    try:
        col = Collection(settings, collection, embeddings_of(settings))
        report = ingest(paths, col, sync=sync, on_progress=progress, on_wait=waiting,
                        workers=settings.retrieval.ingest_workers or 1,
                        as_source=as_source or local_source)
        names = {str(p.resolve()): p.name for p in paths}

        def shown(source: str) -> str:  # uploads by their name: clients know nothing else
            return names.get(source, source.removeprefix(UPLOAD_SCHEME))

        failed = state["failed"] + [{"file": Path(p).name, "reason": _without_paths(r, paths)}
                                    for p, r in report.failed]
        state.update(
            status="done" if not failed else "done_with_errors",
            ingested=[shown(s) for s in report.ingested],
            unchanged=[shown(s) for s in report.unchanged],
            removed=[shown(s) for s in report.removed],
            failed=failed,
            skipped=[{"file": Path(p).name, "reason": _without_paths(r, paths)}
                     for p, r in report.skipped],
            chunks_added=report.chunks_added,
            redacted=dict(report.redacted))
    except Exception as exc:  # the job records why; the server carries on
        _, error, fix = describe(exc)
        log.warning("ingest job %s failed: %s", job_id, error)
        state.update(status="failed", error=error, fix=fix)


def run_queued_ingest(settings: Settings, job_id: str, collection: str, names: list[str],
                      sync: bool, worker: str | None = None,
                      embeddings_of: Callable[[Settings], Any] | None = None) -> None:
    """A queued upload's ingest, on whichever worker took it: the uploads are written from the
    shared database into a private temporary folder and ingested as ``upload://NAME``."""
    from ragloom.api.deps import default_embeddings
    from ragloom.core.storage.engines import shared_engine
    from ragloom.retrieval.manifest import open_manifest
    from ragloom.retrieval.uploads import UploadStore, upload_source

    jobs, uploads = JobStore(shared_engine(settings.database)), UploadStore.shared(settings)
    found = jobs.get(job_id)
    if found is None:  # raised, not skipped: the queue retries it, then marks it failed
        raise LookupError(f"ingest job {job_id} is not in the shared job store")
    # Taken: whoever follows the job sees which worker has it, even before the first file.
    state = {**found[3], "status": "running", "phase": "starting", "worker": worker}
    jobs.save(job_id, state)
    if sync:  # the request's files are the collection's uploads from now on
        uploads.discard(collection, [n for n in uploads.names(collection) if n not in names])
    with tempfile.TemporaryDirectory(dir=private_dir(settings.home / "tmp")) as tmp:
        root = Path(tmp).resolve()

        def as_source(path: Path) -> str:
            relative = path.resolve().relative_to(root).as_posix()
            return UPLOAD_SCHEME if relative == "." else upload_source(relative)

        paths = uploads.write_to(collection, names, root)
        try:
            run_ingest(settings, embeddings_of or default_embeddings, jobs, job_id, collection,
                       [root] if sync else paths, sync, state, as_source)
        finally:  # a refused upload leaves nothing behind in the database either
            manifest = open_manifest(settings, collection)
            uploads.discard(collection, [n for n in names if manifest.get(upload_source(n)) is None])
    state["finished"] = time.time()
    jobs.save(job_id, state)


def mark_failed(settings: Settings, job_id: str, exc: BaseException,
                worker: str | None = None) -> None:
    """A queued job whose task gave up before the ingest could record its outcome."""
    from ragloom.api.errors import describe
    from ragloom.core.storage.engines import shared_engine

    jobs = JobStore(shared_engine(settings.database))
    found = jobs.get(job_id)
    if found is not None and found[3]["status"] in ("queued", "running"):
        _, error, fix = describe(exc)
        jobs.save(job_id, {**found[3], "status": "failed", "error": error, "fix": fix,
                           "worker": worker, "finished": time.time()})


def _without_paths(reason: str, paths: list[Path]) -> str:
    """A per-file reason without the server's folders (clients know their files by name)."""
    for p in paths:
        folder = p.resolve() if p.is_dir() else p.resolve().parent
        reason = reason.replace(f"{folder}/", "")
    return reason
