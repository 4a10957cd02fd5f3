"""Collections, uploads as jobs, ask (JSON and SSE), traces, feedback, prompts — on fakes."""

from __future__ import annotations

import json
import time

import pytest

from tests.unit.api_helpers import client, fill, key, wait_for_job


@pytest.fixture
def api(settings):
    fill(settings)
    with client(settings) as c:
        c.headers.update(key(settings, "admin"))
        yield c


def _sse(text: str) -> list[tuple[str, str]]:
    events, kind = [], "message"
    for line in text.splitlines():
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((kind, line.split(":", 1)[1].strip()))
            kind = "message"
    return events


def test_ask_returns_a_cited_answer_and_a_trace(api) -> None:
    r = api.post("/ask", json={"question": "At what temperature do I brew the Oolong?",
                               "collection": "sample", "graph": "simple"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "85 degrees" in body["answer"] and body["citations"][0]["source"].endswith(".pdf")
    trace = api.get(f"/traces/{body['trace_id']}").json()
    assert trace["question"].startswith("At what temperature") and trace["steps"]
    assert api.get("/traces").json()[0]["trace_id"] == body["trace_id"]
    r = api.post(f"/traces/{body['trace_id']}/feedback", json={"rating": "down", "comment": "x"})
    assert r.status_code == 200
    assert api.post(f"/traces/{body['trace_id']}/feedback", json={"rating": "meh"}
                    ).status_code == 422
    assert api.get("/traces/doesnotexist").status_code == 404


def test_ask_streams_steps_tokens_then_the_answer(api) -> None:
    r = api.post("/ask/stream", json={"question": "At what temperature do I brew the Oolong?",
                                      "collection": "sample",
                                      "graph": "simple"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = _sse(r.text)
    kinds = [k for k, _ in events]
    assert kinds[0] == "step" and "token" in kinds and kinds[-1] == "answer"
    tokens = "".join(json.loads(d)["text"] for k, d in events if k == "token")
    assert "85 degrees" in tokens
    answer = json.loads(events[-1][1])
    assert answer["citations"] and answer["trace_id"]
    assert answer["claims"][0]["supported"] is True and answer["claims"][0]["span"]  # checked


def test_missing_collection_is_404_before_streaming(api) -> None:
    for path in ("/ask", "/ask/stream"):
        r = api.post(path, json={"question": "q", "collection": "nowhere"})
        assert r.status_code == 404 and "does not exist" in r.json()["error"], r.text
        assert "POST /collections" in r.json()["fix"]


def test_collections_create_show_delete(api) -> None:
    assert api.post("/collections", json={"name": "fresh"}).status_code == 201
    assert api.post("/collections", json={"name": "fresh"}).status_code == 409
    assert api.post("/collections", json={"name": "a"}).status_code == 422
    assert {c["name"] for c in api.get("/collections").json()} == {"fresh", "sample"}
    assert api.get("/collections/sample").json()["files"] >= 3
    assert api.delete("/collections/fresh").json() == {"deleted": "fresh"}
    assert api.delete("/collections/fresh").status_code == 404



def test_upload_ingests_in_the_background_with_per_file_errors(api, settings) -> None:
    files = [("files", ("../../notes.md", b"# Notes\n\nThe kettle takes 4 minutes to boil water "
                        b"for green tea, every single time, in our kitchen.\n", "text/markdown")),
             ("files", ("broken.pdf", b"%PDF-1.4 not really a pdf", "application/pdf"))]
    r = api.post("/collections/uploads/documents", files=files)
    assert r.status_code == 202, r.text
    assert r.json()["files"] == ["notes.md", "broken.pdf"]
    state = wait_for_job(api, r.json()["job"])
    assert state["status"] == "done_with_errors" and state["ingested"] == ["notes.md"]
    assert [f["file"] for f in state["failed"]] == ["broken.pdf"] and state["failed"][0]["reason"]
    assert str(settings.home) not in state["failed"][0]["reason"]  # no server paths leak
    assert state["files_done"] == 2 and state["chunks_added"] >= 1
    stored = sorted(p.name for p in (settings.home / "uploads" / "uploads").iterdir())
    assert stored == ["notes.md"]  # nothing outside the storage folder; the refused PDF is deleted
    assert not (settings.home / "notes.md").exists()
    r = api.post("/ask", json={"question": "How long does the kettle take?",
                               "collection": "uploads", "graph": "simple"})
    assert r.status_code == 200
    trace = api.get(f"/traces/{r.json()['trace_id']}").json()
    assert trace["retrieved"][0]["source"].endswith("notes.md")  # the upload is searched
    # the fake model's Oolong reply is not in notes.md: no citation lends it that source
    assert r.json()["citations"] == [] and r.json()["grounded"] is False
    assert r.json()["claims"][0]["supported"] is False and "(not verified)" in r.json()["answer"]


def test_prompts_list_show_new_label_rollback_diff(api) -> None:
    names = {p["name"] for p in api.get("/prompts").json()}
    assert {"answer", "grade", "ground"} <= names
    assert api.get("/prompts/answer@1").json()["ref"] == "answer@1"
    assert api.get("/prompts/answer@999").status_code == 404
    bad = api.post("/prompts/answer/versions", json={
        "messages": [{"role": "user", "content": "{{ question }}"}], "message": "no context"})
    assert bad.status_code == 422 and bad.json()["fix"]
    new = api.post("/prompts/answer/versions", json={
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "{{ context }}\n{{ question }}"}],
        "message": "brief"}).json()
    v = new["version"]
    before = api.get("/prompts/answer:production").json()["version"]
    moved = api.put("/prompts/answer/labels/production", json={"version": v}).json()
    assert moved["previous"] == before
    assert api.get("/prompts/answer:production").json()["version"] == v
    assert "Be brief." in api.get(f"/prompts/answer/diff?a={before}&b={v}").json()["diff"]
    back = api.post("/prompts/answer/labels/production/rollback").json()
    assert (back["version"], back["previous"]) == (before, v)


def test_openai_models_and_chat(api) -> None:
    models = api.get("/v1/models").json()
    assert [m["id"] for m in models["data"]] == ["ragloom:sample"]
    r = api.post("/v1/chat/completions", json={
        "model": "ragloom:sample:simple", "temperature": 0.2,
        "messages": [{"role": "system", "content": "hi"},
                     {"role": "user", "content": "At what temperature do I brew the Oolong?"}]})
    assert r.status_code == 200, r.text
    body = r.json()
    text = body["choices"][0]["message"]["content"]
    assert "85 degrees" in text and "Sources:\n[1] tea-guide.pdf" in text
    assert body["citations"][0]["n"] == 1
    r = api.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [
        {"role": "user", "content": "x"}]})
    assert r.status_code == 404 and "ragloom:COLLECTION" in r.json()["error"]["message"]
    question = {"role": "user", "content": "At what temperature do I brew the Oolong?"}
    r = api.post("/v1/chat/completions", json={"model": "ragloom:sample:simple", "stream": True,
                                               "messages": [question]})
    chunks = [d for _, d in _sse(r.text)]
    assert chunks[-1] == "[DONE]"
    parsed = [json.loads(c) for c in chunks[:-1]]
    text = "".join(p["choices"][0]["delta"].get("content", "") for p in parsed)
    assert "85 degrees" in text and parsed[-1]["citations"]


