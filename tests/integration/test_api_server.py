"""`ragloom serve` as a real process, on a real `chroma run`, with a fake OpenAI-compatible model
host (fast, scriptable faults): the official openai client, load, outages, model faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from benchmarks.load import ROOT, Stack, chroma_outage, load, running_stack, summary

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack(model_timeout_s=1.5) as s:
        job = s.upload("sample", ROOT / "ragloom" / "sample_corpus")
        assert job["status"] == "done" and job["chunks_added"] > 0, job
        yield s


def _ask(stack: Stack, question: str = "When are members paid?", **body) -> httpx.Response:
    return httpx.post(f"{stack.api}/ask", json={"question": question, "collection": "sample",
                                                "graph": "simple", **body},
                      headers=stack.headers(), timeout=60)


def test_official_openai_client_chat_and_stream(stack: Stack) -> None:
    client = openai.OpenAI(base_url=f"{stack.api}/v1", api_key=stack.admin_key, max_retries=0)
    assert "ragloom:sample" in [m.id for m in client.models.list()]
    reply = client.chat.completions.create(
        model="ragloom:sample:corrective",
        messages=[{"role": "user", "content": "At what temperature should I brew the Oolong?"}])
    text = reply.choices[0].message.content or ""
    assert "[1]" in text and "Sources:" in text
    citations = reply.model_extra["citations"]
    assert citations and citations[0]["source"].endswith((".pdf", ".md", ".txt"))
    # The host's counts, summed over the answer's calls (the fake counts words as tokens).
    assert reply.usage and reply.usage.prompt_tokens > 50 and reply.usage.completion_tokens > 3
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    stream = client.chat.completions.create(
        model="ragloom:sample", stream=True,
        messages=[{"role": "user", "content": "When are members paid?"}])
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "[1]" in streamed and chunks[-1].model_extra["citations"]
    assert chunks[-1].usage and chunks[-1].usage.completion_tokens > 3  # streamed calls counted
    follow_up = client.chat.completions.create(model="ragloom:sample:simple", messages=[
        {"role": "user", "content": "When are members paid?"},
        {"role": "assistant", "content": streamed},
        {"role": "user", "content": "And how?"}])
    trace = httpx.get(f"{stack.api}/traces/{follow_up.model_extra['trace_id']}",
                      headers=stack.headers(), timeout=10).json()
    searched = trace["steps"][0]["query"]  # the conversation made the follow-up stand-alone
    assert "And how?" in searched and "When are members paid?" in searched, trace["steps"][0]
    with pytest.raises(openai.NotFoundError, match="ragloom:COLLECTION"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    bad = openai.OpenAI(base_url=f"{stack.api}/v1", api_key="rl_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_concurrent_clients_without_errors(stack: Stack) -> None:
    """CI's short version of benchmarks/load.py (50 clients, 10 s)."""
    results = asyncio.run(load(stack.api, stack.headers(), clients=50, seconds=10,
                               collection="sample", graph="simple"))
    report = summary(results, 10)
    assert report["errors"] == {} and report["ok"] >= 50, report


def test_model_host_errors_and_timeouts_end_in_a_clear_bounded_error(stack: Stack) -> None:
    try:
        for mode in ("error", "hang"):
            stack.set_model(mode)
            start = time.monotonic()
            r = _ask(stack)
            took = time.monotonic() - start
            assert r.status_code == 503, r.text
            assert "timed out or failed" in r.json()["error"] and r.json()["fix"]
            assert took < 20, f"{mode}: {took:.1f}s"
            assert stack.model_counts()["chat"] == 3  # retried with backoff, then gave up
    finally:
        stack.set_model("ok")
    # No worker is left hung: the next questions are answered at once.
    start = time.monotonic()
    assert all(_ask(stack).status_code == 200 for _ in range(3))
    assert time.monotonic() - start < 10


