"""Answer-side nodes: generate with citations, check grounding, answer directly, ask back."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agents.calls import chat, counted, say, step, structured
from agents.citations import (
    attribute_sentences,
    extract_citations,
    format_sources,
    is_refusal,
    restates_question,
)
from agents.links import filter_links
from agents.schemas import GroundingVerdict
from agents.state import RagContext, RagState
from retrieval.types import RetrievedChunk


def cited_answer(text: str, sources: list[RetrievedChunk], question: str = "") -> dict[str, Any]:
    """Validate the model's [n] markers, attribute uncited sentences, detect refusals; links and
    images that neither the question nor the sources contain are removed (injected payloads)."""
    text, links_removed = filter_links(text, [question, *(c.text for c in sources)])
    text, citations, dropped = extract_citations(text, sources)
    if is_refusal(text):
        return {"answer": "I don't know.", "citations": [], "dropped_citations": dropped,
                "refused": True, "links_removed": links_removed}
    text, attributed = attribute_sentences(text, sources)
    cited = {c.n for c in citations}
    citations = sorted([*citations, *(c for c in attributed if c.n not in cited)], key=lambda c: c.n)
    return {"answer": text, "citations": citations, "dropped_citations": dropped, "refused": False,
            "links_removed": links_removed}


def generate_answer(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    start = time.perf_counter()
    sources = state["sources"]
    say(f"writing the answer from {len(sources)} chunks")
    prompt = ctx.prompt("answer")
    messages = prompt.render(question=state["question"], context=format_sources(sources))
    if feedback := state.get("grounding_feedback"):
        messages.append(("user", f"Your previous answer was not supported by the documents: "
                                  f"{feedback}. Answer again using only the documents."))
    reply = chat(ctx, messages, **prompt.params)
    return {**cited_answer(str(reply.content), sources, state["question"]),
            "generations": state.get("generations", 0) + 1,
            "prompts": {**state.get("prompts", {}), "answer": prompt.ref},
            "model_calls": counted(state, "chat"),
            "steps": step(state, "generate_answer", start)}


def check_grounding(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Ask whether every claim of the answer is supported by the chunks it was given."""
    ctx = runtime.context
    start = time.perf_counter()
    if state.get("refused"):
        return {"grounded": None, "steps": step(state, "check_grounding", start, skipped=True)}
    if restates_question(state["answer"], state["question"]):  # no claim to check: no model call
        return {"grounded": False, "grounding_feedback": "your answer only repeated the question; "
                "state the fact that answers it, or say I don't know",
                "steps": step(state, "check_grounding", start, grounded=False,
                              restates_question=True)}
    say("checking that the answer is grounded")
    prompt = ctx.prompt("ground")
    verdict, calls, error = structured(
        ctx, prompt.render(context=format_sources(state["sources"]), answer=state["answer"]),
        GroundingVerdict, "grounding verdict")
    if verdict is None:  # unknown, not "grounded": the answer goes out flagged as unchecked
        return {"grounded": None, "prompts": {**state.get("prompts", {}), "ground": prompt.ref},
                "model_calls": counted(state, "chat", calls),
                "steps": step(state, "check_grounding", start, error=error,
                              fallback="answer returned unchecked")}
    feedback = "; ".join(verdict.unsupported) or "some claims are not in the documents"
    return {"grounded": verdict.grounded,
            "grounding_feedback": None if verdict.grounded else feedback,
            "prompts": {**state.get("prompts", {}), "ground": prompt.ref},
            "model_calls": counted(state, "chat", calls),
            "steps": step(state, "check_grounding", start, grounded=verdict.grounded,
                          unsupported=verdict.unsupported)}


def answer_directly(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Chit-chat needs no documents (and gets no citations)."""
    ctx = runtime.context
    start = time.perf_counter()
    prompt = ctx.prompt("direct")
    reply = chat(ctx, prompt.render(question=state["question"]), **prompt.params)
    text, links_removed = filter_links(str(reply.content).strip(), [state["question"]])
    refused = is_refusal(text)  # a factual question routed here gets no answer from memory
    return {"answer": "I don't know: I answer factual questions only from your documents."
            if refused else text, "citations": [], "refused": refused, "links_removed": links_removed,
            "prompts": {**state.get("prompts", {}), "direct": prompt.ref},
            "model_calls": counted(state, "chat"), "steps": step(state, "answer_directly", start)}


def ask_clarification(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    start = time.perf_counter()
    prompt = ctx.prompt("clarify")
    reply = chat(ctx, prompt.render(question=state["question"]), **prompt.params)
    return {"answer": str(reply.content).strip(), "citations": [], "refused": False,
            "prompts": {**state.get("prompts", {}), "clarify": prompt.ref},
            "model_calls": counted(state, "chat"), "steps": step(state, "ask_clarification", start)}