def test_openai_history_pairs_each_question_with_our_final_reply() -> None:
    from ragloom.api.routes.openai import REVISED, ChatRequest, history_of, question_of

    reply = "Draft." + REVISED + "At 85 degrees [1].\n\nSources:\n[1] tea-guide.pdf"
    body = ChatRequest(model="ragloom:sample", messages=[
        {"role": "system", "content": "Be nice."},
        {"role": "user", "content": "Hello?"},  # never answered: not a turn
        {"role": "user", "content": [{"type": "text", "text": "Oolong temperature?"}]},
        {"role": "assistant", "content": reply},
        {"role": "user", "content": "And how often can it be steeped?"},
        {"role": "assistant", "content": None}])
    assert history_of(body) == [{"question": "Oolong temperature?",
                                 "answer": "At 85 degrees [1]."}]
    assert question_of(body) == "And how often can it be steeped?"
    long = [m for i in range(6) for m in ({"role": "user", "content": f"q{i}"},
                                          {"role": "assistant", "content": f"a{i}"})]
    turns = history_of(ChatRequest(model="m", messages=[*long, {"role": "user", "content": "q"}]))
    assert [t["question"] for t in turns] == ["q3", "q4", "q5"]


def test_openai_chat_condenses_a_follow_up_from_earlier_messages(api) -> None:
    r = api.post("/v1/chat/completions", json={"model": "ragloom:sample:simple", "messages": [
        {"role": "user", "content": "At what temperature do I brew the Oolong?"},
        {"role": "assistant", "content": "At 85 degrees [1]."},
        {"role": "user", "content": "And for how long?"}]})
    assert r.status_code == 200, r.text
    trace = api.get(f"/traces/{r.json()['trace_id']}").json()
    assert "condense" in trace["prompts"]  # the follow-up went through the condense step
    first = api.post("/v1/chat/completions", json={"model": "ragloom:sample:simple", "messages": [
        {"role": "user", "content": "At what temperature do I brew the Oolong?"}]}).json()
    assert "condense" not in api.get(f"/traces/{first['trace_id']}").json()["prompts"]


