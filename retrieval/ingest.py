"""Ingest files into a collection: parse in parallel, embed and store in batches, crash-safely.

Unchanged files (same size and mtime, or same content hash) are skipped; a changed file's new
chunks are stored before its old ones are deleted; with ``sync`` files that disappeared from the
given folders are removed. The manifest's intent log (``ragloom.retrieval.manifest``) makes a SIGKILL at
any point harmless: the next run first recovers, then yields exactly what a clean run yields.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ragloom.core import metrics
from ragloom.core.errors import IngestError
from ragloom.retrieval.chunking import ChunkingConfig, chunk_sections, content_hash, file_hash
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.containers import ArchiveLimits
from ragloom.retrieval.discovery import discover
from ragloom.retrieval.loaders import load_file
from ragloom.retrieval.locks import collection_write_lock
from ragloom.retrieval.manifest import FileEntry, Manifest, now
from ragloom.retrieval.redaction import mark_chunks, redact_sections
from ragloom.retrieval.store import ChunkStore
from ragloom.retrieval.types import Chunk, Section

log = logging.getLogger(__name__)
_VECTOR_CACHE = 50_000  # recent distinct texts whose vectors a run reuses (~80 MB at 384-d)
_EMBED_SLICE = 2048  # texts embedded per call


def _embed_array(embeddings: Any, texts: list[str]) -> np.ndarray:
    """Vectors as float32 rows; our local embedders skip the list-of-floats round trip."""
    if hasattr(embeddings, "embed_array"):
        return np.asarray(embeddings.embed_array(texts), dtype=np.float32)
    return np.asarray(embeddings.embed_documents(texts), dtype=np.float32)


@dataclass
class IngestReport:
    ingested: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): loops, types...
    chunks_added: int = 0
    recovered: int = 0  # interrupted file versions cleaned up before this run
    redacted: dict[str, int] = field(default_factory=dict)  # PII kind -> count (redact_pii)
    cancelled: list[str] = field(default_factory=list)  # files left for later by a cancel

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def changed(self) -> bool:
        """Whether the collection's chunks differ from before this ingest."""
        return bool(self.ingested or self.removed or self.recovered)


@dataclass(frozen=True)
class Progress:
    """One progress event; the CLI draws a bar from these and the UI can too."""

    path: str
    files_done: int
    files_total: int
    chunks_added: int
    status: str  # "ingested" | "unchanged" | "failed"


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pages: int
    redact_pii: bool = False
    archive: ArchiveLimits = ArchiveLimits()


@dataclass(frozen=True)
class Prepared:
    source: str
    content_hash: str
    size: int
    mtime_ns: int
    loader: str
    chunks: list[Chunk]
    redacted: dict[str, int] = field(default_factory=dict)


def local_source(path: Path) -> str:
    """A file's manifest source: its absolute path (files ingested from this machine)."""
    return str(path.resolve())


def prepare(path: Path, known_hash: str | None, cfg: ChunkingConfig, limits: Limits,
            source: str | None = None) -> Prepared | str | tuple[str, str]:
    """Parse and chunk one file (runs in a worker process) under ``source`` (default: its path).

    Returns the prepared file, its hash alone when the content is unchanged, or (path, reason).
    """
    try:
        stat = path.stat()
        if stat.st_size > limits.max_bytes:  # refuse before reading it into memory
            raise IngestError(f"file is {stat.st_size / 2**20:.0f} MB, over the limit",
                              subject=str(path), fix="raise retrieval.max_file_mb or split the file")
        digest = file_hash(path)  # streamed: the loader reads the file once more anyway
        if digest == known_hash:
            return digest
        loader, sections = load_file(path, max_bytes=limits.max_bytes, max_pages=limits.max_pages,
                                     archive=limits.archive)
        redacted: dict[str, int] = {}
        if limits.redact_pii:
            sections, found = redact_sections(sections)
            redacted = dict(found)
        source = source or local_source(path)
        chunks = chunk_sections(sections, source=source, file_hash=digest, cfg=cfg,
                                metadata={"loader": loader, "file_name": path.name,
                                          "file_type": loader, "ingested_at": now()})
        if not chunks:
            raise IngestError("no text found", subject=str(path),
                              fix="scanned documents need OCR before ingesting")
        if redacted:
            mark_chunks(chunks)
        return Prepared(source, digest, stat.st_size, stat.st_mtime_ns, loader, chunks, redacted)
    except FileNotFoundError:
        return (str(path), "file disappeared while ingesting")
    except (IngestError, OSError) as exc:
        return (str(path), str(exc))
    except Exception as exc:  # a parser bug must not stop the other files
        log.exception("unexpected error while parsing %s", path)
        return (str(path), f"unexpected {type(exc).__name__}: {exc}")


