"""Graph nodes: each is one small function ``(state, runtime) -> partial update``."""

from __future__ import annotations

import time
from typing import Any, Literal

from langgraph.runtime import Runtime

from agents.citations import (
    attribute_sentences,
    extract_citations,
    format_sources,
    is_refusal,
)
from agents.state import RagContext, RagState


def retrieve_documents(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    start = time.perf_counter()
    with ctx.model_guard("embedding"):
        hits = ctx.retriever.retrieve(state["question"], ctx.top_k)
    relevant = [h for h in hits if h.score >= ctx.min_relevance]
    return {"retrieved": hits, "sources": relevant,
            "timings": {"retrieve": time.perf_counter() - start}}


def route_after_retrieval(state: RagState) -> Literal["generate_answer", "decline_answer"]:
    return "generate_answer" if state.get("sources") else "decline_answer"


def generate_answer(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    start = time.perf_counter()
    prompt = ctx.prompts.get(ctx.answer_prompt)
    sources = state["sources"]
    messages = prompt.render(question=state["question"], context=format_sources(sources))
    with ctx.model_guard("chat"):
        reply = ctx.chat_model.invoke(messages, **prompt.params)
    text, citations, dropped = extract_citations(str(reply.content), sources)
    refused = is_refusal(text)
    if not refused:
        text, attributed = attribute_sentences(text, sources)
        cited = {c.n for c in citations}
        citations = sorted([*citations, *(c for c in attributed if c.n not in cited)],
                           key=lambda c: c.n)
    return {
        "answer": "I don't know." if refused else text,
        "citations": [] if refused else citations,
        "dropped_citations": dropped,
        "refused": refused,
        "prompts": {"answer": prompt.ref},
        "timings": {"generate": time.perf_counter() - start},
    }


def decline_answer(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Nothing relevant was found: say so instead of letting the model invent an answer."""
    return {
        "answer": (f"I don't know: nothing in collection '{runtime.context.collection}' "
                   "is relevant enough to answer this."),
        "citations": [], "dropped_citations": 0, "refused": True,
    }
