from pathlib import Path

import pytest

from ragloom.agents.service import ask, ask_stream
from ragloom.agents.state import RagContext
from ragloom.core.errors import ModelUnavailableError
from ragloom.prompts import PromptStore
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import HybridRetriever
from tests.conftest import SAMPLE_CORPUS
from tests.fakes import ExplodingChat, scripted_chat


@pytest.fixture
def filled_store(settings, fake_embeddings):
    col = Collection(settings, "sample", fake_embeddings)
    ingest([SAMPLE_CORPUS], col, workers=1)
    return col


def _context(col, chat, **kw) -> RagContext:
    retriever = HybridRetriever(col.store, col.store.embeddings, LexicalIndex.load(col.lexical_dir))
    return RagContext(chat_model=chat, retriever=retriever, collection=col.name, **kw)


def test_answer_carries_citations_prompt_and_timings(filled_store, settings) -> None:
    chat = scripted_chat("Brew the Oolong at 85 degrees Celsius [1].")
    answer = ask("At what temperature do I brew the Oolong?", settings,
                 context=_context(filled_store, chat), graph="simple")
    assert not answer.refused and "85 degrees" in answer.answer
    assert answer.citations[0].source.endswith("tea-guide.pdf")
    assert answer.prompts == {"answer": PromptStore().get("answer").ref}  # the production label
    assert {"retrieve_documents", "generate_answer", "total"} <= set(answer.timings)
    assert answer.model_calls == {"chat": 1} and answer.trace_id


def test_irrelevant_question_is_declined_without_calling_the_model(filled_store, settings) -> None:
    answer = ask("zebra quantum xylophone", settings, context=_context(filled_store, ExplodingChat(
        messages=iter([]))), graph="simple")
    assert answer.refused and answer.citations == [] and "I don't know" in answer.answer


def test_model_refusal_is_reported_as_refusal(filled_store, settings) -> None:
    chat = scripted_chat("I don't know.")
    answer = ask("How long does shipping to Canada take?", settings,
                 context=_context(filled_store, chat), graph="simple")
    assert answer.refused and answer.answer == "I don't know." and answer.citations == []


def test_pinned_prompt_version_is_recorded(filled_store, settings) -> None:
    chat = scripted_chat("Seven to ten business days [1].")
    ctx = _context(filled_store, chat, prompt_refs={"answer": "answer@1"})
    assert ask("shipping Canada", settings, context=ctx, graph="simple").prompts["answer"] == "answer@1"


def test_stream_yields_steps_tokens_then_answer(filled_store, settings) -> None:
    chat = scripted_chat("Members are paid in June and December.")
    events = list(ask_stream("When are members paid?", settings,
                             context=_context(filled_store, chat), graph="simple"))
    kinds = [k for k, _ in events]
    assert kinds[0] == "step" and kinds[-1] == "answer" and "token" in kinds
    steps = [v for k, v in events if k == "step"]
    assert steps[:2] == ["retrieving for: When are members paid?", "writing the answer from 2 chunks"]
    # Before the first token: how much the model is reading (an estimate, ~4 characters a token).
    assert len(steps) == 3 and steps[2].startswith("reading about ")
    assert steps[2].endswith(" tokens of context") and int(steps[2].split()[2].replace(",", "")) > 50
    tokens = "".join(v for k, v in events if k == "token")
    assert tokens == "Members are paid in June and December."
    assert events[-1][1].citations  # attributed by the claim check (the handbook supports it)


def test_unreachable_model_becomes_one_clear_error(filled_store, settings) -> None:
    import contextlib

    import httpx

    from ragloom.core.models.reachability import model_call
    from ragloom.core.models.spec import ModelSpec

    class Down(ExplodingChat):
        def _generate(self, *a, **k):  # type: ignore[no-untyped-def]
            raise httpx.ConnectError("connection refused")

    spec = ModelSpec.parse("ollama/llama3.2")
    ctx = _context(filled_store, Down(messages=iter([])),
                   model_guard=lambda role: model_call(spec, settings, role)
                   if role == "chat" else contextlib.nullcontext())
    with pytest.raises(ModelUnavailableError) as info:
        ask("When are members paid?", settings, context=ctx, graph="simple")
    line = str(info.value)
    assert "cannot reach ollama at http://localhost:11434" in line
    assert "ollama pull llama3.2" in line and "\n" not in line


def test_unknown_graph_is_a_config_error(filled_store, settings) -> None:
    from ragloom.core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown graph"):
        ask("q", settings, graph="nope", context=_context(filled_store, scripted_chat("x")))


def test_sample_corpus_present() -> None:
    assert {p.suffix for p in Path(SAMPLE_CORPUS).iterdir()} >= {".md", ".txt", ".pdf"}
