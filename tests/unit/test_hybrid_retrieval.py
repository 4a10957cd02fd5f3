import shutil
from pathlib import Path

import numpy as np
import pytest

from ragloom.core.errors import ConfigError
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.filters import chroma_where, matches
from ragloom.retrieval.ingest import ingest
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import FusionConfig, HybridRetriever, mmr_select, rrf
from ragloom.retrieval.types import RetrievedChunk
from tests.conftest import SAMPLE_CORPUS


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    dest = tmp_path / "docs"
    shutil.copytree(SAMPLE_CORPUS, dest)
    (dest / "extra.md").write_text(
        "# Zebra care\n\nThe quokka-zebra hybrid needs forty kilograms of hay daily.\n")
    return dest


@pytest.fixture
def col(settings, fake_embeddings, docs) -> Collection:
    col = Collection(settings, "hybrid", fake_embeddings)
    ingest([docs], col, workers=1)
    return col


def _retriever(col: Collection, **cfg) -> HybridRetriever:
    return HybridRetriever(col.store, col.store.embeddings, LexicalIndex.load(col.lexical_dir),
                           FusionConfig(**cfg))


def test_rrf_rewards_agreement_and_weights() -> None:
    fused = rrf([(["a", "b", "c"], 1.0), (["c", "a"], 1.0)], rrf_k=60)
    assert max(fused, key=fused.__getitem__) == "a"
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    only_lexical = rrf([(["a", "b"], 0.0), (["b"], 1.0)], rrf_k=60)
    assert max(only_lexical, key=only_lexical.__getitem__) == "b"


def test_bm25_index_is_built_by_ingestion_and_follows_changes(col, docs) -> None:
    index = LexicalIndex.load(col.lexical_dir)
    assert index is not None and len(index.ids) == col.store.count()
    assert index.generation == col.manifest.generation()
    assert index.search("quokka", 3)[0][0] in col.store.ids()

    (docs / "extra.md").unlink()
    ingest([docs], col, sync=True, workers=1)
    index = LexicalIndex.load(col.lexical_dir)
    assert index.search("quokka", 3) == [] and len(index.ids) == col.store.count()


def test_no_change_rerun_does_not_rebuild(col, docs) -> None:
    before = (col.lexical_dir / "ids.json").stat().st_mtime_ns
    ingest([docs], col, workers=1)
    assert (col.lexical_dir / "ids.json").stat().st_mtime_ns == before


def test_hybrid_finds_rare_terms_and_scores_by_cosine(col) -> None:
    hits = _retriever(col).retrieve("quokka", k=3)
    assert hits[0].source.endswith("extra.md") and hits[0].lexical_score > 0
    assert hits[0].fused_score is not None and -1.0 <= hits[0].score <= 1.0
    assert [h.fused_score for h in hits] == sorted([h.fused_score for h in hits], reverse=True)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_modes_each_return_results(col, mode: str) -> None:
    hits = _retriever(col, mode=mode).retrieve("Oolong brewing temperature", k=2)
    assert hits and hits[0].source.endswith("tea-guide.pdf")
    if mode == "dense":
        assert all(h.lexical_score is None for h in hits)


@pytest.mark.parametrize("where", [{"file_type": "pdf"}, {"page": {"$gte": 2}},
                                   {"file_type": {"$in": ["markdown", "text"]}}])
def test_filters_apply_to_both_retrievers(col, where) -> None:
    for mode in ("dense", "bm25", "hybrid"):
        hits = _retriever(col, mode=mode).retrieve("tea shipping Oolong members", 10, where=where)
        assert hits, (mode, where)
        assert all(matches({"page": h.page, **h.metadata}, where) for h in hits), (mode, where)


def test_filter_matching_nothing_returns_nothing(col) -> None:
    assert _retriever(col).retrieve("tea", 5, where={"file_type": "docx"}) == []


def test_filter_language() -> None:
    meta = {"file_type": "pdf", "page": 3, "source": "/a.pdf"}
    assert matches(meta, {"$and": [{"file_type": "pdf"}, {"page": {"$lt": 4}}]})
    assert matches(meta, {"$or": [{"file_type": "md"}, {"source": {"$nin": ["/b.pdf"]}}]})
    assert not matches(meta, {"page": {"$gt": 3}}) and not matches({}, {"page": {"$gte": 1}})
    with pytest.raises(ConfigError, match="unknown filter operator"):
        matches(meta, {"page": {"$regex": "x"}})
    assert chroma_where({"a": 1, "b": 2}) == {"$and": [{"a": 1}, {"b": 2}]}
    assert chroma_where({"a": 1}) == {"a": 1} and chroma_where({}) is None


def test_mmr_prefers_diverse_chunks() -> None:
    def chunk(cid: str, vec: list[float]) -> RetrievedChunk:
        v = np.asarray(vec, dtype=np.float32)
        return RetrievedChunk(id=cid, text=cid, source="s", chunk_index=0, score=0.0,
                              vector=v / np.linalg.norm(v))

    query = np.asarray([1.0, 0.0], dtype=np.float32)
    cands = [chunk("a", [1, 0.1]), chunk("a-copy", [1, 0.11]), chunk("other", [0.7, 0.7])]
    assert [c.id for c in mmr_select(query, cands, 2, lam=0.3)] == ["a", "other"]
    assert [c.id for c in mmr_select(query, cands, 2, lam=1.0)] == ["a", "a-copy"]


def test_mmr_option_changes_selection_but_not_count(col) -> None:
    plain = _retriever(col).retrieve("tea", 3)
    diverse = _retriever(col, mmr=True, mmr_lambda=0.3).retrieve("tea", 3)
    assert len(plain) == len(diverse) == 3


def test_parse_where_gives_clear_errors() -> None:
    from ragloom.retrieval.filters import parse_where

    assert parse_where('{"file_type": "pdf"}') == {"file_type": "pdf"} and parse_where(None) is None
    for bad, message in [("{file_type: pdf}", "not valid JSON"), ("[1]", "JSON object"),
                         ('{"page": {"$near": 3}}', "unknown filter operator")]:
        with pytest.raises(ConfigError, match=message):
            parse_where(bad)


def test_llm_reranker_orders_and_keeps_the_rest(col) -> None:
    from ragloom.retrieval.rerank import LLMReranker
    from tests.fakes import scripted_chat

    hits = _retriever(col).retrieve("tea", 4)
    reranker = LLMReranker(scripted_chat('{"ranking": [3, 1]}'), "fake")
    out = reranker.rerank("tea", hits, 4)
    assert [c.id for c in out] == [hits[2].id, hits[0].id, hits[1].id, hits[3].id]
    broken = LLMReranker(scripted_chat("no", "still no"), "fake")
    assert broken.rerank("tea", hits, 2) == hits[:2] and broken.calls == 2


def test_bm25_indexes_the_document_name_and_headings(col) -> None:
    from ragloom.retrieval.lexical import lexical_text

    assert lexical_text("Revenue rose.", {"file_name": "2023 Q1 AAPL.pdf", "heading": "Results"}) \
        == "2023 Q1 AAPL\nResults\nRevenue rose."
    index = LexicalIndex.load(col.lexical_dir)
    hits = index.search("shipping-faq", 3)  # a word only the file name contains
    assert hits and all(cid in col.store.ids() for cid, _ in hits)
