"""Large texts: cut into bounded pieces before sentence splitting (NLTK's 5 s "ReDoS" limit)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import ragloom.retrieval.chunking as chunking
from ragloom.core.settings import RetrievalSettings
from ragloom.retrieval.chunking import PIECE_CHARS, ChunkingConfig, bounded_pieces, chunk_sections
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from ragloom.retrieval.types import Section

_WORDS = ("tea harvest shipping order refund warehouse policy clause payment supplier quarter "
          "revenue risk audit report the of and to in is that for").split()


def prose(chars: int, seed: int = 7) -> str:
    """Paragraphs of short sentences, about ``chars`` characters."""
    rng, out, size = random.Random(seed), [], 0
    while size < chars:
        para = " ".join(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 20))).capitalize()
                        + "." for _ in range(rng.randint(2, 6)))
        out.append(para)
        size += len(para) + 2
    return "\n\n".join(out)


def test_pieces_are_bounded_rejoin_exactly_and_cut_at_breaks() -> None:
    text = prose(1_000_000)
    pieces = list(bounded_pieces(text))
    assert "".join(pieces) == text and len(pieces) >= 10
    assert all(PIECE_CHARS // 2 <= len(p) <= PIECE_CHARS for p in pieces[:-1])
    assert all(p.endswith("\n\n") for p in pieces[:-1])  # at paragraph breaks, not mid-sentence
    lines = "\n".join(["one line of text"] * 20_000)
    assert all(p.endswith("\n") for p in list(bounded_pieces(lines))[:-1])
    blob = "x" * 250_000  # no break at all: hard cuts
    assert [len(p) for p in bounded_pieces(blob)] == [PIECE_CHARS, PIECE_CHARS, 50_000]
    assert list(bounded_pieces("short")) == ["short"]


def test_sections_under_the_piece_size_chunk_exactly_as_before() -> None:
    text = prose(PIECE_CHARS - 1000)
    cfg = ChunkingConfig(min_chunk_chars=0)
    direct = [p for p in chunking._splitter(256, 32).split_text(text) if p.strip()]
    chunks = chunk_sections([Section(text=text)], source="/d/a.txt", file_hash="f" * 64, cfg=cfg)
    assert [c.text for c in chunks] == direct


@pytest.fixture
def splitter_inputs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Lengths of every text handed to the sentence splitter."""
    seen: list[int] = []
    real = chunking._splitter

    class Spy:
        def __init__(self, inner):  # type: ignore[no-untyped-def]
            self.inner = inner

        def split_text(self, text: str) -> list[str]:
            seen.append(len(text))
            return self.inner.split_text(text)

    monkeypatch.setattr(chunking, "_splitter", lambda size, overlap: Spy(real(size, overlap)))
    return seen


def test_a_20_mb_text_file_ingests(settings, fake_embeddings, tmp_path: Path,
                                   splitter_inputs: list[int]) -> None:
    """20 MB of prose: the unbounded splitter ran NLTK's regex over all of it at once (a 30 MB
    file failed after 16 s with its "ReDoS" TimeoutError). Large chunks keep the store part fast."""
    path = tmp_path / "big.txt"
    path.write_text(prose(20 * 2**20), encoding="utf-8")
    settings = settings.model_copy(update={"retrieval": RetrievalSettings(chunk_size=2048)})
    col = Collection(settings, "big", fake_embeddings)
    report = ingest([path], col, workers=1)
    assert report.ok, report.failed
    assert report.chunks_added == col.store.count() > 1500
    assert len(splitter_inputs) > 200 and max(splitter_inputs) <= PIECE_CHARS