def recover(manifest: Manifest, store: ChunkStore) -> int:
    """Finish or undo the file versions an interrupted run left half-stored."""
    intents = manifest.intents()
    for intent in intents:
        entry = manifest.get(intent.source)
        keep = set(entry.chunk_ids) if entry else set()
        doomed = intent.drop_ids if intent.committed else intent.add_ids
        store.delete([cid for cid in doomed if cid not in keep])
    manifest.finish([i.source for i in intents])
    if intents:
        log.warning("recovered %d interrupted file version(s)", len(intents))
    return len(intents)


class _Writer:
    """Buffers prepared files and stores them in embedding-sized batches, per the manifest protocol."""

    def __init__(self, collection: Collection, report: IngestReport, batch_chunks: int):
        self.store, self.manifest = collection.store, collection.manifest
        self.batch_size = collection.settings.retrieval.store_batch_size
        self.report, self.batch_chunks = report, batch_chunks
        self.buffer: list[Prepared] = []
        self.vectors: dict[bytes, np.ndarray] = {}  # text digest -> vector, recent texts only

    def add(self, prepared: Prepared) -> None:
        self.buffer.append(prepared)
        if sum(len(p.chunks) for p in self.buffer) >= self.batch_chunks:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        drops: dict[str, list[str]] = {}
        for p in self.buffer:
            old = self.manifest.get(p.source)
            new_ids = {c.id for c in p.chunks}
            drops[p.source] = [cid for cid in (old.chunk_ids if old else ()) if cid not in new_ids]
        self.manifest.begin([(p.source, [c.id for c in p.chunks], drops[p.source])
                             for p in self.buffer])
        chunks = [c for p in self.buffer for c in p.chunks]
        vectors = self._embed([c.text for c in chunks])
        for start in range(0, len(chunks), self.batch_size):
            self.store.add(chunks[start : start + self.batch_size],
                           vectors[start : start + self.batch_size])
        self.manifest.commit([(p.source, FileEntry(p.source, p.content_hash, p.size, p.mtime_ns,
                                                   p.loader, tuple(c.id for c in p.chunks), now()))
                              for p in self.buffer])
        self.store.delete([cid for p in self.buffer for cid in drops[p.source]])
        self.manifest.finish([p.source for p in self.buffer])
        for p in self.buffer:
            self.report.ingested.append(p.source)
            self.report.chunks_added += len(p.chunks)
        self.buffer.clear()


    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embed each distinct text once: filings repeat boilerplate across files and quarters
        (11 % of the SEC 10-Q chunks), and embedding is most of the ingest time."""
        keys = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}
        fresh_keys, fresh_texts = list(todo), list(todo.values())
        for start in range(0, len(fresh_texts), _EMBED_SLICE):  # bounded: a 150 MB text is 137k
            part = fresh_texts[start : start + _EMBED_SLICE]   # chunks, 1.1 GB as float lists
            self.vectors.update(zip(fresh_keys[start : start + _EMBED_SLICE],
                                    _embed_array(self.store.embeddings, part), strict=True))
        vectors = np.stack([self.vectors[k] for k in keys])
        while len(self.vectors) > _VECTOR_CACHE:  # oldest first: dicts keep insertion order
            del self.vectors[next(iter(self.vectors))]
        return vectors


def _remove_missing(collection: Collection, roots: list[Path], seen: set[str],
                    report: IngestReport, as_source: Callable[[Path], str]) -> None:
    prefixes = [as_source(r) for r in roots]
    gone = []
    for entry in list(collection.manifest.entries()):
        under = any(entry.source == p or entry.source.startswith(p if p.endswith("/") else p + "/")
                    for p in prefixes)
        # A local file that exists but was not seen was skipped (type, loop), not deleted.
        local = entry.source.startswith("/") and Path(entry.source).exists()
        if under and entry.source not in seen and not local:
            gone.append(entry)
    if gone:
        collection.manifest.begin([(e.source, [], list(e.chunk_ids)) for e in gone])
        collection.manifest.commit([(e.source, None) for e in gone])
        collection.store.delete([cid for e in gone for cid in e.chunk_ids])
        collection.manifest.finish([e.source for e in gone])
        report.removed.extend(e.source for e in gone)


def ingest(paths: Iterable[Path], collection: Collection, *, sync: bool = False,
           on_progress: Callable[[Progress], None] | None = None, workers: int | None = None,
           batch_chunks: int = 256, on_wait: Callable[[], None] | None = None,
           as_source: Callable[[Path], str] = local_source,
           should_stop: Callable[[], bool] | None = None) -> IngestReport:
    """Ingest files and folders into ``collection``; ``on_wait`` is called if another process
    is writing the collection (this call then waits for it). ``as_source`` names each file in
    the manifest (queued uploads: ``upload://NAME`` on every worker, not a temporary path).
    ``should_stop`` (asked after each file) cancels the rest: what was read is written and
    searchable (BM25 too), the files not reached are in ``report.cancelled``."""
    with collection_write_lock(collection.settings, collection.name, on_wait):
        report = _ingest_files([Path(p) for p in paths], collection, sync, on_progress, workers,
                               batch_chunks, as_source, should_stop)
    metrics.record_ingest(report)
    return report


def _ingest_files(roots: list[Path], collection: Collection, sync: bool,
                  on_progress: Callable[[Progress], None] | None, workers: int | None,
                  batch_chunks: int, as_source: Callable[[Path], str],
                  should_stop: Callable[[], bool] | None = None) -> IngestReport:
    report = IngestReport()
    report.recovered = recover(collection.manifest, collection.store)
    r = collection.settings.retrieval
    limits = Limits(int(r.max_file_mb * 1024 * 1024), r.max_pages, r.redact_pii,
                    ArchiveLimits.of(r))
    manifest = collection.manifest

    todo: list[tuple[Path, str, str | None]] = []
    seen: set[str] = set()
    files = list(discover(roots, report.failed, report.skipped))
    for path in files:
        source = as_source(path)
        seen.add(source)
        entry = manifest.get(source)
        try:
            st = path.stat()
        except OSError as exc:
            report.failed.append((str(path), str(exc)))
            continue
        if entry and entry.size == st.st_size and entry.mtime_ns == st.st_mtime_ns:
            report.unchanged.append(source)
        else:
            todo.append((path, source, entry.content_hash if entry else None))

    done = len(files) - len(todo)
    writer = _Writer(collection, report, batch_chunks)
    prepared = _run(todo, collection.chunking, limits, workers)
    for i, ((path, source, _), result) in enumerate(zip(todo, prepared, strict=True)):
        done += 1
        if isinstance(result, Prepared):
            writer.add(result)
            for kind, n in result.redacted.items():
                report.redacted[kind] = report.redacted.get(kind, 0) + n
            status = "ingested"
        elif isinstance(result, str):  # same content, new timestamps
            st = path.stat()
            manifest.touch(source, st.st_size, st.st_mtime_ns)
            report.unchanged.append(source)
            status = "unchanged"
        else:
            log.warning("skipped %s: %s", *result)
            report.failed.append(result)
            status = "failed"
        if on_progress:
            on_progress(Progress(str(path), done, len(files), report.chunks_added
                                 + sum(len(p.chunks) for p in writer.buffer), status))
        if should_stop is not None and should_stop():
            report.cancelled = [s for _, s, _ in todo[i + 1:]]
            prepared.close()  # parser processes that read ahead stop too
            break
    writer.flush()
    if sync and not report.cancelled:  # a cancelled run has not seen every file: remove none
        _remove_missing(collection, roots, seen, report, as_source)
    collection.refresh_lexical_index()
    return report


@dataclass(frozen=True)
class Record:
    """A document that is already text (a database row, a dataset entry): no file to parse."""

    id: str
    text: str
    title: str | None = None
    metadata: dict[str, str | int | float] = field(default_factory=dict)


def ingest_records(records: Iterable[Record], collection: Collection, *, namespace: str,
                   batch_chunks: int = 256) -> IngestReport:
    """Ingest records under sources ``namespace://ID`` with the same manifest protocol as files."""
    with collection_write_lock(collection.settings, collection.name):
        return _ingest_records(records, collection, namespace, batch_chunks)


def _ingest_records(records: Iterable[Record], collection: Collection, namespace: str,
                    batch_chunks: int) -> IngestReport:
    report = IngestReport()
    report.recovered = recover(collection.manifest, collection.store)
    writer = _Writer(collection, report, batch_chunks)
    seen: set[str] = set()
    for rec in records:
        source = f"{namespace}://{rec.id}"
        if source in seen:  # a second version would store the same chunk ids in one batch
            report.skipped.append((source, "record id repeated in this batch; the first was kept"))
            continue
        seen.add(source)
        data = f"{rec.title or ''}\n{rec.text}".encode()
        digest = content_hash(data)
        entry = collection.manifest.get(source)
        if entry and entry.content_hash == digest:
            report.unchanged.append(source)
            continue
        text = f"{rec.title}. {rec.text}" if rec.title else rec.text
        chunks = chunk_sections([Section(text=text)], source=source, file_hash=digest,
                                cfg=collection.chunking,
                                metadata={"loader": "record", "file_type": "record",
                                          "record_id": rec.id, **rec.metadata,
                                          "ingested_at": now()})
        writer.add(Prepared(source, digest, len(data), 0, "record", chunks))
    writer.flush()
    collection.refresh_lexical_index()
    return report


def _run(todo: list[tuple[Path, str, str | None]], cfg: ChunkingConfig, limits: Limits,
         workers: int | None) -> Iterator[Prepared | str | tuple[str, str]]:
    """Prepare files in order, parsing ahead in worker processes when there is more than one."""
    workers = min(workers or os.cpu_count() or 1, len(todo))
    if workers <= 1:
        for path, source, known in todo:
            yield prepare(path, known, cfg, limits, source)
        return
    from ragloom.retrieval.chunking import _splitter

    # Import llama-index and load its NLTK sentence model and tokenizer once, before forking:
    # workers inherit them instead of each paying seconds on its first split.
    _splitter(cfg.chunk_size, cfg.chunk_overlap).split_text("Warm up. The splitter loads lazily.")
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_die_with_parent) as pool:
        yield from _bounded_map(pool, todo, cfg, limits, window=2 * workers)


def _die_with_parent() -> None:
    """Parser workers must not outlive a killed ingest (Linux: PR_SET_PDEATHSIG)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _bounded_map(pool: Executor, todo: list[tuple[Path, str, str | None]], cfg: ChunkingConfig,
                 limits: Limits, window: int) -> Iterator[Prepared | str | tuple[str, str]]:
    """Like ``pool.map`` but with at most ``window`` files parsed ahead (bounded memory)."""
    pending: deque[Future] = deque()  # type: ignore[type-arg]
    items = iter(todo)
    for path, source, known in items:
        pending.append(pool.submit(prepare, path, known, cfg, limits, source))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
