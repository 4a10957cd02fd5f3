"""`import ragloom`: the public API on fakes (scripted chat, bag-of-words embeddings).

The same calls on the embedded models, as docs/python.md shows them, run in
tests/integration/test_python_api_docs.py."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

import ragloom
import ragloom.agents.service as service
import ragloom.core.models as models
import ragloom.evals.answering as answering
from tests.fakes import BagOfWordsEmbeddings

OOLONG = "What temperature should I brew the Oolong at?"
GOOD = "Brew it at 85 degrees Celsius [1]."


@pytest.fixture
def fakes(monkeypatch, settings):  # type: ignore[no-untyped-def]
    """Every model ragloom builds from settings is a fake; returns the chat replies to script."""
    embeddings = BagOfWordsEmbeddings()
    replies: list[str] = []
    monkeypatch.setattr(models, "get_embeddings", lambda spec, s: embeddings)
    monkeypatch.setattr(service, "get_embeddings", lambda spec, s: embeddings)
    monkeypatch.setattr(answering, "get_embeddings", lambda spec, s: embeddings)
    monkeypatch.setattr(service, "get_chat_model", lambda spec, s: GenericFakeChatModel(
        messages=iter([*(AIMessage(content=r) for r in replies),
                       *itertools.repeat(AIMessage(content=GOOD), 5)])))
    ragloom.ingest([ragloom.sample_corpus()], collection="sample", settings=settings)
    return replies


def test_import_ragloom_is_light_and_lists_its_api() -> None:
    out = subprocess.run([sys.executable, "-c", "import sys, ragloom; print(sorted(m for m in "
                          "('langgraph', 'chromadb', 'llama_cpp') if m in sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"  # the CLI imports this package: nothing heavy on the way
    assert set(ragloom.__all__) == set(ragloom._EXPORTS)
    for name in ragloom.__all__:
        assert getattr(ragloom, name) is not None and name in dir(ragloom)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ragloom.nope  # noqa: B018


def test_ingest_then_ask_with_settings_given(fakes, settings) -> None:
    answer = ragloom.ask(OOLONG, collection="sample", graph="simple", settings=settings)
    assert isinstance(answer, ragloom.Answer) and "85" in answer.answer and answer.grounded
    assert answer.citations[0].source.endswith("tea-guide.pdf") and answer.trace_id


def test_settings_none_resolves_like_the_cli(fakes, settings, monkeypatch, tmp_path) -> None:
    (tmp_path / "ragloom.toml").write_text(f'home = "{settings.home}"\ncollection = "sample"\n')
    monkeypatch.setenv("RAGLOOM_EMBEDDING", "local/fake-bow")
    answer = ragloom.ask(OOLONG, graph="simple")  # ragloom.toml in the working directory
    assert answer.collection == "sample" and "85" in answer.answer


def test_ask_stream_yields_typed_events_and_a_reset_before_a_redraft(fakes, settings) -> None:
    fakes.append("Brew it at 99 degrees on the moon [1].")  # fails the claim check
    events = list(ragloom.ask_stream(OOLONG, collection="sample", graph="corrective",
                                     settings=settings))
    kinds = [e.kind for e in events]
    assert kinds[-1] == "answer" and isinstance(events[-1], ragloom.AnswerEvent)
    reset = kinds.index("answer-reset")
    first = "".join(e.text for e in events[:reset] if isinstance(e, ragloom.TokenEvent))
    second = "".join(e.text for e in events[reset:] if isinstance(e, ragloom.TokenEvent))
    assert "99" in first and second == GOOD  # the final text cites the chunk that supports it
    assert events[-1].answer.answer.startswith("Brew it at 85 degrees Celsius [")
    assert any(isinstance(e, ragloom.StepEvent) and e.text.startswith("retrieving") for e in events)
    assert kinds.count("answer-reset") == 1


def test_prompts_filters_and_history_are_checked_at_the_edge(fakes, settings) -> None:
    pinned = ragloom.ask(OOLONG, collection="sample", graph="simple", settings=settings,
                         prompts=["answer@1"])
    assert pinned.prompts == {"answer": "answer@1"}
    with pytest.raises(ragloom.ConfigError, match="not one string"):
        ragloom.ask(OOLONG, collection="sample", settings=settings, prompts="answer@1")
    with pytest.raises(ragloom.RagloomError, match="operator"):
        ragloom.ask(OOLONG, collection="sample", settings=settings, where={"page": {"$near": 1}})
    fakes.append(json.dumps({"question": "How many times can Oolong leaves be steeped?"}))
    kept = ragloom.ask("And how many times can they be steeped?", collection="sample",
                       graph="simple", settings=settings,
                       history=[{"question": OOLONG, "answer": GOOD}])
    assert kept.model_calls == {"chat": 2}  # the follow-up leans on the turn: condensed first


def test_records_are_ingested_and_bad_items_refused(fakes, settings) -> None:
    report = ragloom.ingest([ragloom.Record(id="r1", title="Kites",
                                            text="The club kite is green and gold.")],
                            collection="kites", settings=settings)
    assert report.ok and report.chunks_added == 1
    with pytest.raises(ragloom.ConfigError, match="either paths or records"):
        ragloom.ingest([ragloom.Record(id="r2", text="x"), Path("a.txt")], collection="kites",
                       settings=settings)
    with pytest.raises(ragloom.ConfigError, match="cannot ingest a int"):
        ragloom.ingest([3], collection="kites", settings=settings)


def test_a_registered_graph_answers_like_a_shipped_one(fakes, settings) -> None:
    from ragloom.agents.generation import check_claims, generate_answer
    from ragloom.agents.graphs import GRAPHS, new_graph

    def build_quick(checkpointer=None):  # type: ignore[no-untyped-def]
        graph = new_graph()
        graph.add_node("write_reply", generate_answer)  # any node name: its tokens stream
        graph.add_node(check_claims)
        graph.add_edge("start_turn", "retrieve_documents")
        graph.add_edge("retrieve_documents", "write_reply")
        graph.add_edge("write_reply", "check_claims")
        graph.add_edge("check_claims", "record_turn")
        return graph.compile(name="quick", checkpointer=checkpointer)

    try:
        ragloom.register_graph("quick", build_quick)
        answer = ragloom.ask(OOLONG, collection="sample", graph="quick", settings=settings,
                             thread="t1")
        assert answer.graph == "quick" and answer.grounded and answer.thread == "t1"
        tokens = [e.text for e in ragloom.ask_stream(OOLONG, collection="sample", graph="quick",
                                                     settings=settings)
                  if isinstance(e, ragloom.TokenEvent)]
        assert "".join(tokens) == GOOD
        with pytest.raises(ragloom.ConfigError, match="not callable"):
            ragloom.register_graph("broken", "not a builder")
    finally:
        GRAPHS.pop("quick", None)


def test_evaluate_runs_a_suite_per_variant(fakes, settings, tmp_path) -> None:
    (tmp_path / "rows.jsonl").write_text(json.dumps(
        {"id": "oolong", "question": OOLONG, "reference": "85 degrees Celsius",
         "gold_sources": ["tea-guide.pdf"]}) + "\n")
    suite = tmp_path / "tiny.yaml"
    suite.write_text(f"description: tiny\ndataset:\n  path: rows.jsonl\ncollection:\n  name: "
                     f"tiny\n  paths: [{ragloom.sample_corpus()}]\ngraph: simple\n"
                     f"metrics: [retrieval_recall, answer_contains, refusal]\n")
    runs = ragloom.evaluate(suite, variants=["answer@1", "answer@2"], settings=settings)
    assert [r["variant"] for r in runs] == ["answer@1", "answer@2"]
    for run in runs:
        assert run["status"] == "done" and len(run["rows"]) == 1
        assert run["summary"]["answer_contains"]["mean"] == 1.0