def test_chroma_outage_gives_503_then_recovers_with_the_collection_intact(stack: Stack) -> None:
    before = httpx.get(f"{stack.api}/collections/sample", headers=stack.headers()).json()["chunks"]
    marks: dict[str, float] = {}
    results = asyncio.run(chroma_outage(stack, clients=10, seconds=15, collection="sample",
                                        graph="simple", marks=marks, down_s=3))
    assert {r.status for r in results} <= {200, 503}
    outage = [r for r in results if r.status == 503]
    assert outage and all("Chroma server" in r.error for r in outage), {r.error for r in outage}
    # Requests that ended before the kill or began after the restart all succeeded; those
    # that began after the kill and ended before the restart all failed. Only those in flight at
    # either moment may go either way (one that retrieved just before the kill can still answer).
    assert all(r.status == 200 for r in results if r.t < marks["killed"] - 0.5)
    down = [r for r in results
            if r.t - r.seconds > marks["killed"] + 0.5 and r.t < marks["back"] - 0.5]
    assert all(r.status == 503 for r in down), [(r.t - r.seconds, r.t, r.status) for r in down]
    after = [r for r in results if r.t - r.seconds > marks["back"] + 0.5]
    assert after and all(r.status == 200 for r in after)
    chunks = httpx.get(f"{stack.api}/collections/sample", headers=stack.headers()).json()["chunks"]
    assert chunks == before


def _malformed(stack: Stack) -> list[tuple[str, str, dict]]:
    """(method, path, httpx kwargs) of requests that are wrong in every way we could think of."""
    good = {"Authorization": f"Bearer {stack.admin_key}"}
    as_json = {**good, "Content-Type": "application/json"}
    cases: list[tuple[str, str, dict]] = []
    for path in ("/ask", "/ask/stream", "/collections", "/v1/chat/completions",
                 "/prompts/answer/versions", "/traces/x/feedback"):
        for raw in (b"{", b"not json", b"[1, 2", b'{"question": }', b"\xff\xfe", b"",
                    b"null", b"[]", b'"text"', b"{}" * 3):
            cases.append(("post", path, {"content": raw, "headers": as_json}))
    for body in ({"question": 123}, {"question": None}, {"question": ""}, {"question": ["a"]},
                 {"question": "q", "graph": "nope"}, {"question": "q", "where": "page=3"},
                 {"question": "q", "where": {"page": {"$regex": "x"}}},
                 {"question": "q", "prompts": ["answer@@2"]}, {"question": "q", "thread": "../x"},
                 {"question": "q", "surprise": 1}, {"question": "q", "collection": "nowhere"},
                 {"question": "q", "collection": "a"}, {"question": "q", "collection": "../etc"},
                 {"question": "x" * 5000}, {"question": "q", "prompts": "answer@1"}):
        cases += [("post", "/ask", {"json": body, "headers": good}),
                  ("post", "/ask/stream", {"json": body, "headers": good})]
    huge = {"question": "x" * (2 << 20)}
    cases += [("post", p, {"json": huge, "headers": good}) for p in ("/ask", "/v1/chat/completions")]
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer rl_x"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}, {"X-API-Key": stack.admin_key[:-2]},
                    {"Authorization": f"Bearer {stack.admin_key}x"}):
        for method, path in (("get", "/collections"), ("post", "/ask"), ("get", "/v1/models"),
                             ("get", "/audit")):
            cases.append((method, path, {"headers": headers, "json": {"question": "q"}}))
    cases.append(("get", f"/collections?api_key={stack.admin_key}", {}))  # keys never in URLs
    for body in ({"model": "gpt-4o", "messages": [{"role": "user", "content": "q"}]},
                 {"model": "ragloom:nowhere", "messages": [{"role": "user", "content": "q"}]},
                 {"model": "ragloom:sample:nograph", "messages": [{"role": "user", "content": "q"}]},
                 {"model": "ragloom:sample", "messages": []},
                 {"model": "ragloom:sample", "messages": [{"role": "wizard", "content": "q"}]},
                 {"model": "ragloom:sample", "messages": [{"role": "system", "content": "q"}]},
                 {"messages": [{"role": "user", "content": "q"}]}, {"model": "ragloom:sample"}):
        cases.append(("post", "/v1/chat/completions", {"json": body, "headers": good}))
    cases += [("get", "/collections/nowhere", {"headers": good}),
              ("delete", "/collections/nowhere", {"headers": good}),
              ("post", "/collections", {"json": {"name": "x"}, "headers": good}),
              ("post", "/collections", {"json": {"name": "-bad-"}, "headers": good}),
              ("get", "/jobs/nope", {"headers": good}), ("get", "/traces/nope", {"headers": good}),
              ("get", "/prompts/nope", {"headers": good}),
              ("get", "/prompts/answer@99", {"headers": good}),
              ("put", "/prompts/answer/labels/production", {"json": {"version": 99},
                                                            "headers": good}),
              ("post", "/prompts/answer/labels/nolabel/rollback", {"headers": good}),
              ("get", "/nowhere", {"headers": good}), ("delete", "/ask", {"headers": good}),
              ("post", "/collections/sample/documents", {"headers": good}),
              ("post", "/collections/sample/documents", {"headers": good, "files": [
                  ("files", ("..", b"x"))]}),
              ("post", "/traces/nope/feedback", {"json": {"rating": "up"}, "headers": good}),
              ("get", "/traces?limit=-1", {"headers": good})]
    return cases


