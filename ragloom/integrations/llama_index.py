"""LlamaIndex adapter: a ragloom collection as a LlamaIndex ``BaseRetriever``.

    from llama_index.core.query_engine import RetrieverQueryEngine
    from ragloom.integrations.llama_index import RagloomRetriever

    engine = RetrieverQueryEngine.from_args(RagloomRetriever("sample"), llm=my_llm)

Nodes carry the chunk text, its id, ``source``/``page``/``chunk_index``/``collection`` metadata
and the cosine similarity as score.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ragloom.core.settings import Settings, load_settings


class RagloomRetriever(BaseRetriever):
    """Search a ragloom collection (dense + BM25 fused, filters) from LlamaIndex."""

    def __init__(self, collection: str, *, k: int = 4, where: dict[str, Any] | None = None,
                 settings: Settings | None = None,
                 callback_manager: CallbackManager | None = None) -> None:
        from ragloom.core.models import get_embeddings
        from ragloom.retrieval.service import open_retriever
        from ragloom.retrieval.where import validate_where

        super().__init__(callback_manager=callback_manager)
        s = settings or load_settings()
        self.collection, self.k, self.where = collection, k, validate_where(where)
        self._search = open_retriever(s, collection, get_embeddings(s.embedding, s))

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._search.retrieve(query_bundle.query_str, self.k, self.where)
        return [NodeWithScore(node=TextNode(
            id_=h.id, text=h.text,
            metadata={k: v for k, v in {**h.metadata, "source": h.source, "page": h.page,
                                         "chunk_index": h.chunk_index,
                                         "collection": self.collection}.items()
                      if v is not None}), score=h.score) for h in hits[: self.k]]
