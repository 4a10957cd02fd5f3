"""Pure routing functions: state (and limits from the runtime context) in, next node out."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime

from ragloom.agents.citations import is_refusal
from ragloom.agents.state import RagContext, RagState
from ragloom.agents.verify import answers_by_choice, keep_supported


def after_simple_retrieval(state: RagState) -> Literal["generate_answer", "decline_answer"]:
    return "generate_answer" if state.get("sources") else "decline_answer"


def after_grading(state: RagState, runtime: Runtime[RagContext]
                  ) -> Literal["generate_answer", "rewrite_query", "decline_answer"]:
    if state.get("sources"):
        return "generate_answer"
    if state.get("rewrites", 0) < runtime.context.max_rewrites:
        return "rewrite_query"
    return "decline_answer"


def after_generation(state: RagState) -> Literal["check_claims", "record_turn"]:
    return "record_turn" if state.get("refused") else "check_claims"


def after_claims(state: RagState, runtime: Runtime[RagContext]
                 ) -> Literal["check_grounding", "generate_answer", "keep_supported_claims",
                              "record_turn", "decline_answer"]:
    """Only an answer that passed the claim check is worth a model's grounding call. A failed
    one is regenerated once with the unsupported claims named, then cut to what is supported;
    a verdict among the question's alternatives is given marked "not verified"."""
    if state.get("grounded"):
        return "check_grounding"
    if state.get("generations", 0) < runtime.context.max_generations:
        return "generate_answer"
    claims = state.get("claims") or []
    if answers_by_choice(claims, state["question"], state.get("sources") or []):
        return "record_turn"  # check_claims already marked it "(not verified)"
    if keep_supported(state.get("answer", ""), claims)[0].strip():
        return "keep_supported_claims"  # never an empty answer labelled grounded
    return "decline_answer"


def after_grounding(state: RagState, runtime: Runtime[RagContext]
                    ) -> Literal["record_turn", "generate_answer", "decline_answer"]:
    if state.get("grounded") is not False:  # True, or unknown after a failed check (recorded)
        return "record_turn"
    if state.get("generations", 0) < runtime.context.max_generations:
        return "generate_answer"
    return "decline_answer"


def after_sub_answers(state: RagState) -> Literal["compose_answer", "decline_answer"]:
    """Compose only when some sub-question was answered: otherwise every hop of the chain is
    missing from the documents and a composed answer could only be invented."""
    answered = [s for s in state.get("sub_answers", []) if not is_refusal(s["answer"])]
    return "compose_answer" if answered and state.get("sources") else "decline_answer"


def by_route(state: RagState) -> Literal["retrieve_documents", "answer_sub_questions",
                                         "ask_clarification", "answer_directly"]:
    return {"decompose": "answer_sub_questions", "clarify": "ask_clarification",
            "direct": "answer_directly"}.get(state.get("route", ""), "retrieve_documents")  # type: ignore[return-value]
