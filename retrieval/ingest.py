"""Ingest files into a collection: load, chunk, embed in batches, store in batches.

Re-ingesting is idempotent: a file whose content is already stored is skipped, and a changed
file's new chunks are stored before its old ones are deleted (so it stays queryable).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import IngestError
from core.settings import RetrievalSettings
from retrieval.chunking import chunk_sections, content_hash
from retrieval.loaders import load_file, supported
from retrieval.store import ChunkStore
from retrieval.types import Chunk

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    ingested: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks_added: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Progress:
    path: str
    files_done: int
    files_total: int
    chunks_added: int


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Supported files under ``paths`` in a stable order; symlinked directories are not followed."""
    for root in paths:
        if root.is_file():
            yield root
            continue
        if not root.exists():
            raise IngestError("path does not exist", subject=str(root))
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if supported(path) and path.is_file():
                    yield path


def _embed_and_store(chunks: list[Chunk], store: ChunkStore, cfg: RetrievalSettings) -> None:
    for start in range(0, len(chunks), cfg.store_batch_size):
        batch = chunks[start : start + cfg.store_batch_size]
        vectors = np.asarray(store.embeddings.embed_documents([c.text for c in batch]))
        store.add(batch, vectors)


def ingest(paths: Iterable[Path], store: ChunkStore, cfg: RetrievalSettings,
           on_progress: Callable[[Progress], None] | None = None) -> IngestReport:
    files = list(discover(paths))
    report = IngestReport()
    for done, path in enumerate(files, start=1):
        source = str(path.resolve())
        try:
            data = path.read_bytes()
            digest = content_hash(data)
            if store.has_file(source, digest):
                report.unchanged.append(source)
            else:
                chunks = chunk_sections(load_file(path), source=source, file_hash=digest,
                                        chunk_size=cfg.chunk_size, chunk_overlap=cfg.chunk_overlap)
                if not chunks:
                    raise IngestError("no text found", subject=source,
                                      fix="scanned PDFs need OCR before ingesting")
                _embed_and_store(chunks, store, cfg)
                store.delete_other_versions(source, digest)
                report.ingested.append(source)
                report.chunks_added += len(chunks)
        except (IngestError, OSError) as exc:
            log.warning("skipped %s: %s", path, exc)
            report.failed.append((str(path), str(exc)))
        if on_progress:
            on_progress(Progress(str(path), done, len(files), report.chunks_added))
    return report