def test_model_outage_is_a_503_in_json_and_an_error_event_in_a_stream(settings) -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    from ragloom.agents.state import RagContext
    from ragloom.core.errors import ModelUnavailableError
    from ragloom.retrieval.collections import Collection
    from ragloom.retrieval.lexical import LexicalIndex
    from ragloom.retrieval.retriever import HybridRetriever
    from tests.unit.api_helpers import EMBEDDINGS

    class Down(GenericFakeChatModel):
        def _generate(self, *a, **k):  # type: ignore[no-untyped-def]
            raise ModelUnavailableError("cannot reach ollama at http://gpu:11434",
                                        fix="start Ollama")

        def _stream(self, *a, **k):  # type: ignore[no-untyped-def]
            raise ModelUnavailableError("cannot reach ollama at http://gpu:11434",
                                        fix="start Ollama")

    def down(s, collection, prompts, where):  # type: ignore[no-untyped-def]
        col = Collection(s, collection, EMBEDDINGS, create=False)
        return RagContext(chat_model=Down(messages=iter([])), collection=collection,
                          retriever=HybridRetriever(col.store, EMBEDDINGS,
                                                    LexicalIndex.load(col.lexical_dir)))

    fill(settings)
    from fastapi.testclient import TestClient

    from ragloom.api import create_app

    app = create_app(settings, auth=False, context_factory=down, embeddings_of=lambda s: EMBEDDINGS)
    with TestClient(app, raise_server_exceptions=False) as api:
        body = {"question": "At what temperature do I brew the Oolong?", "collection": "sample",
                "graph": "simple"}
        r = api.post("/ask", json=body)
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert r.json() == {"error": "cannot reach ollama at http://gpu:11434",
                            "fix": "start Ollama"}
        events = _sse(api.post("/ask/stream", json=body).text)
        assert events[-1][0] == "error"
        assert json.loads(events[-1][1]) == {"status": 503, "fix": "start Ollama",
                                             "error": "cannot reach ollama at http://gpu:11434"}
        assert api.post("/ask", json=body).status_code == 503  # the slot was given back


def test_ingest_of_a_collection_waits_for_another_process_ingesting_it(api, settings) -> None:
    from ragloom.retrieval.locks import collection_write_lock

    files = [("files", ("kettle.md", b"The kettle takes four minutes to boil water for tea, "
                        b"every single time, in the office kitchen on floor two.\n"))]
    with collection_write_lock(settings, "locked"):  # as another worker would hold it
        job = api.post("/collections/locked/documents", files=files).json()["job"]
        time.sleep(0.5)
        assert api.get(f"/jobs/{job}").json()["status"] == "queued"
    assert wait_for_job(api, job)["status"] == "done"


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_ingest_job_of_a_stopped_process_reads_as_interrupted(settings, dead_pid) -> None:
    import json
    import os
    import socket
    import sqlite3

    from ragloom.api.jobs import IngestJobs

    here = socket.gethostname()
    jobs = IngestJobs(settings, lambda s: None)
    state = {"status": "running", "files_done": 1, "files_total": 3, "error": None, "fix": None}
    rows = {"live": {**state, "process": f"{here}:{os.getpid()}"},
            "dead": {**state, "process": f"{here}:{dead_pid}"},
            "old": state,  # saved by a version without process tags
            "finished": {**state, "status": "done", "process": f"{here}:{dead_pid}"}}
    with sqlite3.connect(settings.home / "api" / "jobs.sqlite") as db:
        db.executemany("INSERT INTO jobs VALUES (?, 'sample', 'key1', 0, ?)",
                       [(k, json.dumps(v)) for k, v in rows.items()])
    try:
        got = {k: jobs.get(k) for k in rows}
    finally:
        jobs.close()
    assert {k: v["status"] for k, v in got.items()} == {
        "live": "running", "dead": "interrupted", "old": "interrupted", "finished": "done"}
    assert "upload the files again" in got["dead"]["fix"]
    assert not any("process" in v for v in got.values())  # host names stay on the server


