"""Split sections into token-bounded, overlapping chunks with stable ids.

Two chunkers, chosen per collection:
- ``sentence`` (default): a token-aware sentence splitter with overlap, run on each section
  (a PDF page, a heading section).
- ``structure``: the same, but every chunk also starts with its heading path, so a chunk from
  "Risk Factors > Supply chain" says so; best for Markdown, HTML and DOCX.
Fragments shorter than ``min_chunk_chars`` are merged into the chunk before them when both come from
the same page and heading (never across sections, so a chunk's page and heading stay true).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Literal

from retrieval.types import Chunk, Section

Chunker = Literal["sentence", "structure"]


@dataclass(frozen=True)
class ChunkingConfig:
    chunker: Chunker = "sentence"
    chunk_size: int = 256
    chunk_overlap: int = 32
    min_chunk_chars: int = 80


@functools.lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int):  # type: ignore[no-untyped-def]
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=min(chunk_overlap, chunk_size // 2))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pieces(section: Section, cfg: ChunkingConfig) -> list[str]:
    pieces = [p for p in _splitter(cfg.chunk_size, cfg.chunk_overlap).split_text(section.text)
              if p.strip()]
    if cfg.chunker == "structure" and section.heading:
        title = section.heading.rsplit(" > ", 1)[-1]
        pieces = [p if p.startswith(title) and " > " not in section.heading
                  else f"{section.heading}\n{p.removeprefix(title).lstrip()}" for p in pieces]
    return pieces


def chunk_sections(sections: list[Section], *, source: str, file_hash: str,
                   cfg: ChunkingConfig, metadata: dict[str, str | int | float] | None = None
                   ) -> list[Chunk]:
    """Chunks of one file. Ids derive from its path and content, so re-ingesting is idempotent."""
    prefix = f"{hashlib.sha1(source.encode()).hexdigest()[:10]}-{file_hash[:12]}"
    merged: list[tuple[Section, str]] = []
    for section in sections:
        for piece in _pieces(section, cfg):
            prev = merged[-1] if merged else None
            if (prev and len(piece) < cfg.min_chunk_chars and prev[0].page == section.page
                    and prev[0].heading == section.heading):
                merged[-1] = (prev[0], f"{prev[1]}\n{piece}")
            else:
                merged.append((section, piece))
    extra = {"content_hash": file_hash, **(metadata or {})}
    return [
        Chunk(id=f"{prefix}-{i:05d}", text=text, source=source, chunk_index=i, page=section.page,
              metadata={**extra, **({"heading": section.heading} if section.heading else {})})
        for i, (section, text) in enumerate(merged)
    ]
