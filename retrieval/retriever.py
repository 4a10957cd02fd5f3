"""The one retrieval interface used by the agent graphs, the CLI, the API and the evaluations."""

from __future__ import annotations

from typing import Any, Protocol

from langchain_core.embeddings import Embeddings

from retrieval.store import ChunkStore
from retrieval.types import RetrievedChunk


class Retriever(Protocol):
    def retrieve(self, query: str, k: int, where: dict[str, Any] | None = None
                 ) -> list[RetrievedChunk]: ...


class DenseRetriever:
    """Nearest chunks by cosine similarity of embeddings."""

    def __init__(self, store: ChunkStore, embeddings: Embeddings):
        self.store = store
        self.embeddings = embeddings

    def retrieve(self, query: str, k: int, where: dict[str, Any] | None = None
                 ) -> list[RetrievedChunk]:
        return self.store.query(self.embeddings.embed_query(query), k, where=where)
