"""Answer-side nodes: generate with citations, check grounding, answer directly, ask back."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from ragloom.agents.calls import chat, say, structured, traced
from ragloom.agents.citations import extract_citations, format_sources, is_refusal
from ragloom.agents.claims import RESTATES, supported_share
from ragloom.agents.links import filter_links
from ragloom.agents.schemas import GroundingVerdict
from ragloom.agents.state import RagContext, RagState
from ragloom.agents.verify import keep_supported, mark_unverified, unsupported_feedback, verify_answer
from ragloom.retrieval.types import RetrievedChunk


def cited_answer(text: str, sources: list[RetrievedChunk], question: str = "", *,
                 threshold: float = 0.6) -> dict[str, Any]:
    """Validate the model's [n] markers, check every claim against the sources (a citation stays
    only where its chunk supports the sentence), detect refusals; links and images that neither
    the question nor the sources contain are removed (injected payloads)."""
    text, links_removed = filter_links(text, [question, *(c.text for c in sources)])
    text, _, dropped = extract_citations(text, sources)
    if is_refusal(text):
        return {"answer": "I don't know.", "citations": [], "claims": [],
                "dropped_citations": dropped, "refused": True, "links_removed": links_removed}
    checked = verify_answer(text, sources, question, threshold=threshold)
    return {"answer": checked.text, "citations": checked.citations, "claims": checked.claims,
            "dropped_citations": dropped + checked.dropped, "repointed_citations":
            checked.repointed, "refused": False, "links_removed": links_removed}


@traced
def generate_answer(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    sources = state["sources"]
    say(f"writing the answer from {len(sources)} chunks")
    prompt = ctx.prompt("answer")
    messages = prompt.render(question=state["question"], context=format_sources(sources))
    if feedback := state.get("grounding_feedback"):
        messages.append(("user", f"Your previous answer was not supported by the documents: "
                                  f"{feedback}. Answer again using only the documents."))
    reply = chat(ctx, messages, answer=True, **prompt.params)
    return {**cited_answer(str(reply.content), sources, state["question"],
                           threshold=ctx.claim_threshold),
            "generations": state.get("generations", 0) + 1,
            "prompts": {"answer": prompt.ref}, "model_calls": {"chat": 1}}


@traced
def check_claims(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """The deterministic verdict (no model call): grounded only when the share of supported
    claims reaches ``min_supported_share``; unsupported sentences are marked "(not verified)"."""
    if state.get("refused"):
        return {"detail": {"skipped": True}}
    claims = state.get("claims") or []
    share = supported_share(claims)
    grounded = bool(claims) and share >= runtime.context.min_supported_share
    echo = bool(claims) and all(RESTATES in c.missing for c in claims)
    feedback = ("your answer only repeated the question; state the fact that answers it, or "
                "say I don't know") if echo else unsupported_feedback(claims)
    return {"answer": mark_unverified(state["answer"], claims), "grounded": grounded,
            "grounding_feedback": None if grounded else feedback or "no claim to check",
            "detail": {"grounded": grounded,
                       "supported": f"{sum(c.supported for c in claims)}/{len(claims)}",
                       "restates_question": echo,
                       "repointed": state.get("repointed_citations", 0),
                       "unsupported": [c.text for c in claims if not c.supported]}}


@traced
def keep_supported_claims(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """After the last regeneration still failed: answer with only the supported sentences."""
    text, claims = keep_supported(state["answer"], state.get("claims") or [])
    kept = {n for c in claims for n in c.support}
    return {"answer": text, "claims": claims, "grounded": True, "grounding_feedback": None,
            "citations": [c for c in state.get("citations", []) if c.n in kept],
            "detail": {"kept": len(claims),
                       "removed": [c.text for c in state.get("claims") or [] if not c.supported]}}


@traced
def check_grounding(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Ask the model whether every claim is supported. It runs only after the claim check
    passed, and may only downgrade: a "grounded" from the model never overrides that check."""
    ctx = runtime.context
    if state.get("refused") or state.get("grounded") is False:
        return {"detail": {"skipped": True}}
    if not ctx.ground_with_model:  # a small model's verdict adds noise, not a check
        return {"detail": {"skipped": "agent.ground: the claim check decides (no model call)"}}
    say("checking that the answer is grounded")
    prompt = ctx.prompt("ground")
    verdict, calls, error = structured(
        ctx, prompt.render(context=format_sources(state["sources"]), answer=state["answer"]),
        GroundingVerdict, "grounding verdict")
    if verdict is None:  # the claim check's verdict stands, and the trace says the model's is missing
        return {"prompts": {"ground": prompt.ref}, "model_calls": {"chat": calls},
                "detail": {"error": error, "fallback": "claims checked without the model"}}
    feedback = "; ".join(verdict.unsupported) or "some claims are not in the documents"
    return {"grounded": verdict.grounded,
            "grounding_feedback": None if verdict.grounded else feedback,
            "prompts": {"ground": prompt.ref}, "model_calls": {"chat": calls},
            "detail": {"grounded": verdict.grounded, "unsupported": verdict.unsupported}}


@traced
def answer_directly(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    """Chit-chat needs no documents (and gets no citations)."""
    ctx = runtime.context
    prompt = ctx.prompt("direct")
    reply = chat(ctx, prompt.render(question=state["question"]), answer=True, **prompt.params)
    text, links_removed = filter_links(str(reply.content).strip(), [state["question"]])
    refused = is_refusal(text)  # a factual question routed here gets no answer from memory
    return {"answer": "I don't know: I answer factual questions only from your documents."
            if refused else text, "citations": [], "refused": refused, "links_removed": links_removed,
            "prompts": {"direct": prompt.ref}, "model_calls": {"chat": 1}}


@traced
def ask_clarification(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
    ctx = runtime.context
    prompt = ctx.prompt("clarify")
    reply = chat(ctx, prompt.render(question=state["question"]), answer=True, **prompt.params)
    return {"answer": str(reply.content).strip(), "citations": [], "refused": False,
            "prompts": {"clarify": prompt.ref}, "model_calls": {"chat": 1}}
