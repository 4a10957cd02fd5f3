"""Conversations kept by ragloom: regenerate and edit-and-resend rewind a thread's memory and
its chat's turns; the checkpointer stores the state's own types without LangGraph's warnings."""

from __future__ import annotations

import pytest

from ragloom.agents.service import ask, get_trace
from ragloom.core.errors import RagloomError
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from tests.conftest import SAMPLE_CORPUS
from tests.fakes import scripted_chat
from tests.unit.test_agent_graphs import OOLONG, _ctx


@pytest.fixture
def col(settings, fake_embeddings) -> Collection:
    col = Collection(settings, "turns", fake_embeddings)
    ingest([SAMPLE_CORPUS], col, workers=1)
    return col


def _thread_state(settings, thread: str) -> list[dict]:
    from ragloom.agents.graphs import get_graph_builder
    from ragloom.core.storage.threads import checkpointer

    with checkpointer(settings.home, settings.database) as saver:
        compiled = get_graph_builder("simple")(checkpointer=saver)
        return compiled.get_state({"configurable": {"thread_id": thread}}).values["history"]


def test_regenerate_and_edit_replace_turns_in_memory_and_in_the_chat(col, settings) -> None:
    from ragloom.agents.chats import chat_history

    ask(OOLONG, settings, context=_ctx(col, scripted_chat("85 degrees Celsius [1].")),
        graph="simple", thread="web-r")
    ask("How long should Darjeeling black tea steep?", settings, graph="simple", thread="web-r",
        context=_ctx(col, scripted_chat("Three to five minutes [1].")))
    # Regenerate the last turn: the conversation still has two turns, the new answer second.
    again = ask("How long should Darjeeling black tea steep?", settings, graph="simple", thread="web-r",
                from_turn=1, context=_ctx(col, scripted_chat("Four minutes [1].")))
    assert [t["answer"] for t in _thread_state(settings, "web-r")] == [
        "85 degrees Celsius [1].", again.answer]
    turns = chat_history(settings, "web-r")
    assert [t["answer"].answer for t in turns] == ["85 degrees Celsius [1].", again.answer]
    # Edit and resend the first question: one turn is left, and the old ones are traces still.
    edited = ask("What temperature suits Sencha green tea?", settings, graph="simple", thread="web-r",
                 from_turn=0, context=_ctx(col, scripted_chat("80 degrees [1].")))
    assert [t["question"] for t in _thread_state(settings, "web-r")] == [edited.question]
    assert [t["question"] for t in chat_history(settings, "web-r")] == [edited.question]
    assert get_trace(settings, again.trace_id)["answer"] == again.answer


def test_a_turn_outside_the_conversation_is_a_clear_error(col, settings) -> None:
    ask(OOLONG, settings, context=_ctx(col, scripted_chat("85 degrees Celsius [1].")),
        graph="simple", thread="web-x")
    with pytest.raises(RagloomError, match=r"turn 3 is not in this conversation \(it has 1\)"):
        ask(OOLONG, settings, context=_ctx(col, scripted_chat("x")), graph="simple",
            thread="web-x", from_turn=3)
    with pytest.raises(RagloomError, match="from_turn needs the conversation's thread"):
        ask(OOLONG, settings, context=_ctx(col, scripted_chat("x")), graph="simple", from_turn=0)


def test_threads_store_the_state_types_without_langgraph_warnings(col, settings, caplog) -> None:
    import logging

    with caplog.at_level(logging.WARNING, logger="langgraph"):
        ask(OOLONG, settings, context=_ctx(col, scripted_chat("85 degrees Celsius [1].")),
            graph="simple", thread="web-serde")
        again = ask("How long should Darjeeling black tea steep?", settings, graph="simple",
                    thread="web-serde", from_turn=1,
                    context=_ctx(col, scripted_chat("Three to five minutes [1].")))
    assert again.answer and _thread_state(settings, "web-serde")[0]["answer"].startswith("85")
    assert not [r for r in caplog.records if "unregistered type" in r.getMessage()]
