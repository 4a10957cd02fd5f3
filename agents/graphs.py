"""LangGraph state machines, wired from the nodes in ``ragloom.agents.nodes``, ``.generation`` and
``.multihop``. Users can compose their own graphs from the same nodes (see ``docs/agents.md``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy
from pydantic import AfterValidator

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
from ragloom.core.errors import ConfigError
from ragloom.core.models.reachability import is_transient

log = logging.getLogger(__name__)

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


GraphBuilder = Callable[..., CompiledStateGraph]  # (checkpointer=None) -> a compiled graph
ENTRY_POINTS = "ragloom.graphs"  # the group other packages declare their graphs in
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

# The one registry: every name here is accepted wherever a graph is named (settings, CLI, API,
# web app, evaluation variants). The shipped graphs register like any other.
GRAPHS: dict[str, GraphBuilder] = {}
_loaded = False


def register_graph(name: str, builder: GraphBuilder) -> None:
    """Make ``builder(checkpointer=None)`` answer as graph ``name`` (a later call replaces it)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"graph name {name!r} must be 1-64 letters, digits, '-' or '_'")
    if not callable(builder):
        raise ConfigError(f"the builder for graph {name!r} is not callable",
                          fix="pass a function (checkpointer=None) -> compiled graph")
    GRAPHS[name] = builder


def graph_names() -> list[str]:
    """Every registered graph: the shipped ones, then those of installed packages (entry point
    group ``ragloom.graphs``), then any registered in this process."""
    global _loaded
    if not _loaded:
        _loaded = True
        for ep in entry_points(group=ENTRY_POINTS):
            try:
                GRAPHS.setdefault(ep.name, ep.load())
            except Exception as exc:  # one broken plugin must not take the shipped graphs down
                log.warning("graph %r from %s could not be loaded: %s: %s", ep.name, ep.value,
                            type(exc).__name__, exc)
    return list(GRAPHS)


def known_graph(name: str) -> str:
    """``name`` if it is a registered graph (a pydantic validator: a ValueError is a 422)."""
    if name not in graph_names():
        raise ValueError(f"unknown graph {name!r}: use one of {', '.join(GRAPHS)}")
    return name


GraphName = Annotated[str, AfterValidator(known_graph)]


def get_graph_builder(name: str) -> GraphBuilder:
    if name not in graph_names():
        raise ConfigError(f"unknown graph '{name}'", fix=f"use one of {', '.join(GRAPHS)}, or "
                          "register yours (ragloom.register_graph, docs/python.md)")
    return GRAPHS[name]


for _name, _builder in (("simple", build_simple_graph), ("corrective", build_corrective_graph),
                        ("adaptive", build_adaptive_graph)):
    register_graph(_name, _builder)
