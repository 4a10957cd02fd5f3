"""OpenTelemetry spans in a real backend: Arize Phoenix (``phoenix serve`` on loopback, from its own
pinned venv), read back through Phoenix's REST API. One answer is one tree: the ``ragloom.ask``
span, a span per graph step under it, a ``chat MODEL`` span per model call under its step, with
GenAI token counts equal to what the answer reports; an API request's ``traceparent`` becomes the
answer's parent in Phoenix too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.servers import HOST, fake_model_host, free_port, stop

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-phoenix"
REQUIREMENTS = Path(__file__).with_name("phoenix-requirements.txt")
CALLER_TRACE, CALLER_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def _phoenix_command() -> Path:
    """``phoenix``, installed once into its own venv from the pinned requirements."""
    phoenix = VENV / "bin" / "phoenix"
    if not phoenix.exists():
        uv = shutil.which("uv") or str(ROOT / ".venv" / "bin" / "uv")
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(VENV)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(VENV / "bin" / "python"),
                        "-r", str(REQUIREMENTS)], check=True, timeout=900)
    return phoenix


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = {**os.environ, "PHOENIX_WORKING_DIR": str(work), "PHOENIX_HOST": HOST,
           "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(free_port()),
           "PHOENIX_TELEMETRY_ENABLED": "false"}
    log = work / "phoenix.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([str(_phoenix_command()), "serve"], env=env, stdout=sink,
                                stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 240  # a cold start on a loaded machine takes ~40 s
        while not _healthy(url):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        stop(proc)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).is_success
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def settings(phoenix, tmp_path_factory) -> Iterator[Any]:
    import ragloom
    from ragloom.core.settings import load_settings

    home = tmp_path_factory.mktemp("home")
    with fake_model_host(home / "model.log") as host:  # counts tokens as OpenAI does
        s = load_settings(home=home, chat="openai/fake", embedding="openai/fake-embed",
                          openai={"base_url": f"{host}/v1"},
                          otel={"endpoint": phoenix, "service_name": "ragloom-test",
                                "capture_content": True})
        ragloom.ingest([ragloom.sample_corpus()], collection="sample", settings=s)
        yield s


def _trace_spans(phoenix: str, ragloom_trace: str) -> list[dict[str, Any]]:
    """Every span of the OpenTelemetry trace whose answer span has this ragloom trace id."""
    deadline = time.monotonic() + 60  # Phoenix writes what it received in batches
    while True:
        spans = httpx.get(f"{phoenix}/v1/projects/default/spans", params={"limit": 1000},
                          timeout=10).raise_for_status().json()["data"]
        roots = [s for s in spans if s["attributes"].get("ragloom.trace_id") == ragloom_trace]
        if roots:
            trace = roots[0]["context"]["trace_id"]
            mine = [s for s in spans if s["context"]["trace_id"] == trace]
            # The answer span ends last: once its children are all in, the tree is complete.
            if len(mine) > 1 and all(s["parent_id"] for s in mine if s is not roots[0]):
                return mine
        assert time.monotonic() < deadline, f"no complete trace {ragloom_trace} in {spans}"
        time.sleep(0.5)


def test_an_answer_arrives_in_phoenix_as_one_tree_with_its_tokens(phoenix, settings) -> None:
    import ragloom
    from ragloom.core import telemetry

    answer = ragloom.ask("At what temperature should I brew the Oolong?", collection="sample",
                         graph="adaptive", settings=settings)
    telemetry.flush(settings)
    spans = _trace_spans(phoenix, answer.trace_id)
    (root,) = [s for s in spans if s["name"] == "ragloom.ask"]
    by_id = {s["context"]["span_id"]: s for s in spans}
    assert root["parent_id"] is None and root["span_kind"] == "AGENT"
    a = root["attributes"]
    assert a["ragloom.collection"] == "sample" and a["ragloom.graph"] == "adaptive"
    assert a["gen_ai.operation.name"] == "invoke_agent" and a["ragloom.refused"] is False
    assert sorted(a["ragloom.prompts"]) == sorted(str(p) for p in answer.prompts.values())
    assert len(a["ragloom.retrieval.chunk_ids"]) == len(a["ragloom.retrieval.scores"]) >= 1

    steps = [s for s in spans if s["attributes"].get("ragloom.step")]
    assert {"route_question", "retrieve_documents", "generate_answer", "check_claims"} <= {
        s["name"] for s in steps}
    assert all(s["parent_id"] == root["context"]["span_id"] for s in steps)
    chats = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "chat"]
    assert chats and all(by_id[c["parent_id"]] in steps for c in chats)  # each under its step
    assert all(c["span_kind"] == "LLM" and c["name"] == "chat fake" for c in chats)
    assert all(c["attributes"]["gen_ai.request.model"] == "fake" for c in chats)
    assert all("Oolong" in c["attributes"]["gen_ai.input.messages"] for c in chats)  # capture on
    # Tokens: per call and in total, exactly what the answer itself reports.
    calls = answer.usage.calls
    assert sorted((c["attributes"]["gen_ai.usage.input_tokens"],
                   c["attributes"]["gen_ai.usage.output_tokens"]) for c in chats) == sorted(
        (c.prompt_tokens, c.completion_tokens) for c in calls)
    assert a["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens > 0
    assert a["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens > 0


def test_an_api_requests_traceparent_is_the_answers_parent_in_phoenix(phoenix, settings) -> None:
    from fastapi.testclient import TestClient

    from ragloom.api.app import create_app
    from ragloom.core import telemetry

    with TestClient(create_app(settings, auth=False)) as api:
        r = api.post("/ask", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
                     json={"question": "How long does Oolong keep its flavour?",
                           "collection": "sample", "graph": "simple"})
    assert r.status_code == 200, r.text
    telemetry.flush(settings)
    spans = _trace_spans(phoenix, r.json()["trace_id"])
    (root,) = [s for s in spans if s["name"] == "ragloom.ask"]
    assert root["context"]["trace_id"] == CALLER_TRACE and root["parent_id"] == CALLER_SPAN
    assert "gen_ai.input.messages" in next(
        s for s in spans if s["span_kind"] == "LLM")["attributes"]
