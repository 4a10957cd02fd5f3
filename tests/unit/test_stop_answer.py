"""Stopping an answer: the model call in flight ends, it is not left decoding."""

import threading
import time

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from ragloom.agents.service import ask_stream
from ragloom.agents.state import RagContext
from ragloom.core.models.cancel import AnswerStopped, Cancellation
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import HybridRetriever
from tests.conftest import SAMPLE_CORPUS

WORDS = 200


class SlowChat(GenericFakeChatModel):
    """Streams WORDS words, 20 ms each, and counts how many it produced."""

    produced: list[int] = []  # noqa: RUF012 (a pydantic field shared by the test on purpose)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        for i in range(WORDS):
            time.sleep(0.02)
            self.produced.append(i)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=f"word{i} "))
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


@pytest.fixture
def ctx(settings, fake_embeddings) -> RagContext:
    col = Collection(settings, "sample", fake_embeddings)
    ingest([SAMPLE_CORPUS], col, workers=1)
    retriever = HybridRetriever(col.store, col.store.embeddings, LexicalIndex.load(col.lexical_dir))
    chat = SlowChat(messages=iter([AIMessage(content="unused")]), produced=[])
    return RagContext(chat_model=chat, retriever=retriever, collection=col.name)


def test_closing_the_stream_stops_the_model_call(ctx, settings) -> None:
    events = ask_stream("How long does shipping to Canada take?", settings, context=ctx,
                        graph="simple")
    for kind, _ in events:
        if kind == "token":
            break
    started = time.perf_counter()
    events.close()  # what the web app's Stop button (a rerun) and a dropped HTTP stream do
    closing = time.perf_counter() - started
    produced = len(ctx.chat_model.produced)
    time.sleep(0.3)
    assert len(ctx.chat_model.produced) == produced, "the model kept decoding after the stop"
    assert produced < 20 < WORDS and closing < 1.0  # 200 words would take 4 s
    assert threading.active_count() < 20


def test_a_run_that_is_not_stopped_is_untouched(ctx, settings) -> None:
    kinds = [k for k, _ in ask_stream("How long does shipping to Canada take?", settings,
                                      context=ctx, graph="simple")]
    assert kinds[-1] == "answer" and len(ctx.chat_model.produced) == WORDS


def test_cancellation_refuses_the_next_call_and_token_once_stopped() -> None:
    c = Cancellation()
    c.on_chat_model_start({}, [])
    c.on_llm_new_token("x")
    c.stop()
    assert c.stopped
    for call in (lambda: c.on_chat_model_start({}, []), lambda: c.on_llm_new_token("x"),
                 lambda: c.on_llm_start({}, [])):
        with pytest.raises(AnswerStopped, match="stopped before it was finished"):
            call()
