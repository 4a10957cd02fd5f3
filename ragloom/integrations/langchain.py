"""LangChain adapters: ragloom's hybrid retriever as a ``BaseRetriever`` (``ragloom.as_retriever``).

Documents carry what a chain needs to cite: ``source``, ``page``, ``chunk_index``, ``chunk_id``,
``score`` (cosine similarity), ``fused_score``/``lexical_score`` when hybrid, and ``collection``.
ragloom's embedding classes are already ``langchain_core.embeddings.Embeddings``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr, field_validator

from ragloom.core.settings import Settings, load_settings
from ragloom.retrieval.types import RetrievedChunk


class RagloomRetriever(BaseRetriever):
    """Search a ragloom collection (dense + BM25 fused, filters, optional rerank)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    collection: str = Field(description="The collection to search.")
    k: int = Field(4, ge=1, le=100, description="How many chunks to return.")
    where: dict[str, Any] | None = Field(None, description="Metadata filter (docs/api.md).")
    settings: Settings | None = Field(None, description="None: defaults < ragloom.toml < env.")
    _retriever: Any = PrivateAttr(None)

    @field_validator("where")
    @classmethod
    def _valid_filter(cls, where: dict[str, Any] | None) -> dict[str, Any] | None:
        from ragloom.retrieval.where import validate_where

        return validate_where(where)  # a bad filter fails when the retriever is made

    def _open(self) -> Any:
        """The collection's retriever, opened on first use (not when a chain is assembled)."""
        if self._retriever is None:
            from ragloom.core.models import get_embeddings
            from ragloom.retrieval.service import open_retriever

            s = self.settings or load_settings()
            self._retriever = open_retriever(s, self.collection, get_embeddings(s.embedding, s))
        return self._retriever

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        hits = self._open().retrieve(query, k, self.where)
        return [as_document(h, self.collection) for h in hits[:k]]


def as_document(chunk: RetrievedChunk, collection: str) -> Document:
    meta = {"source": chunk.source, "page": chunk.page, "chunk_index": chunk.chunk_index,
            "chunk_id": chunk.id, "score": chunk.score, "fused_score": chunk.fused_score,
            "lexical_score": chunk.lexical_score, "collection": collection}
    return Document(page_content=chunk.text, id=chunk.id,
                    metadata={**chunk.metadata, **{k: v for k, v in meta.items() if v is not None}})
