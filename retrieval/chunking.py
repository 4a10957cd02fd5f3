"""Split sections into token-bounded, overlapping chunks with stable ids.

Two chunkers, chosen per collection:
- ``sentence`` (default): a token-aware sentence splitter with overlap, run on each section
  (a PDF page, a heading section).
- ``structure``: the same, but every chunk also starts with its heading path, so a chunk from
  "Risk Factors > Supply chain" says so; best for Markdown, HTML and DOCX.
Fragments shorter than ``min_chunk_chars`` are merged into the chunk before them when both come from
the same page and heading (never across sections, so a chunk's page and heading stay true).

A section longer than ``PIECE_CHARS`` is first cut into bounded pieces (at a paragraph, line,
sentence or word break, a hard cut only when there is none): NLTK's sentence regex runs under a 5 s
"ReDoS" time limit and fails on multi-megabyte texts. Shorter sections are chunked exactly as before.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ragloom.retrieval.types import Chunk, Section

Chunker = Literal["sentence", "structure"]

# 100 KB splits in ~0.3 s; NLTK timed out (5 s) on a 30 MB text. Pieces never fall under half this.
PIECE_CHARS = 100_000
_BREAKS = ("\n\n\n", "\n\n", "\n", ". ", " ")


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


def file_hash(path: Path) -> str:
    """``content_hash`` of a file's bytes, read in 1 MB blocks (a 150 MB file is not held twice)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def bounded_pieces(text: str, limit: int = PIECE_CHARS) -> Iterator[str]:
    """Consecutive slices of ``text`` (joined, they are ``text``) of at most ``limit`` characters,
    each cut at the last paragraph, line, sentence or word break in its second half."""
    start = 0
    while len(text) - start > limit:
        end = start + limit
        cut = next((at + len(sep) for sep in _BREAKS
                    if (at := text.rfind(sep, start + limit // 2, end - len(sep) + 1)) != -1), end)
        yield text[start:cut]
        start = cut
    yield text[start:]


def _pieces(section: Section, cfg: ChunkingConfig) -> list[str]:
    splitter = _splitter(cfg.chunk_size, cfg.chunk_overlap)
    pieces = [p for part in bounded_pieces(section.text) for p in splitter.split_text(part)
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
