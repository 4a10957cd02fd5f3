"""Retrieval-side nodes: each is one small function ``(state, runtime) -> partial update``."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from ragloom.agents.calls import counted, say, step, structured
from ragloom.agents.citations import format_sources
from ragloom.agents.followups import needs_conversation
from ragloom.agents.schemas import ChunkGrades, RewrittenQuery, StandaloneQuestion
from ragloom.agents.state import RagContext, RagState
from ragloom.agents.verify import declined


def start_turn(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Reset the per-turn fields (a checkpointer keeps the last turn's) and condense follow-ups."""
    start = time.perf_counter()
    update: dict[str, Any] = {
        "query": state["question"], "route": "documents", "retrieved": [], "sources": [],
        "rewrites": 0, "generations": 0, "grounding_feedback": None, "sub_answers": [],
        "citations": [], "claims": [], "dropped_citations": 0, "repointed_citations": 0,
        "links_removed": 0, "refused": False,
        "grounded": None,
        "prompts": {}, "model_calls": {}, "steps": [],
    }
    history = state.get("history") or []
    if history and not (runtime.context.condense == "auto"
                        and not needs_conversation(state["question"])):
        ctx = runtime.context
        say("condensing the follow-up question")
        prompt = ctx.prompt("condense")
        turns = "\n".join(f"User: {t['question']}\nAssistant: {t['answer']}" for t in history[-3:])
        result, calls, error = structured(
            ctx, prompt.render(history=turns, question=state["question"]), StandaloneQuestion,
            "stand-alone question")
        update |= {"query": result.question if result else state["question"],
                   "prompts": {"condense": prompt.ref}, "model_calls": {"chat": calls}}
        if error:
            update["steps"] = [{"error": error, "fallback": "searched the follow-up as asked"}]
    elif history:
        update["steps"] = [{"condensed": False, "why": "the question stands alone"}]
    detail = update["steps"][0] if update["steps"] else {}
    update["steps"] = [{"node": "start_turn", "seconds": round(time.perf_counter() - start, 4),
                        "query": update["query"], **detail}]
    return update


def retrieve_documents(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    start = time.perf_counter()
    query = state.get("query") or state["question"]
    say(f"retrieving for: {query}")
    with ctx.model_guard("embedding"):
        hits = ctx.retriever.retrieve(query, ctx.top_k, ctx.where)
    relevant = [h for h in hits if h.score >= ctx.min_relevance]
    if ctx.context_order == "best-last":  # the closest chunk next to the question in the prompt
        relevant = relevant[::-1]
    return {"retrieved": hits, "sources": relevant,
            "steps": step(state, "retrieve_documents", start, query=query,
                          retrieved=[h.id for h in hits], kept=[h.id for h in relevant])}


def grade_documents(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Keep only the chunks the model judges useful for the question (one call for all)."""
    ctx = runtime.context
    start = time.perf_counter()
    sources = state.get("sources") or []
    if not sources:
        return {"steps": step(state, "grade_documents", start, kept=[])}
    if not ctx.grade_with_model:  # the claim check after the answer is the filter that counts
        return {"steps": step(state, "grade_documents", start, kept=[c.id for c in sources],
                              skipped="agent.grade: the retrieval scores decide (no model call)")}
    say(f"grading {len(sources)} chunks")
    prompt = ctx.prompt("grade")
    grades, calls, error = structured(ctx, prompt.render(question=state["question"],
                                                         context=format_sources(sources)),
                                      ChunkGrades, "relevance grades")
    if grades is None:  # keep what passed the similarity threshold, and say so in the trace
        kept, detail = sources, {"error": error, "fallback": "kept all chunks above threshold"}
    else:
        kept = [sources[n - 1] for n in dict.fromkeys(grades.relevant) if 1 <= n <= len(sources)]
        detail = {}
    return {"sources": kept, "prompts": {**state.get("prompts", {}), "grade": prompt.ref},
            "model_calls": counted(state, "chat", calls),
            "steps": step(state, "grade_documents", start, kept=[c.id for c in kept], **detail)}


def rewrite_query(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    start = time.perf_counter()
    say("rewriting the query")
    prompt = ctx.prompt("rewrite")
    previous = state.get("query") or state["question"]
    result, calls, error = structured(ctx, prompt.render(question=state["question"], query=previous),
                                      RewrittenQuery, "rewritten query")
    query = result.query if result else previous
    detail = {"error": error, "fallback": "searched the same query again"} if error else {}
    return {"query": query, "rewrites": state.get("rewrites", 0) + 1,
            "prompts": {**state.get("prompts", {}), "rewrite": prompt.ref},
            "model_calls": counted(state, "chat", calls),
            "steps": step(state, "rewrite_query", start, query=query, **detail)}


def decline_answer(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Say "I don't know" instead of inventing, and say what was found."""
    start = time.perf_counter()
    found = state.get("retrieved") or []
    if state.get("grounded") is False:  # name what the documents do not say
        return {"answer": declined(state.get("claims") or []), "citations": [], "claims": [],
                "refused": True, "steps": step(state, "decline_answer", start)}
    if found:
        names = sorted({h.source.rsplit("/", 1)[-1] for h in found[:3]})
        detail = f"the closest passages (in {', '.join(names)}) do not answer it"
    else:
        detail = f"nothing in collection '{runtime.context.collection}' matches it"
    return {"answer": f"I don't know: {detail}.", "citations": [], "refused": True,
            "steps": step(state, "decline_answer", start)}


def record_turn(state: RagState) -> dict[str, Any]:
    """Append this turn to the conversation history (kept by the checkpointer)."""
    return {"history": [{"question": state["question"], "answer": state.get("answer", "")}]}
