"""Routing and multi-hop nodes of the adaptive graph."""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from ragloom.agents.calls import chat, say, structured, traced
from ragloom.agents.citations import format_sources, is_refusal, restates_question
from ragloom.agents.generation import cited_answer
from ragloom.agents.schemas import Decomposition, Route
from ragloom.agents.state import RagContext, RagState, SubAnswer
from ragloom.retrieval.types import RetrievedChunk


@traced
def route_question(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    say("routing the question")
    prompt = ctx.prompt("route")
    route, calls, error = structured(
        ctx, prompt.render(question=state.get("query") or state["question"]), Route, "route")
    chosen = route.route if route else "documents"
    detail: dict[str, Any] = {"error": error, "fallback": "answer from documents"} if error else {}
    if chosen == "direct" and looks_like_question(state["question"]):
        # Small models send factual questions to small talk and then answer from memory.
        chosen, detail["override"] = "documents", "questions are answered from documents only"
    if chosen == "documents" and (cue := multi_hop_cue(state["question"])):
        # Small models almost never choose "decompose" (0.5B: 1 of 12 HotpotQA questions).
        chosen, detail["override"] = "decompose", f"multi-hop cue: {cue}"
    return {"route": chosen, "prompts": {"route": prompt.ref}, "model_calls": {"chat": calls},
            "detail": {"route": chosen, **detail}}


_QUESTION_START = re.compile(
    r"^(who|what|when|where|which|why|how|whose|whom|is|are|was|were|do|does|did|can|could|"
    r"should|would|will|has|have|had|tell me|list|name|explain|describe|compare)\b", re.I)


def looks_like_question(text: str) -> bool:
    return "?" in text or bool(_QUESTION_START.match(text.strip()))


# Two named things compared ("Are both X and Y ...", "Which is older, X or Y?"), or a thing identified
# by a relation that must be resolved first ("the film that was shot in ...", "a musician whose ...").
_COMPARISON = re.compile(r"\b(both|same|either|neither)\b"
                         r"|^\s*(which|who|what|is|are|was|were|did|does)\b[^?]*\bor\b", re.I)
_RELATION = re.compile(r"\w\s*,?\s+(that|whose|which|who|where)\s+(is|was|were|are|has|had|did|does|"
                       r"\w+ed|\w+s)\b", re.I)
_NAMED = re.compile(r"\s[A-Z0-9]")


def multi_hop_cue(question: str) -> str | None:
    """The phrase that marks ``question`` as multi-hop, or None: a cheap check, no model call."""
    if match := _COMPARISON.search(question):
        return f"comparison ({match.group(0).strip()})"
    # A relative clause after the question word itself ("who was ...") is not a second hop.
    body = _QUESTION_START.sub("", question.strip(), count=1)
    for match in _RELATION.finditer(body):
        # Only a relation to a named thing or a date is a hop ("items that were damaged" is not).
        if _NAMED.search(body[match.end():]):
            return f"relation ({match.group(0).strip()})"
    return None


def usable_sub_questions(question: str, proposed: list[str], limit: int) -> list[str]:
    """The proposed sub-questions worth a search: questions (small models also propose answers,
    "Yes, both are airports."), none repeating the whole question or an earlier one."""
    seen = {_normalised(question)}
    kept: list[str] = []
    for sub in proposed:
        key = _normalised(sub)
        if key and key not in seen and looks_like_question(sub):
            seen.add(key)
            kept.append(sub.strip())
    return kept[:limit]


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


@traced
def answer_sub_questions(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Decompose, then answer each sub-question in turn from its own retrieval.

    Later sub-questions are searched together with the earlier answers, so a bridge question
    ("the director of X" -> "when was that director born") can find its second hop.
    """
    ctx = runtime.context
    say("splitting into sub-questions")
    decompose = ctx.prompt("decompose")
    question = state.get("query") or state["question"]
    plan, calls, error = structured(ctx, decompose.render(question=question), Decomposition,
                                    "decomposition")
    proposed = plan.sub_questions if plan else []
    sub_questions = usable_sub_questions(question, proposed, ctx.max_sub_questions)
    dropped = [q for q in proposed if q not in sub_questions]
    if len(sub_questions) < 2:  # nothing to split: answer the question whole
        sub_questions = [question]
    answer_prompt = ctx.prompt("answer")
    subs: list[SubAnswer] = []
    for sub in sub_questions:
        query = " ".join([sub, *(s["answer"] for s in subs if not is_refusal(s["answer"]))])
        say(f"sub-question: {sub}")
        with ctx.model_guard("embedding"):
            hits = [h for h in ctx.retriever.retrieve(query, ctx.top_k, ctx.where)
                    if h.score >= ctx.min_relevance]
        if hits:
            reply = chat(ctx, answer_prompt.render(question=sub, context=format_sources(hits)))
            calls += 1
            text = cited_answer(str(reply.content), hits, sub,
                                threshold=ctx.claim_threshold)["answer"]
            if restates_question(text, sub):  # an echo is not an answer to build on
                text = "I don't know."
        else:
            text = "I don't know."
        subs.append({"question": sub, "answer": text, "sources": hits})
    sources = _union([h for s in subs for h in s["sources"]])
    return {"sub_answers": subs, "sources": sources,
            "retrieved": _union([*state.get("retrieved", []), *sources]),
            "prompts": {"decompose": decompose.ref, "answer": answer_prompt.ref},
            "model_calls": {"chat": calls},
            "detail": {"sub_questions": [s["question"] for s in subs],
                       **({"dropped": dropped} if dropped else {}),
                       **({"error": error, "fallback": "answered the question whole"}
                          if error else {})}}


@traced
def compose_answer(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    sources = state.get("sources") or []
    if not sources:
        return {"answer": "I don't know.", "refused": True, "citations": []}
    say("composing the final answer")
    prompt = ctx.prompt("compose")
    notes = "\n".join(f"- {s['question']} {s['answer']}" for s in state.get("sub_answers", []))
    messages = prompt.render(question=state["question"], notes=notes,
                             context=format_sources(sources))
    reply = chat(ctx, messages, answer=True, **prompt.params)
    return {**cited_answer(str(reply.content), sources, state["question"],
                           threshold=ctx.claim_threshold), "generations": 1,
            "prompts": {"compose": prompt.ref}, "model_calls": {"chat": 1}}


def _union(chunks: list[RetrievedChunk]) -> list[RetrievedChunk]:
    return list({c.id: c for c in chunks}.values())