def test_malformed_requests_get_a_clear_4xx_never_a_500(stack: Stack) -> None:
    cases = _malformed(stack)
    assert len(cases) >= 100
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        for method, path, kwargs in cases:
            r = http.request(method.upper(), path, **kwargs)
            assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:300])
            body = r.json()
            message = body["error"]["message"] if isinstance(body["error"], dict) else body["error"]
            assert message and "fix" in body, (path, body)
    assert _ask(stack).status_code == 200  # and the server is still fine


def test_evaluation_run_started_polled_and_read_through_the_api(stack: Stack) -> None:
    api = httpx.Client(base_url=stack.api, headers=stack.headers(), timeout=30)
    assert "sample-ci" in api.get("/evals/suites").json()
    assert api.post("/evals/runs", json={"suite": "nope"}).status_code == 404
    r = api.post("/evals/runs", json={"suite": "sample-ci", "limit": 1, "graphs": ["simple"]})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 240
    while (state := api.get(r.json()["status_url"]).json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, state
        time.sleep(1)
    assert state["status"] == "done" and len(state["run_ids"]) == 1, state
    run = api.get(f"/evals/runs/{state['run_ids'][0]}").json()
    assert run["status"] == "done" and len(run["rows"]) == 1
    assert run["summary"]["retrieval_recall"]["n"] == 1  # scored without a judge
    assert [x["id"] for x in api.get("/evals/runs").json()] == state["run_ids"]
    audit = api.get("/audit", params={"action": "eval.start"}).json()
    assert audit[0]["detail"]["suite"] == "sample-ci"


def test_metrics_of_the_real_server_parse_and_count_what_it_did(stack: Stack) -> None:
    """`/metrics` of the `ragloom serve` process, after the answers and the upload above,
    parsed with prometheus-client's own parser; without an admin key it is refused."""
    from prometheus_client.parser import text_string_to_metric_families

    assert _ask(stack).status_code == 200  # at least one answer, whatever ran before
    assert httpx.get(f"{stack.api}/metrics", timeout=10).status_code == 401
    r = httpx.get(f"{stack.api}/metrics", headers=stack.headers(), timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(r.text) for s in family.samples}

    def total(name: str, **labels: str) -> float:
        return sum(v for (n, ls), v in samples.items()
                   if n == name and set(labels.items()) <= set(ls))

    assert total("ragloom_answers_total", graph="simple", outcome="answered") >= 1
    assert total("ragloom_http_requests_total", route="/ask", status="200") >= 1
    assert total("ragloom_model_tokens_total", kind="prompt") > 0
    assert total("ragloom_ingest_chunks_total") > 0  # the module's upload, on this process
    assert total("ragloom_step_seconds_count", step="retrieve_documents") >= 1
