"""Split sections into token-bounded, overlapping chunks with stable ids."""

from __future__ import annotations

import functools
import hashlib

from retrieval.types import Chunk, Section


@functools.lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int):  # type: ignore[no-untyped-def]
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=min(chunk_overlap, chunk_size // 2))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk_sections(sections: list[Section], *, source: str, file_hash: str, chunk_size: int,
                   chunk_overlap: int) -> list[Chunk]:
    """Chunks of one file. Ids derive from its path and content, so re-ingesting is idempotent."""
    splitter = _splitter(chunk_size, chunk_overlap)
    prefix = f"{hashlib.sha1(source.encode()).hexdigest()[:10]}-{file_hash[:12]}"
    chunks: list[Chunk] = []
    for section in sections:
        for piece in splitter.split_text(section.text):
            if not piece.strip():
                continue
            index = len(chunks)
            chunks.append(Chunk(
                id=f"{prefix}-{index:05d}", text=piece, source=source, chunk_index=index,
                page=section.page, metadata={"content_hash": file_hash},
            ))
    return chunks
