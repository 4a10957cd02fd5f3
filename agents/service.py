"""Asking a question: the one entry point the CLI, the UI and the API share."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field

from agents.citations import Citation
from agents.graphs import GRAPHS
from agents.state import RagContext
from core.errors import ConfigError
from core.models import get_chat_model, get_embeddings
from core.models.reachability import model_call
from core.models.spec import ModelSpec
from core.settings import Settings
from prompts import PromptStore
from retrieval.service import open_retriever


class Answer(BaseModel):
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    dropped_citations: int = 0
    prompts: dict[str, str] = Field(description="role -> name@version of each prompt used")
    models: dict[str, str]
    collection: str
    graph: str
    timings: dict[str, float] = Field(description="seconds per step, and total")


def build_context(settings: Settings, *, collection: str | None = None,
                  prompt: str | None = None) -> RagContext:
    """Build the models, store and retriever a graph run needs, from settings."""
    collection = collection or settings.collection
    specs = {"chat": ModelSpec.parse(settings.chat), "embedding": ModelSpec.parse(settings.embedding)}
    embeddings = get_embeddings(specs["embedding"], settings)
    return RagContext(
        chat_model=get_chat_model(specs["chat"], settings),
        retriever=open_retriever(settings, collection, embeddings),
        prompts=PromptStore(),
        answer_prompt=prompt or f"answer:{settings.prompt_label}",
        top_k=settings.retrieval.top_k,
        min_relevance=settings.retrieval.min_relevance,
        collection=collection,
        model_guard=lambda role: model_call(specs[role], settings, role),
    )


def _compiled(graph: str):  # type: ignore[no-untyped-def]
    if graph not in GRAPHS:
        raise ConfigError(f"unknown graph '{graph}'", fix=f"use one of {', '.join(GRAPHS)}")
    return GRAPHS[graph]()


def _to_answer(question: str, state: dict[str, Any], settings: Settings, ctx: RagContext,
               graph: str, total: float) -> Answer:
    return Answer(
        question=question, answer=state["answer"], refused=state.get("refused", False),
        citations=state.get("citations", []), dropped_citations=state.get("dropped_citations", 0),
        prompts=state.get("prompts", {}),
        models={"chat": settings.chat, "embedding": settings.embedding},
        collection=ctx.collection, graph=graph,
        timings={**state.get("timings", {}), "total": total},
    )


def ask(question: str, settings: Settings, *, collection: str | None = None,
        prompt: str | None = None, graph: str = "simple", context: RagContext | None = None
        ) -> Answer:
    ctx = context or build_context(settings, collection=collection, prompt=prompt)
    start = time.perf_counter()
    state = _compiled(graph).invoke({"question": question}, context=ctx)
    return _to_answer(question, state, settings, ctx, graph, time.perf_counter() - start)


def ask_stream(question: str, settings: Settings, *, collection: str | None = None,
               prompt: str | None = None, graph: str = "simple",
               context: RagContext | None = None) -> Iterator[tuple[str, Any]]:
    """Yield ("step", node_name), ("token", text) while running, then ("answer", Answer)."""
    ctx = context or build_context(settings, collection=collection, prompt=prompt)
    start = time.perf_counter()
    state: dict[str, Any] = {}
    for mode, payload in _compiled(graph).stream(
        {"question": question}, context=ctx, stream_mode=["updates", "messages", "values"]
    ):
        if mode == "messages":
            chunk, _meta = payload
            if chunk.content:
                yield "token", str(chunk.content)
        elif mode == "updates":
            for node in payload:
                yield "step", node
        else:
            state = payload
    yield "answer", _to_answer(question, state, settings, ctx, graph, time.perf_counter() - start)
