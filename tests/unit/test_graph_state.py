"""The graph state is merged by reducers and reset per turn; the embedded model is shared safely."""

from __future__ import annotations

import threading
import time

from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver

from ragloom.agents.calls import chat, traced
from ragloom.agents.graphs import new_graph
from ragloom.agents.state import RagContext, new_turn
from ragloom.core.models.embedded_chat import EmbeddedChat
from ragloom.core.models.turns import answer_turn, answers_at_once
from tests.fakes import scripted_chat


def _context(chat_model) -> RagContext:  # type: ignore[no-untyped-def]
    return RagContext(chat_model=chat_model, retriever=None, chat_provider="fake")  # type: ignore[arg-type]


@traced
def answer_first_only(state, runtime):  # type: ignore[no-untyped-def]
    """A node that writes an answer only to questions containing "first"."""
    if "first" not in state["question"]:
        return {"detail": {"answered": False}}
    reply = chat(runtime.context, [("user", state["question"])], answer=True)
    return {"answer": str(reply.content), "model_calls": {"chat": 1},
            "prompts": {"answer": "answer@9"}, "detail": {"answered": True}}


@traced
def grade_twice(state, runtime):  # type: ignore[no-untyped-def]
    return {"model_calls": {"chat": 2}, "prompts": {"grade": "grade@1"}}


@traced
def count_tokens(state, runtime):  # type: ignore[no-untyped-def]
    return {"model_calls": {"chat": 1, "embedding": 3}}


def _one_node_graph():  # type: ignore[no-untyped-def]
    graph = new_graph()
    graph.add_node(answer_first_only)
    graph.add_edge("start_turn", "answer_first_only")
    graph.add_edge("answer_first_only", "record_turn")
    return graph


def test_a_new_turn_resets_every_per_turn_field_including_the_answer() -> None:
    app = _one_node_graph().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    ctx = _context(scripted_chat("The first answer."))
    one = app.invoke({"question": "the first question"}, config, context=ctx)
    assert one["answer"] == "The first answer." and one["model_calls"] == {"chat": 1}
    two = app.invoke({"question": "What is the capital of Estonia?"}, config, context=ctx)
    # Nothing of turn one leaks into turn two's answer or trace; the history keeps both turns.
    assert two["answer"] == "" and two["model_calls"] == {} and two["prompts"] == {}
    assert [s["node"] for s in two["steps"]] == ["start_turn", "answer_first_only"]
    assert two["steps"][1]["answered"] is False and two["steps"][1]["seconds"] >= 0
    assert [t["question"] for t in two["history"]] == ["the first question",
                                                 "What is the capital of Estonia?"]


def test_parallel_branches_are_merged_by_the_reducers() -> None:
    graph = new_graph()
    graph.add_node(grade_twice)
    graph.add_node(count_tokens)
    graph.add_edge("start_turn", "grade_twice")  # both run in the same super-step
    graph.add_edge("start_turn", "count_tokens")
    graph.add_edge(["grade_twice", "count_tokens"], "record_turn")
    state = graph.compile().invoke({"question": "q"}, context=_context(scripted_chat()))
    assert state["model_calls"] == {"chat": 3, "embedding": 3}
    assert state["prompts"] == {"grade": "grade@1"}
    assert sorted(s["node"] for s in state["steps"]) == ["count_tokens", "grade_twice",
                                                         "start_turn"]


def test_new_turn_bypasses_the_reducers_and_gives_fresh_containers() -> None:
    one, two = new_turn("q1"), new_turn("q2")
    assert one["query"] == "q1" and one["answer"] == "" and one["grounded"] is None
    assert one["steps"].value == [] and one["steps"].value is not two["steps"].value
    assert one["retrieved"] is not two["retrieved"]


def test_the_embedded_model_decodes_for_one_caller_at_a_time(monkeypatch) -> None:
    inside, most = [0], [0]

    def slow_generate(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        inside[0] -= 1
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="ok"))])

    monkeypatch.setattr(ChatLlamaCpp, "_generate", slow_generate)
    model = EmbeddedChat.model_construct()  # no GGUF loaded: only the locking is under test
    threads = [threading.Thread(target=model._generate, args=([HumanMessage("hi")],))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1


def test_answers_at_once_and_the_embedded_turn() -> None:
    assert answers_at_once("local/qwen2.5-0.5b", 8) == 1
    assert answers_at_once("openai/gpt-4o-mini", 8) == 8
    waited: list[float] = []
    held = threading.Event()
    release = threading.Event()

    def other_session() -> None:
        with answer_turn("local/qwen2.5-0.5b"):
            held.set()
            release.wait(5)

    t = threading.Thread(target=other_session)
    t.start()
    held.wait(5)
    threading.Timer(0.8, release.set).start()
    with answer_turn("local/qwen2.5-0.5b", waiting=lambda: waited.append(time.monotonic())):
        pass
    t.join()
    assert waited  # this caller waited for the other one's answer, and was told so
    with answer_turn("openai/gpt-4o-mini"), answer_turn("openai/gpt-4o-mini"):
        pass  # servers take no turn: nested or concurrent answers never wait


def test_a_streaming_generate_takes_the_decoding_lock_once_not_twice(monkeypatch) -> None:
    """ChatLlamaCpp._generate calls self._stream when streaming: the lock must be re-entrant."""
    from langchain_core.messages import AIMessageChunk
    from langchain_core.outputs import ChatGenerationChunk

    def stream(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
        yield ChatGenerationChunk(message=AIMessageChunk(content="ok"))

    def generate(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
        text = "".join(c.message.content for c in self._stream(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    monkeypatch.setattr(ChatLlamaCpp, "_stream", stream)
    monkeypatch.setattr(ChatLlamaCpp, "_generate", generate)
    from types import SimpleNamespace

    model = EmbeddedChat.model_construct(client=SimpleNamespace(n_tokens=5))  # 4 prompt + "ok"
    done: list[str] = []
    worker = threading.Thread(target=lambda: done.append(
        model._generate([HumanMessage("hi")]).generations[0].message.content))
    worker.start()
    worker.join(5)
    assert done == ["ok"]  # not deadlocked on its own lock
    *_, last = model._stream([HumanMessage("hi")])  # llama.cpp's counts close the stream
    assert last.message.usage_metadata == {"input_tokens": 4, "output_tokens": 1,
                                           "total_tokens": 5}