def test_eval_launch_is_read_from_the_run_store_by_any_process(api, settings, dead_pid) -> None:
    import os
    import socket

    from ragloom.evals.store import RunStore

    here = socket.gethostname()
    store = RunStore.for_settings(settings)
    running = {"id": "l1", "status": "running", "suite": "sample-ci", "run_ids": ["r1"],
               "progress": {"done": 1, "total": 2}, "error": None, "fix": None}
    store.save_launch("l1", f"{here}:{os.getpid()}", running)  # a live worker's launch
    store.save_launch("l2", f"{here}:{dead_pid}", {**running, "id": "l2"})  # its process died
    store.save_launch("l3", f"elsewhere:{dead_pid}", {**running, "id": "l3"})  # another replica
    store.close()
    assert api.get("/evals/launches/l1").json() == running
    gone = api.get("/evals/launches/l2").json()
    assert gone["status"] == "interrupted" and "judge cache" in gone["fix"]
    assert api.get("/evals/launches/l3").json()["status"] == "running"  # cannot tell: as saved
    missing = api.get("/evals/launches/nope")
    assert missing.status_code == 404 and "POST /evals/runs" in missing.json()["fix"]


def test_a_queued_eval_launch_needs_the_shared_database(api) -> None:
    r = api.post("/evals/runs", json={"suite": "sample", "queue": True, "limit": 1})
    assert r.status_code == 422 and "database_url" in r.json()["error"]


def test_a_queued_upload_needs_the_shared_database_and_saves_nothing(api, settings) -> None:
    r = api.post("/collections/q-docs/documents", params={"queue": "true"},
                 files=[("files", ("a.txt", b"alpha", "text/plain"))])
    assert r.status_code == 422 and "database_url" in r.json()["error"]
    assert "queue=true" in r.json()["fix"] and not (settings.home / "uploads").exists()


def test_an_openai_stream_ends_with_the_checked_answer_not_the_draft(api) -> None:
    """The draft streams as it is written; when the claim check changes it (here the fake's
    Oolong answer to a kite question: its citation dropped, the claim marked), the stream says so
    and gives the final text, so a client never keeps the draft's unchecked [1]."""
    r = api.post("/v1/chat/completions", json={"model": "ragloom:sample:simple", "stream": True,
                                               "messages": [{"role": "user", "content":
                                                             "What colour is the Zephyr kite?"}]})
    parsed = [json.loads(d) for _, d in _sse(r.text)[:-1]]
    text = "".join(p["choices"][0]["delta"].get("content", "") for p in parsed)
    final = text.split("\n\nSources:")[0].rsplit("(revised answer)\n", 1)[-1]
    assert "(revised answer)" in text and "(not verified)" in final and "[1]" not in final, text
    assert parsed[-1]["usage"]["model_calls"] >= 1


def test_cancel_an_evaluation_run_and_a_clear_409_once_it_ended(api, settings) -> None:
    from ragloom.evals.store import RunStore

    store = RunStore.for_settings(settings)
    run_id = store.create_run("sample", "default", {"rows": 3})
    store.set_status(run_id, "queued")
    store.close()
    r = api.post(f"/evals/runs/{run_id}/cancel")
    assert r.status_code == 200 and r.json() == {"id": run_id, "status": "cancelled", "rows": 0}
    again = api.post(f"/evals/runs/{run_id}/cancel")
    assert again.status_code == 409 and "is cancelled: nothing to cancel" in again.json()["error"]
    assert api.post("/evals/runs/nope/cancel").status_code == 404
