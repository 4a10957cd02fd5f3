"""LangGraph state machines, wired from the nodes in ``agents.nodes``."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.nodes import decline_answer, generate_answer, retrieve_documents, route_after_retrieval
from agents.state import AskInput, RagContext, RagState


def build_simple_graph() -> CompiledStateGraph:
    """retrieve -> generate, or retrieve -> decline when nothing relevant was found."""
    graph = StateGraph(RagState, context_schema=RagContext, input_schema=AskInput)
    graph.add_node(retrieve_documents)
    graph.add_node(generate_answer)
    graph.add_node(decline_answer)
    graph.add_edge(START, "retrieve_documents")
    graph.add_conditional_edges("retrieve_documents", route_after_retrieval)
    graph.add_edge("generate_answer", END)
    graph.add_edge("decline_answer", END)
    return graph.compile(name="simple")


GRAPHS = {"simple": build_simple_graph}
