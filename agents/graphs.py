"""LangGraph state machines, wired from the nodes in ``ragloom.agents.nodes``, ``.generation`` and
``.multihop``. Users can compose their own graphs from the same nodes (see ``docs/agents.md``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from ragloom.agents.generation import (
    answer_directly,
    ask_clarification,
    check_claims,
    check_grounding,
    generate_answer,
    keep_supported_claims,
)
from ragloom.agents.multihop import answer_sub_questions, compose_answer, route_question
from ragloom.agents.nodes import (
    decline_answer,
    grade_documents,
    record_turn,
    retrieve_documents,
    rewrite_query,
    start_turn,
)
from ragloom.agents.routing import (
    after_claims,
    after_generation,
    after_grading,
    after_grounding,
    after_simple_retrieval,
    after_sub_answers,
    by_route,
)
from ragloom.agents.state import AskInput, RagContext, RagState
from ragloom.core.models.reachability import is_transient

# Transient model errors (timeouts, 5xx, rate limits) are retried with backoff; outages are not.
MODEL_RETRY = RetryPolicy(max_attempts=3, initial_interval=1.0, retry_on=is_transient)


def new_graph() -> StateGraph:
    """An empty graph with ragloom's state and context: add nodes and edges, then compile."""
    graph = StateGraph(RagState, context_schema=RagContext, input_schema=AskInput)
    graph.add_node(start_turn, retry_policy=MODEL_RETRY)
    graph.add_node(retrieve_documents, retry_policy=MODEL_RETRY)
    graph.add_node(decline_answer)
    graph.add_node(record_turn)
    graph.add_edge(START, "start_turn")
    graph.add_edge("decline_answer", "record_turn")
    graph.add_edge("record_turn", END)
    return graph


def _add_corrective_core(graph: StateGraph) -> None:
    """retrieve -> grade -> (rewrite -> retrieve) -> generate -> check claims -> check grounding
    (-> regenerate once -> keep the supported claims, or decline)."""
    for node in (grade_documents, rewrite_query, generate_answer, check_grounding):
        graph.add_node(node, retry_policy=MODEL_RETRY)
    graph.add_node(check_claims)
    graph.add_node(keep_supported_claims)
    graph.add_edge("retrieve_documents", "grade_documents")
    graph.add_conditional_edges("grade_documents", after_grading)
    graph.add_edge("rewrite_query", "retrieve_documents")
    graph.add_conditional_edges("generate_answer", after_generation)
    graph.add_conditional_edges("check_claims", after_claims)
    graph.add_conditional_edges("check_grounding", after_grounding)
    graph.add_edge("keep_supported_claims", "record_turn")


def build_simple_graph(checkpointer: Any = None) -> CompiledStateGraph:
    """retrieve -> generate -> check claims (no model call: unsupported sentences are marked
    "(not verified)"), or retrieve -> "I don't know" when nothing relevant was found."""
    graph = new_graph()
    graph.add_node(generate_answer, retry_policy=MODEL_RETRY)
    graph.add_node(check_claims)
    graph.add_edge("start_turn", "retrieve_documents")
    graph.add_conditional_edges("retrieve_documents", after_simple_retrieval)
    graph.add_edge("generate_answer", "check_claims")
    graph.add_edge("check_claims", "record_turn")
    return graph.compile(name="simple", checkpointer=checkpointer)


def build_corrective_graph(checkpointer: Any = None) -> CompiledStateGraph:
    graph = new_graph()
    _add_corrective_core(graph)
    graph.add_edge("start_turn", "retrieve_documents")
    return graph.compile(name="corrective", checkpointer=checkpointer)


def build_adaptive_graph(checkpointer: Any = None) -> CompiledStateGraph:
    """Route first: documents (corrective path), decompose (multi-hop), clarify, or direct."""
    graph = new_graph()
    _add_corrective_core(graph)
    for node in (route_question, answer_sub_questions, compose_answer, answer_directly,
                 ask_clarification):
        graph.add_node(node, retry_policy=MODEL_RETRY)
    graph.add_edge("start_turn", "route_question")
    graph.add_conditional_edges("route_question", by_route)
    graph.add_conditional_edges("answer_sub_questions", after_sub_answers)
    graph.add_conditional_edges("compose_answer", after_generation)
    graph.add_edge("answer_directly", "record_turn")
    graph.add_edge("ask_clarification", "record_turn")
    return graph.compile(name="adaptive", checkpointer=checkpointer)


GRAPHS: dict[str, Callable[..., CompiledStateGraph]] = {
    "simple": build_simple_graph,
    "corrective": build_corrective_graph,
    "adaptive": build_adaptive_graph,
}
