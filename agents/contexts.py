"""Reuse what a question needs between requests: models, store client and retriever.

Building them costs ~200 ms per question (each HTTP model or Chroma client makes its own TLS
context), ten times the rest of a fast answer. The cache holds one base context per collection,
keyed on the collection's generation (the BM25 index's, or the shared database's when
``database_url`` is set) so that an ingest here or on another replica is seen by the next
question; per-request fields (pinned prompts, filter) are set on
a copy. Every part kept is thread-safe: LangChain's HTTP chat/embedding clients, Chroma's
HttpClient, the read-only BM25 index. The embedded llama.cpp model is not, and the app answers one
question at a time when it is configured (see ``ragloom.api.app``).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from ragloom.agents.state import RagContext
from ragloom.core.settings import Settings
from ragloom.retrieval.generations import shared_generations
from ragloom.retrieval.lexical import LexicalIndex, index_dir


class ContextCache:
    """An ``agents.state.ContextFactory`` that reuses one base context per collection and
    settings (the API's settings are fixed; a worker's vary with each suite's variant)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bases: dict[tuple[str, str], tuple[Any, RagContext]] = {}

    def __call__(self, settings: Settings, collection: str, prompts: dict[str, str] | None = None,
                 where: dict[str, Any] | None = None) -> RagContext:
        from ragloom.agents.service import build_context

        shared = shared_generations(settings)  # another replica's ingest moves it
        generation = (shared.get(collection) if shared
                      else LexicalIndex.state(index_dir(settings.home, collection)))
        key = (collection, settings.model_dump_json())
        with self._lock:
            cached = self._bases.get(key)
        if cached is None or cached[0] != generation:
            base = build_context(settings, collection=collection)  # 404 / 503 surface here
            with self._lock:
                self._bases[key] = (generation, base)
        else:
            base = cached[1]
        return dataclasses.replace(base, prompt_refs=dict(prompts or {}), where=where)

    def forget(self, collection: str) -> None:
        with self._lock:
            for key in [k for k in self._bases if k[0] == collection]:
                del self._bases[key]
