"""The one retrieval interface used by the agent graphs, the CLI, the API and the evaluations.

``HybridRetriever`` fuses dense (Chroma) and lexical (BM25) rankings by reciprocal-rank fusion,
applies the same metadata filter to both, optionally diversifies with MMR, and scores every
returned chunk by cosine similarity so that callers can apply one relevance threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.store import ChunkStore
from ragloom.retrieval.types import RetrievedChunk
from ragloom.retrieval.where import validate_where

Mode = Literal["hybrid", "dense", "bm25"]


class Retriever(Protocol):
    def retrieve(self, query: str, k: int, where: dict[str, Any] | None = None
                 ) -> list[RetrievedChunk]: ...


class Reranker(Protocol):
    def rerank(self, query: str, chunks: list[RetrievedChunk], k: int) -> list[RetrievedChunk]: ...


@dataclass(frozen=True)
class FusionConfig:
    mode: Mode = "hybrid"
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    candidates: int = 50
    mmr: bool = False
    mmr_lambda: float = 0.7


def rrf(rankings: list[tuple[list[str], float]], rrf_k: int) -> dict[str, float]:
    """Reciprocal-rank fusion: each ranking adds weight / (rrf_k + rank) to its ids."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids, start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (rrf_k + rank)
    return fused


def mmr_select(query: np.ndarray, chunks: list[RetrievedChunk], k: int, lam: float
               ) -> list[RetrievedChunk]:
    """Greedy maximal marginal relevance over the candidates' vectors."""
    vectors = np.stack([c.vector for c in chunks])
    relevance = vectors @ query
    chosen: list[int] = []
    while len(chosen) < min(k, len(chunks)):
        redundancy = (vectors @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(chunks))
        gain = lam * relevance - (1 - lam) * redundancy
        gain[chosen] = -np.inf
        chosen.append(int(gain.argmax()))
    return [chunks[i] for i in chosen]


class HybridRetriever:
    def __init__(self, store: ChunkStore, embeddings: Embeddings, lexical: LexicalIndex | None,
                 config: FusionConfig = FusionConfig(), reranker: Reranker | None = None):
        self.store = store
        self.embeddings = embeddings
        self.lexical = lexical
        self.config = config
        self.reranker = reranker

    def retrieve(self, query: str, k: int, where: dict[str, Any] | None = None
                 ) -> list[RetrievedChunk]:
        cfg = self.config
        where = validate_where(where)  # junk from a library caller fails here, not in Chroma
        n = max(cfg.candidates, k)
        qv = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        dense = (self.store.query(qv, n, where, with_vectors=cfg.mmr) if cfg.mode != "bm25" else [])
        lexical = (self.lexical.search(query, n, where)
                   if self.lexical is not None and cfg.mode != "dense" else [])
        fused = rrf([([c.id for c in dense], cfg.dense_weight),
                     ([cid for cid, _ in lexical], cfg.lexical_weight)], cfg.rrf_k)
        # Only the chunks that can still be returned are fetched and scored (a rerank or MMR
        # looks at a wider window than k).
        window = max(3 * k, 20) if (self.reranker is not None or cfg.mmr) else k
        ranked = sorted(fused, key=fused.__getitem__, reverse=True)[:window]
        by_id = {c.id: c for c in dense}
        fetch = [cid for cid in ranked if cid not in by_id or (cfg.mmr and by_id[cid].vector is None)]
        for chunk in self.store.get_many(fetch):
            chunk.score = float(np.dot(qv, chunk.vector))  # cosine: vectors are normalised
            by_id[chunk.id] = chunk
        bm25 = dict(lexical)
        chunks = []
        for cid in ranked:
            if cid in by_id:
                chunk = by_id[cid]
                chunk.fused_score, chunk.lexical_score = fused[cid], bm25.get(cid)
                chunks.append(chunk)
        if self.reranker is not None:
            chunks = self.reranker.rerank(query, chunks, k)
        elif cfg.mmr and chunks:
            chunks = mmr_select(qv, chunks, k, cfg.mmr_lambda)
        return chunks[:k]
