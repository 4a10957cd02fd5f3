"""Retrieval-side nodes: each is one small function ``(state, runtime) -> partial update``."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from ragloom.agents.calls import say, structured, traced
from ragloom.agents.citations import format_sources
from ragloom.agents.followups import needs_conversation
from ragloom.agents.schemas import ChunkGrades, RewrittenQuery, StandaloneQuestion
from ragloom.agents.state import RagContext, RagState, new_turn
from ragloom.agents.verify import declined


@traced
def start_turn(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Reset the per-turn fields (a checkpointer keeps the last turn's) and condense follow-ups."""
    update = new_turn(state["question"])
    history = state.get("history") or []
    detail: dict[str, Any] = {}
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
                   "prompts": Overwrite({"condense": prompt.ref}),
                   "model_calls": Overwrite({"chat": calls})}
        if error:
            detail = {"error": error, "fallback": "searched the follow-up as asked"}
    elif history:
        detail = {"condensed": False, "why": "the question stands alone"}
    return {**update, "detail": {"query": update["query"], **detail}}


@traced
def retrieve_documents(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    query = state.get("query") or state["question"]
    say(f"retrieving for: {query}")
    with ctx.model_guard("embedding"):
        hits = ctx.retriever.retrieve(query, ctx.top_k, ctx.where)
    relevant = [h for h in hits if h.score >= ctx.min_relevance]
    if ctx.context_order == "best-last":  # the closest chunk next to the question in the prompt
        relevant = relevant[::-1]
    return {"retrieved": hits, "sources": relevant,
            "detail": {"query": query, "retrieved": [h.id for h in hits],
                       "kept": [h.id for h in relevant]}}


@traced
def grade_documents(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Keep only the chunks the model judges useful for the question (one call for all)."""
    ctx = runtime.context
    sources = state.get("sources") or []
    if not sources:
        return {"detail": {"kept": []}}
    if not ctx.grade_with_model:  # the claim check after the answer is the filter that counts
        return {"detail": {"kept": [c.id for c in sources],
                           "skipped": "agent.grade: the retrieval scores decide (no model call)"}}
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
    return {"sources": kept, "prompts": {"grade": prompt.ref}, "model_calls": {"chat": calls},
            "detail": {"kept": [c.id for c in kept], **detail}}


@traced
def rewrite_query(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    say("rewriting the query")
    prompt = ctx.prompt("rewrite")
    previous = state.get("query") or state["question"]
    result, calls, error = structured(ctx, prompt.render(question=state["question"], query=previous),
                                      RewrittenQuery, "rewritten query")
    query = result.query if result else previous
    detail = {"error": error, "fallback": "searched the same query again"} if error else {}
    return {"query": query, "rewrites": state.get("rewrites", 0) + 1,
            "prompts": {"rewrite": prompt.ref}, "model_calls": {"chat": calls},
            "detail": {"query": query, **detail}}


@traced
def decline_answer(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Say "I don't know" instead of inventing, and say what was found."""
    found = state.get("retrieved") or []
    if state.get("grounded") is False:  # name what the documents do not say
        return {"answer": declined(state.get("claims") or []), "citations": [], "claims": [],
                "refused": True}
    if found:
        names = sorted({h.source.rsplit("/", 1)[-1] for h in found[:3]})
        why = f"the closest passages (in {', '.join(names)}) do not answer it"
    else:
        why = f"nothing in collection '{runtime.context.collection}' matches it"
    return {"answer": f"I don't know: {why}.", "citations": [], "refused": True}


def record_turn(state: RagState) -> dict[str, Any]:
    """Append this turn to the conversation history (kept by the checkpointer)."""
    return {"history": [{"question": state["question"], "answer": state.get("answer", "")}]}
