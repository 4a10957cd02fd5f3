"""Rerankers behind the ``Reranker`` interface of ``ragloom.retrieval.retriever``.

``LLMReranker`` uses the configured chat model (works offline with the embedded one): one call
orders the candidates. A failed or partial ordering keeps the fused order for what it left out.
"""

from __future__ import annotations

import logging

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from ragloom.core.models.structured import StructuredOutputError, call_structured
from ragloom.retrieval.types import RetrievedChunk

log = logging.getLogger(__name__)


class Ranking(BaseModel):
    ranking: list[int] = Field(description="Passage numbers, most useful first.")


class LLMReranker:
    def __init__(self, model: BaseChatModel, provider: str, *, max_chars: int = 600):
        self.model = model
        self.provider = provider
        self.max_chars = max_chars
        self.calls = 0

    def rerank(self, query: str, chunks: list[RetrievedChunk], k: int) -> list[RetrievedChunk]:
        if len(chunks) <= 1:
            return chunks[:k]
        passages = "\n".join(f"[{i}] {c.text[: self.max_chars]}" for i, c in enumerate(chunks, 1))
        messages = [("system", "Order the passages by how useful they are for answering the "
                               'question. Reply with JSON only: {"ranking": [passage numbers]}'),
                    ("user", f"Passages:\n{passages}\n\nQuestion: {query}")]
        try:
            result, calls = call_structured(self.model, self.provider, messages, Ranking,
                                            what="ranking")
            self.calls += calls
        except StructuredOutputError as exc:
            log.warning("rerank skipped, fused order kept: %s", exc)
            self.calls += 2
            return chunks[:k]
        order = [n - 1 for n in dict.fromkeys(result.ranking) if 1 <= n <= len(chunks)]
        order += [i for i in range(len(chunks)) if i not in order]
        return [chunks[i] for i in order][:k]
