"""Open a collection's retriever from settings: the one place that wires store, BM25 and fusion."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from ragloom.core.settings import Settings
from ragloom.retrieval.collections import bm25_params
from ragloom.retrieval.generations import shared_generations
from ragloom.retrieval.lexical import LexicalIndex, ensure_built, index_dir
from ragloom.retrieval.retriever import FusionConfig, HybridRetriever, Reranker
from ragloom.retrieval.store import open_store


def fusion_config(settings: Settings) -> FusionConfig:
    r = settings.retrieval
    return FusionConfig(r.mode, r.rrf_k, r.dense_weight, r.lexical_weight, r.candidates, r.mmr,
                        r.mmr_lambda)


def open_retriever(settings: Settings, collection: str, embeddings: Embeddings,
                   reranker: Reranker | None = None) -> HybridRetriever:
    store = open_store(settings, collection, embeddings, create=False)
    directory = index_dir(settings.home, collection)
    if shared := shared_generations(settings):  # another replica may have changed it
        ensure_built(store.records, directory, shared.get(collection), bm25_params(settings))
    lexical = LexicalIndex.load(directory)
    return HybridRetriever(store, embeddings, lexical, fusion_config(settings), reranker)
