"""The trace view: a real answer's trace (API on fakes) records each model call's messages,
completion and latency, each step's start, each chunk's text and scores; the Traces page (AppTest)
lists, filters and opens it without a raw JSON tree; `ragloom trace` prints the same rows; the API
filters; evaluation rows link to their trace."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from ragloom.agents.service import get_trace, rate_answer, search_traces
from ragloom.agents.trace_rows import call_rows, chunk_rows, timeline_rows
from ragloom.core.settings import Settings
from tests.unit.api_helpers import client, fill
from tests.unit.test_ui_support import app_test, fake_services, texts

QUESTION = "At what temperature do I brew the Oolong?"


@pytest.fixture
def answered(settings: Settings) -> dict[str, Any]:
    """Two real answers through the API: one rated down, one not."""
    fill(settings)
    with client(settings, auth=False) as api:
        ids = []
        for q in (QUESTION, "How long does green tea keep its flavour?"):
            r = api.post("/ask", json={"question": q, "collection": "sample",
                                       "graph": "corrective"})
            assert r.status_code == 200, r.text
            ids.append(r.json()["trace_id"])
    rate_answer(settings, ids[0], "down", "too vague")
    return {"oolong": ids[0], "green": ids[1]}


def test_a_trace_records_prompts_completions_latencies_and_chunk_text(settings, answered) -> None:
    trace = get_trace(settings, answered["oolong"])
    calls = call_rows(trace)
    assert calls and len(calls) == len(trace["usage"]["calls"])
    for c in calls:
        assert c["seconds"] is not None and c["seconds"] >= 0
        assert c["messages"] and c["completion"] is not None
    answering = next(c for c in calls if c["step"] == "generate_answer")
    assert any(QUESTION in m["content"] for m in answering["messages"])
    assert "85 degrees" in answering["completion"]
    steps = timeline_rows(trace)
    assert [s["step"] for s in steps][:2] == ["start_turn", "retrieve_documents"]
    assert steps[0]["start_s"] == 0.0 and all(s["start_s"] >= 0 for s in steps)
    assert all(b["start_s"] >= a["start_s"] for a, b in zip(steps, steps[1:], strict=False))
    chunks = chunk_rows(trace)
    assert chunks and all(r["text"] for r in chunks)
    assert all("/" not in r["source"] for r in chunks)  # names, never the server's folders
    assert any(r["cited"] for r in chunks) and any(r["kept"] for r in chunks)
    assert all(r["fused"] is not None for r in chunks)  # hybrid search: the fused order
    assert "Oolong" in " ".join(r["text"] for r in chunks if r["cited"])


def test_search_filters_by_text_rating_refusal_collection_and_graph(settings, answered) -> None:
    assert [t["id"] for t in search_traces(settings, text="GREEN tea")] == [answered["green"]]
    assert len(search_traces(settings, text="oolong")) == 2  # both answers name it
    assert [t["id"] for t in search_traces(settings, rating="down")] == [answered["oolong"]]
    assert [t["id"] for t in search_traces(settings, rating="unrated")] == [answered["green"]]
    # The fake model answers about Oolong whatever it is asked: the green-tea answer is refused.
    assert [t["id"] for t in search_traces(settings, refused=True)] == [answered["green"]]
    assert [t["id"] for t in search_traces(settings, refused=False, collection="sample",
                                           graph="corrective")] == [answered["oolong"]]
    assert search_traces(settings, graph="simple") == []
    assert len(search_traces(settings, text="85 deg")) == 2
    assert search_traces(settings, text="85%") == []  # LIKE's wildcards are text here


def test_the_traces_page_lists_filters_and_opens_a_trace(settings, answered) -> None:
    at = app_test(settings, fake_services(), page="traces")
    assert not at.exception, at.exception
    assert set(at.dataframe[0].value["trace"]) == set(answered.values())
    at.selectbox(key="traces-rating").set_value("down").run()
    assert list(at.dataframe[0].value["trace"]) == [answered["oolong"]]
    shown = texts(at)
    assert "cosine similarity" in shown and "Timeline" in shown and "Model calls" in shown
    assert [m.label for m in at.metric][:2] == ["Total", "Model calls"]
    labels = [e.label for e in at.expander]
    assert any(label.startswith("1. ") and "generate_answer" in " ".join(labels)
               for label in labels)
    assert any(QUESTION in t.value for t in at.text)  # the rendered prompt, as sent
    assert not at.json  # no raw JSON trees
    at.text_input(key="traces-search").set_value("no such words").run()
    at.selectbox(key="traces-rating").set_value("any").run()
    assert "No trace matches" in texts(at)


def test_a_trace_link_opens_that_trace(settings, answered) -> None:
    from streamlit.testing.v1 import AppTest

    from ragloom.ui.state import SERVICES_KEY, SETTINGS_KEY

    at = AppTest.from_string("from ragloom.ui import page_traces\npage_traces.render()\n",
                             default_timeout=60)
    at.session_state[SETTINGS_KEY], at.session_state[SERVICES_KEY] = settings, fake_services()
    at.query_params["trace"] = answered["green"]
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="traces-open").value == answered["green"]
    assert f"trace `{answered['green']}`" in texts(at)


def test_the_cli_prints_the_timeline_calls_and_chunks(settings, answered) -> None:
    from ragloom.cli import app

    home = ["--home", str(settings.home)]
    shown = CliRunner().invoke(app, [*home, "trace", answered["oolong"], "--full"])
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "timeline:" in out and "retrieve_documents" in out
    assert "model calls:" in out and "[completion] Brew the Oolong at 85 degrees" in out
    assert "[human]" in out and QUESTION in out
    assert "cosine similarity" in out and "cited" in out
    listed = CliRunner().invoke(app, [*home, "trace", "--rating", "down"])
    assert listed.exit_code == 0 and answered["oolong"] in listed.stdout
    assert answered["green"] not in listed.stdout and "[down]" in listed.stdout
    bad = CliRunner().invoke(app, [*home, "trace", "--rating", "meh"])
    assert bad.exit_code != 0 and "up, down or unrated" in str(bad.exception)


def test_the_api_filters_traces(settings, answered) -> None:
    with client(settings, auth=False) as api:
        down = api.get("/traces", params={"rating": "down"}).json()
        assert [t["trace_id"] for t in down] == [answered["oolong"]]
        assert down[0]["rating"] == "down" and down[0]["refused"] is False
        assert [t["trace_id"] for t in api.get("/traces", params={"q": "green"}).json()] == [
            answered["green"]]
        assert api.get("/traces", params={"rating": "meh"}).status_code == 422


def test_evaluation_rows_link_to_their_trace() -> None:
    from ragloom.ui.eval_views import rows_table

    run = {"rows": [{"id": "r1", "question": "q", "answer": "a", "trace_id": "abc123",
                     "scores": {}},
                    {"id": "r2", "question": "q", "error": "timeout", "scores": {}}]}
    assert [r["trace"] for r in rows_table(run)] == ["abc123", None]
