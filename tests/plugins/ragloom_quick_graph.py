"""A graph shipped by another package: retrieve -> answer -> check claims (no grading), declared
in the entry point group ``ragloom.graphs`` by the dist-info beside this file. Tests put this
folder on ``sys.path`` / ``PYTHONPATH`` the way an installed package would be."""

from ragloom.agents.generation import check_claims, generate_answer
from ragloom.agents.graphs import new_graph


def build_quick(checkpointer=None):  # type: ignore[no-untyped-def]
    graph = new_graph()
    graph.add_node(generate_answer)
    graph.add_node(check_claims)
    graph.add_edge("start_turn", "retrieve_documents")
    graph.add_edge("retrieve_documents", "generate_answer")
    graph.add_edge("generate_answer", "check_claims")
    graph.add_edge("check_claims", "record_turn")
    return graph.compile(name="quick", checkpointer=checkpointer)
